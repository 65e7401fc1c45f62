"""Which files of a workspace folder the index reads, and reading one safely.

The files git tracks (and untracked ones it does not ignore), else a walk that honours `.gitignore`
files; only languages with a definitions query, never generated, minified, vendored, huge or binary
files, never a path that leaves the folder (a symlink out of it, a `..`).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codellama_ls.documents.languages import LanguageSpec, language_for

log = logging.getLogger(__name__)

MAX_BYTES = 512 * 1024
"""Larger files are no context worth parsing (generated tables, bundles)."""
_VENDORED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "vendor",
        "third_party",
        "third-party",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".mypy_cache",
        ".ruff_cache",
        "site-packages",
        "dist",
        "build",
        "target",
        "out",
        ".next",
        "bower_components",
    }
)
_GENERATED = (
    "*.min.js",
    "*.min.mjs",
    "*.bundle.js",
    "*_pb2.py",
    "*_pb2_grpc.py",
    "*.pb.go",
    "*.pb.h",
    "*.pb.cc",
    "*.generated.*",
    "*_generated.*",
    "*.d.ts.map",
)
_GIT_TIMEOUT_S = 20


@dataclass(frozen=True)
class Filters:
    include: tuple[str, ...] = ()
    """Globs on the path relative to the folder; when given, only matching files."""
    exclude: tuple[str, ...] = ()
    max_files: int = 20_000
    known: frozenset[str] = field(default_factory=frozenset)
    """Language names that have a definitions query; empty means every language."""


def inside(folder: Path, path: Path) -> bool:
    """`path`, symlinks resolved, lies in `folder` (itself resolved)."""
    try:
        resolved = path.resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return resolved == folder or folder in resolved.parents


def _glob(relative: str, patterns: Sequence[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(name, p) for p in patterns)


def language_of(relative: str, filters: Filters) -> LanguageSpec | None:
    """The language the index reads `relative` as; None for a file it leaves out."""
    parts = relative.split("/")
    if any(part in _VENDORED for part in parts[:-1]):
        return None
    if _glob(relative, _GENERATED):
        return None
    if filters.include and not _glob(relative, filters.include):
        return None
    if filters.exclude and _glob(relative, filters.exclude):
        return None
    spec = language_for("", relative)
    if spec is None or (filters.known and spec.name not in filters.known):
        return None
    return spec


def _git_files(folder: Path) -> list[str] | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return [p for p in done.stdout.decode("utf-8", errors="surrogateescape").split("\0") if p]


def _ignore_rules(directory: Path) -> list[tuple[str, bool]]:
    """A `.gitignore`'s patterns as (pattern, negated); comments and blanks skipped."""
    try:
        text = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        rules.append((line[1:] if negated else line, negated))
    return rules


def _ignored(relative: str, is_dir: bool, rules: Sequence[tuple[str, str, bool]]) -> bool:
    ignored = False
    for base, pattern, negated in rules:
        if base and not relative.startswith(base + "/"):
            continue
        rest = relative[len(base) + 1 :] if base else relative
        body = pattern.rstrip("/")
        if pattern.endswith("/") and not is_dir:
            continue
        anchored = "/" in body
        target = rest if anchored else rest.rsplit("/", 1)[-1]
        if fnmatch.fnmatch(target, body.lstrip("/")):
            ignored = not negated
    return ignored


def _walk(folder: Path, limit: int) -> Iterator[str]:
    """Files under `folder` (relative, `/`-separated), honouring `.gitignore` files, following no
    symlinked folder (a loop or a way out)."""
    rules: list[tuple[str, str, bool]] = []
    seen = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root).relative_to(folder).as_posix()
        base = "" if base == "." else base
        rules += [(base, pattern, negated) for pattern, negated in _ignore_rules(Path(root))]
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _VENDORED and not d.startswith(".") and not _ignored(f"{base}/{d}".lstrip("/"), True, rules)
        )
        for name in sorted(files):
            relative = f"{base}/{name}".lstrip("/")
            if not _ignored(relative, False, rules):
                yield relative
                seen += 1
                if seen >= limit:
                    return


def list_files(folder: Path, filters: Filters) -> tuple[list[tuple[Path, LanguageSpec]], bool]:
    """The files of one folder to index, and whether the file cap cut the list."""
    folder = folder.resolve()
    # A folder git ignores (a virtualenv inside a checkout) lists nothing: walked instead.
    listed = _git_files(folder) or None
    candidates = iter(listed) if listed is not None else _walk(folder, filters.max_files * 4)
    out: list[tuple[Path, LanguageSpec]] = []
    for relative in candidates:
        spec = language_of(relative, filters)
        if spec is None:
            continue
        if len(out) >= filters.max_files:
            return out, True
        out.append((folder / relative, spec))
    return out, False


def read_source(folder: Path, path: Path) -> str | None:
    """The text of a file inside `folder`, or None: outside it (after symlinks), not a regular file,
    huge, binary, unreadable."""
    if not inside(folder, path):
        return None
    try:
        info = path.stat()
        if not path.is_file() or info.st_size > MAX_BYTES:
            return None
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_BYTES or b"\0" in data[:8192]:
        return None
    text = data.decode("utf-8", errors="replace")
    # Minified or generated: very long lines.
    if len(text) > 4096 and text.count("\n") < len(text) / 1000:
        return None
    return text
