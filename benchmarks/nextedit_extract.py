"""Cut next-edit cases out of a public repository's history (run once; the benchmark reads the JSON).

    .venv/bin/python benchmarks/nextedit_extract.py --git /path/to/click.git --repo pallets/click \\
        --licence BSD-3-Clause --split reported --out benchmarks/data/nextedit/click.json

A case is a small commit that changed exactly one source file, in two to five hunks (git's own diff,
no context lines), each hunk a few lines, all of them close together: the shape of an edit a user makes
by hand and then repeats a few lines further on. The file is kept as an excerpt around the hunks, so the
data stays small; the hunks are checked to give the commit's file again.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.nextedit_cases import Case, Hunk, apply_hunks  # noqa: E402

EXTENSIONS = {".py": "python", ".js": "javascript", ".ts": "typescript", ".tsx": "tsx", ".go": "go", ".rs": "rust"}
HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# Bounds of "small": a few lines a hunk, close together, a short excerpt.
MAX_HUNK_LINES = 8
MAX_CHANGED = 30
MAX_GAP = 20
MAX_SPAN = 80
CONTEXT = 40
MAX_FILE_BYTES = 400_000


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], check=True, capture_output=True, text=True, encoding="utf-8"
    ).stdout


def parse_hunks(diff: str, before: list[str]) -> list[Hunk] | None:
    """git's zero-context hunks as (start in the old file, old lines, new lines); None if unusable."""
    hunks: list[Hunk] = []
    lines = diff.split("\n")
    i = 0
    while i < len(lines):
        match = HUNK_HEADER.match(lines[i])
        i += 1
        if not match:
            continue
        old_start, old_count = int(match.group(1)), int(match.group(2) or "1")
        old: list[str] = []
        new: list[str] = []
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            if line.startswith("\\"):
                return None  # "No newline at end of file": not an edit a user types
            if line.startswith("-"):
                old.append(line[1:])
            elif line.startswith("+"):
                new.append(line[1:])
            i += 1
        # A pure insertion's header names the line it follows.
        start = old_start if old_count == 0 else old_start - 1
        if before[start : start + len(old)] != old:
            return None
        hunks.append(Hunk(start, tuple(old), tuple(new)))
    return hunks


def small_and_close(hunks: list[Hunk]) -> bool:
    if not 2 <= len(hunks) <= 5:
        return False
    if any(len(h.old) > MAX_HUNK_LINES or len(h.new) > MAX_HUNK_LINES for h in hunks):
        return False
    if sum(len(h.old) + len(h.new) for h in hunks) > MAX_CHANGED:
        return False
    # Whitespace-only commits (reformatting) are not edits a user makes by hand.
    if all([x.strip() for x in h.old] == [x.strip() for x in h.new] for h in hunks):
        return False
    gaps = [b.start - (a.start + len(a.old)) for a, b in itertools.pairwise(hunks)]
    return max(gaps) <= MAX_GAP and hunks[-1].start + len(hunks[-1].old) - hunks[0].start <= MAX_SPAN


def excerpt(before: list[str], hunks: list[Hunk]) -> tuple[int, list[str], list[Hunk]]:
    first = max(0, hunks[0].start - CONTEXT)
    last = min(len(before), hunks[-1].start + len(hunks[-1].old) + CONTEXT)
    moved = [Hunk(h.start - first, h.old, h.new) for h in hunks]
    return first, before[first:last], moved


def cases_of(repo: Path, name: str, split: str, limit: int) -> list[Case]:
    found: list[Case] = []
    for commit in git(repo, "log", "--no-merges", "--format=%H").split():
        paths = git(repo, "diff-tree", "--no-commit-id", "-r", "--name-status", commit).strip().split("\n")
        if len(paths) != 1 or not paths[0].startswith("M\t"):
            continue
        path = paths[0][2:]
        language = EXTENSIONS.get(Path(path).suffix)
        if language is None:
            continue
        author = git(repo, "show", "-s", "--format=%an", commit).lower()
        if "bot" in author:
            continue
        try:
            text = git(repo, "show", f"{commit}^:{path}")
            after_text = git(repo, "show", f"{commit}:{path}")
        except (subprocess.CalledProcessError, UnicodeDecodeError):
            continue
        if "\r" in text or len(text) > MAX_FILE_BYTES:
            continue
        before = text.split("\n")
        diff = git(repo, "diff", "-U0", "--no-color", "--no-ext-diff", f"{commit}^", commit, "--", path)
        hunks = parse_hunks(diff, before)
        if hunks is None or not small_and_close(hunks):
            continue
        if "\n".join(apply_hunks(before, hunks)) != after_text:
            continue  # not what the commit made: skip rather than guess
        first, lines, moved = excerpt(before, hunks)
        after = "\n".join(apply_hunks(lines, moved))
        found.append(
            Case(
                repo=name,
                commit=commit,
                split=split,
                path=path,
                language=language,
                subject=git(repo, "show", "-s", "--format=%s", commit).strip(),
                first_line=first,
                before="\n".join(lines),
                hunks=tuple(moved),
                after_sha1=hashlib.sha1(after.encode("utf-8")).hexdigest(),
            )
        )
        if len(found) >= limit:
            break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--git", type=Path, required=True, help="a (bare) git directory with the history")
    parser.add_argument("--repo", required=True, help="owner/name on GitHub")
    parser.add_argument("--licence", required=True, help="SPDX identifier of the repository's licence")
    parser.add_argument("--split", choices=("dev", "reported"), required=True)
    parser.add_argument("--limit", type=int, default=200, help="newest cases first, at most this many")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    head = git(args.git, "rev-parse", "HEAD").strip()
    cases = cases_of(args.git, args.repo, args.split, args.limit)
    document = {
        "repository": args.repo,
        "url": f"https://github.com/{args.repo}",
        "licence": args.licence,
        "head": head,
        "split": args.split,
        "cases": [case.to_json() for case in cases],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases from {args.repo} at {head[:12]} -> {args.out}")


if __name__ == "__main__":
    main()
