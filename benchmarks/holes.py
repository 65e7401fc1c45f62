"""Holes cut in real source files for the quality benchmark (pure, no model).

Four kinds, at the places users ask for a completion:
- `after_keyword`: right after a keyword and its space (`return `, `const `, `if `); the rest of the line.
- `in_identifier`: inside an identifier; the rest of the line.
- `line_start`: after the indentation of a non-empty line; the rest of the line.
- `empty_line_block`: at column 0 of an empty line put where 2-4 lines of a block were; those lines.
Line holes remove the rest of the cursor line only; everything below stays, as in an editor.
"""

from __future__ import annotations

import random
import re
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KINDS = ("after_keyword", "in_identifier", "line_start", "empty_line_block")

KEYWORDS = {
    "python": {"return", "if", "elif", "while", "for", "import", "from", "raise", "with", "assert", "yield", "del"},
    "javascript": {"return", "const", "let", "var", "throw", "new", "await", "if", "for", "while", "case", "typeof"},
    "typescript": {"return", "const", "let", "var", "throw", "new", "await", "if", "for", "while", "case", "type"},
    "c": {"return", "if", "while", "for", "case", "sizeof", "static", "unsigned", "const", "int", "char", "else"},
}
EXTENSIONS = {"python": ".py", "javascript": ".js", "typescript": ".ts", "c": ".c"}
_COMMENT_STARTS = ("#", "//", "/*", "*", '"""', "'''")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")


@dataclass(frozen=True)
class Hole:
    kind: str
    language: str
    path: str
    text: str
    """The document with the hole cut."""
    offset: int
    expected: str
    """The rest of the line, or the removed lines of a block hole."""

    @property
    def multiline(self) -> bool:
        return self.kind == "empty_line_block"


def source_files(node_modules: Path | None) -> dict[str, list[Path]]:
    """Real code nobody here wrote: the installed Python's standard library, installed npm
    packages, and the C examples that Debian's -dev packages ship."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found: dict[str, list[Path]] = {"python": sorted(stdlib.glob("*.py"))}
    if node_modules is not None and node_modules.is_dir():
        found["javascript"] = sorted(p for p in node_modules.rglob("*.js") if not p.name.endswith(".min.js"))
        found["typescript"] = sorted(p for p in node_modules.rglob("*.ts") if not p.name.endswith(".d.ts"))
    found["c"] = sorted([*Path("/usr/share/doc").glob("*/examples/**/*.c"), *Path("/usr/include").rglob("*.c")])
    return {language: paths for language, paths in found.items() if paths}


def _readable(path: Path) -> str | None:
    try:
        if not 1_500 <= path.stat().st_size <= 60_000:
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.split("\n")
    if len(lines) < 40 or max(len(line) for line in lines) > 200 or "\r" in text or ("\t" in text and "    " in text):
        return None  # minified, generated, or mixed indentation
    return text


def _code_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith(_COMMENT_STARTS) and len(stripped) >= 4


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _line_hole(kind: str, language: str, path: Path, text: str, offset: int) -> Hole:
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    return Hole(kind, language, str(path), text[:offset] + text[end:], offset, text[offset:end].rstrip())


def candidates(kind: str, language: str, path: Path, text: str, rng: random.Random) -> Iterator[Hole]:
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    order = list(range(15, len(lines) - 2))
    rng.shuffle(order)
    for i in order:
        line = lines[i]
        if not _code_line(line):
            continue
        indent = _indent(line)
        body = line[len(indent) :]
        if kind == "after_keyword":
            word = body.split(" ", 1)[0]
            rest = body[len(word) + 1 :]
            if word in KEYWORDS[language] and len(rest.strip()) >= 2 and not rest.startswith(" "):
                yield _line_hole(kind, language, path, text, starts[i] + len(indent) + len(word) + 1)
        elif kind == "in_identifier":
            matches = [m for m in _IDENTIFIER.finditer(line) if line[: m.start()].count('"') % 2 == 0]
            matches = [m for m in matches if line[: m.start()].count("'") % 2 == 0]
            if matches:
                match = rng.choice(matches)
                cut = rng.randrange(1, len(match.group()) - 1)
                yield _line_hole(kind, language, path, text, starts[i] + match.start() + cut)
        elif kind == "line_start":
            if indent:
                yield _line_hole(kind, language, path, text, starts[i] + len(indent))
        elif kind == "empty_line_block":
            size = rng.randrange(2, 5)
            block = lines[i : i + size]
            if (
                indent
                and len(block) == size
                and all(_code_line(b) and len(_indent(b)) >= len(indent) for b in block)
                and lines[i - 1].strip()
            ):
                document = "\n".join([*lines[:i], "", *lines[i + size :]])
                yield Hole(kind, language, str(path), document, starts[i], "\n".join(b.rstrip() for b in block))


def cut_holes(files: dict[str, list[Path]], per_kind: int, seed: int = 0) -> list[Hole]:
    """`per_kind` holes of each kind, spread over the languages and over files (one per file and kind)."""
    rng = random.Random(seed)
    holes: list[Hole] = []
    languages = sorted(files)
    for kind in KINDS:
        wanted = {language: per_kind // len(languages) for language in languages}
        for language in languages[: per_kind % len(languages)]:
            wanted[language] += 1
        for language in languages:
            paths = list(files[language])
            rng.shuffle(paths)
            taken = 0
            for path in paths:
                if taken >= wanted[language]:
                    break
                text = _readable(path)
                if text is None:
                    continue
                hole = next(candidates(kind, language, path, text, rng), None)
                if hole is not None:
                    holes.append(hole)
                    taken += 1
    return holes


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer string (1.0 for two empty strings)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))
