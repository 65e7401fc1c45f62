"""The old region against the model's new one, as minimal edits, and which of them to drop (pure).

Lines are matched first (difflib), then each changed block is narrowed to the characters that
differ, so renaming `rate` to `tax_rate` on a line is one insertion of `tax_`, not the whole line.
A prediction is dropped when it changes nothing, or when it takes back the user's last edit (the
model "fixing" the new name back to the old one is the classic failure).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from codellama_ls.nextedit.history import Hunk, line_change


@dataclass(frozen=True)
class RegionEdit:
    """Replace `old[start:end]` with `text` (offsets into the text the edits were computed on)."""

    start: int
    end: int
    text: str


def _narrow(old: str, new: str, base: int) -> RegionEdit:
    limit = min(len(old), len(new))
    lead = 0
    while lead < limit and old[lead] == new[lead]:
        lead += 1
    trail = 0
    while trail < limit - lead and old[len(old) - 1 - trail] == new[len(new) - 1 - trail]:
        trail += 1
    return RegionEdit(base + lead, base + len(old) - trail, new[lead : len(new) - trail])


def minimal_edits(old: str, new: str) -> list[RegionEdit]:
    """Edits that turn `old` into `new`, each as small as the line match and a character trim make
    it, in order and not overlapping; offsets are into `old`."""
    if old == new:
        return []
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    offsets = [0]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))
    edits: list[RegionEdit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edit = _narrow("".join(old_lines[i1:i2]), "".join(new_lines[j1:j2]), offsets[i1])
        if edit.start != edit.end or edit.text:
            edits.append(edit)
    return edits


def apply_edits(text: str, edits: Sequence[RegionEdit]) -> str:
    """`text` with the (ordered, non-overlapping) edits applied."""
    out: list[str] = []
    at = 0
    for edit in edits:
        out += [text[at : edit.start], edit.text]
        at = edit.end
    out.append(text[at:])
    return "".join(out)


def undoes(last: Hunk, before: str, after: str) -> bool:
    """Whether the change `before` -> `after` of a file takes back the file's last edit `last` (made
    at its line `last.start`), in whole or in part: the file as it was, a line edited in place moved
    back toward its old text, or a line the user added removed."""
    change = line_change(before, after)
    if change is None:
        return False
    s, a = last.start, len(last.new)
    old_lines = before.split("\n")
    if old_lines[s : s + a] != list(last.new):
        return False  # the file is no longer as the edit left it: nothing to compare with
    if not (change.start < s + a and change.start + len(change.old) > s) and not (a == 0 and change.start == s):
        return False  # the prediction leaves the edited lines alone
    if after.split("\n") == [*old_lines[:s], *last.old, *old_lines[s + a :]]:
        return True
    if (
        len(last.old) == a
        and change.start >= s
        and change.start + len(change.old) <= s + a
        and len(change.new) == len(change.old)
    ):
        offset = change.start - s
        return any(
            _closer(now, then, was)
            for now, then, was in zip(change.new, change.old, last.old[offset : offset + len(change.old)], strict=True)
        )
    added = [line for line in last.new if line.strip() and line not in last.old]
    return any(line in change.old and line not in change.new for line in added)


def _closer(now: str, then: str, was: str) -> bool:
    """`now` moved back toward `was` from `then`: it is `was`, or it lost part of what `then` added."""
    if now == was:
        return True
    if now == then:
        return False
    added = _narrow(was, then, 0)
    return bool(added.text) and added.text not in now and was[added.start : added.end] in now
