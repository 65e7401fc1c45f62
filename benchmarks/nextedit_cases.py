"""The next-edit benchmark's data and scores, without a model: cases, the situation a case puts the user
in (history applied, cursor after it, the next hunk to find), and how a prediction is scored.

Lines are split on "\\n" and joined with it again; a file's final newline is an empty last line.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.holes import edit_similarity

DATA = Path(__file__).resolve().parent / "data" / "nextedit"


@dataclass(frozen=True)
class Hunk:
    """Replace ``old`` (which starts at line ``start``, 0-based) by ``new``; ``old`` empty: insert before it."""

    start: int
    old: tuple[str, ...]
    new: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "old": list(self.old), "new": list(self.new)}

    @staticmethod
    def from_json(raw: dict[str, Any]) -> Hunk:
        return Hunk(int(raw["start"]), tuple(raw["old"]), tuple(raw["new"]))


@dataclass(frozen=True)
class Case:
    """One commit: an excerpt of its file before it (from line ``first_line`` of the file), its hunks in
    file order, in the excerpt's lines of before the commit."""

    repo: str
    commit: str
    split: str
    path: str
    language: str
    subject: str
    first_line: int
    before: str
    hunks: tuple[Hunk, ...]
    after_sha1: str

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "path": self.path,
            "language": self.language,
            "subject": self.subject,
            "first_line": self.first_line,
            "before": self.before,
            "hunks": [h.to_json() for h in self.hunks],
            "after_sha1": self.after_sha1,
        }

    @staticmethod
    def from_json(raw: dict[str, Any], repo: str, split: str) -> Case:
        return Case(
            repo=repo,
            commit=raw["commit"],
            split=split,
            path=raw["path"],
            language=raw["language"],
            subject=raw["subject"],
            first_line=int(raw["first_line"]),
            before=raw["before"],
            hunks=tuple(Hunk.from_json(h) for h in raw["hunks"]),
            after_sha1=raw["after_sha1"],
        )


def apply_hunks(lines: Sequence[str], hunks: Iterable[Hunk]) -> list[str]:
    """Hunks in file order, each in the lines before any of them: applied from the bottom up."""
    result = list(lines)
    for hunk in sorted(hunks, key=lambda h: h.start, reverse=True):
        if result[hunk.start : hunk.start + len(hunk.old)] != list(hunk.old):
            raise ValueError(f"hunk at line {hunk.start + 1} does not match the text")
        result[hunk.start : hunk.start + len(hunk.old)] = hunk.new
    return result


def load(split: str | None = None, folder: Path = DATA) -> list[Case]:
    """Every case of the JSON files in ``folder`` (of one split when named), in file then commit order."""
    cases: list[Case] = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if split is None or document["split"] == split:
            cases.extend(Case.from_json(c, document["repository"], document["split"]) for c in document["cases"])
    return cases


def verify(case: Case) -> None:
    """The hunks apply to the excerpt and give the commit's text (its recorded hash)."""
    after = "\n".join(apply_hunks(case.before.split("\n"), case.hunks))
    if hashlib.sha1(after.encode("utf-8")).hexdigest() != case.after_sha1:
        raise ValueError(f"{case.repo}@{case.commit[:12]}: the hunks do not give the commit's text")


@dataclass(frozen=True)
class Situation:
    """The user has made ``history`` (each hunk in the lines of its own moment), the cursor sits at the
    end of the last of them in ``text``, and ``target`` (in ``text``'s lines) is the edit to find."""

    case: Case
    before: str
    history: tuple[Hunk, ...]
    text: str
    cursor: tuple[int, int]
    target: Hunk
    expected: str

    @property
    def cursor_offset(self) -> int:
        row, column = self.cursor
        return sum(len(line) + 1 for line in self.text.split("\n")[:row]) + column

    def versions(self) -> list[str]:
        """The file's text before the history and after each of its hunks (the last is ``text``)."""
        texts = [self.before]
        for hunk in self.history:
            texts.append("\n".join(apply_hunks(texts[-1].split("\n"), [hunk])))
        return texts


def situation(case: Case, applied: int | None = None) -> Situation:
    """The first ``applied`` hunks (default: all but the last) made, the next one to predict."""
    count = len(case.hunks) - 1 if applied is None else applied
    if not 1 <= count < len(case.hunks):
        raise ValueError(f"{count} hunks applied of {len(case.hunks)}")
    lines = case.before.split("\n")
    history: list[Hunk] = []
    shift = 0
    for hunk in case.hunks[:count]:
        # Applied top to bottom, one at a time: each hunk moves by what the ones above it added.
        moved = Hunk(hunk.start + shift, hunk.old, hunk.new)
        lines = apply_hunks(lines, [moved])
        history.append(moved)
        shift += len(hunk.new) - len(hunk.old)
    last = history[-1]
    if last.new:
        row = last.start + len(last.new) - 1
        cursor = (row, len(lines[row]))
    else:
        cursor = (last.start, 0)  # a deletion: the cursor where the lines were
    nxt = case.hunks[count]
    target = Hunk(nxt.start + shift, nxt.old, nxt.new)
    expected = "\n".join(apply_hunks(lines, [target]))
    return Situation(case, case.before, tuple(history), "\n".join(lines), cursor, target, expected)


@dataclass(frozen=True)
class Edit:
    """A predicted edit: characters ``start``..``end`` of the situation's text replaced by ``text``."""

    start: int
    end: int
    text: str


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    result = text
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        result = result[: edit.start] + edit.text + result[edit.end :]
    return result


def _lines_touched(text: str, edit: Edit) -> tuple[int, int]:
    return text.count("\n", 0, edit.start), text.count("\n", 0, edit.end)


def _target_lines(target: Hunk) -> tuple[int, int]:
    if target.old:
        return target.start, target.start + len(target.old) - 1
    # An insertion sits between two lines: an edit at the end of the one above or the start of the one
    # below is at the right place.
    return target.start - 1, target.start


def location_found(situation: Situation, edits: Sequence[Edit]) -> bool:
    """Some predicted edit touches a line of the true next hunk."""
    low, high = _target_lines(situation.target)
    for edit in edits:
        first, last = _lines_touched(situation.text, edit)
        if first <= high and low <= last:
            return True
    return False


def exact(situation: Situation, edits: Sequence[Edit]) -> bool:
    """The prediction makes the true next hunk and nothing else."""
    return bool(edits) and apply_edits(situation.text, edits) == situation.expected


def diff_text(old: str, new: str) -> str:
    """The changed lines only, as ``-``/``+`` lines: what the edit similarity compares."""
    lines = difflib.unified_diff(old.split("\n"), new.split("\n"), n=0, lineterm="")
    return "\n".join(line for line in lines if line[:1] in "-+" and not line.startswith(("---", "+++")))


def similarity(situation: Situation, edits: Sequence[Edit]) -> float:
    """Edit similarity of the predicted change against the true one, changed lines only (no prediction: 0)."""
    predicted = diff_text(situation.text, apply_edits(situation.text, edits))
    return edit_similarity(predicted, diff_text(situation.text, situation.expected))
