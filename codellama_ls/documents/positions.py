"""LSP positions <-> str indices (pure).

LSP counts ``character`` in the negotiated position encoding (UTF-16 code units
unless client and server agree otherwise) while a Python ``str`` is indexed by
code point, and tree-sitter wants UTF-8 byte offsets. :class:`LineIndex` keeps
the line starts of one text, can be updated in place after an edit, and
converts between all three, counting units only on the one line involved.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from enum import Enum

# Lone surrogates (possible in a str decoded from bad JSON) must still map to
# some bytes; this keeps every conversion total and consistent.
_UTF8_ERRORS = "surrogatepass"
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class PositionEncoding(str, Enum):
    """Values equal lsprotocol's ``PositionEncodingKind`` strings."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"


class PositionError(ValueError):
    """A position or offset that does not exist in the document."""


def utf8_len(s: str) -> int:
    """UTF-8 byte length of ``s``."""
    # isascii() is O(1) on CPython's compact ASCII strings.
    return len(s) if s.isascii() else len(s.encode("utf-8", _UTF8_ERRORS))


def encode_utf8(s: str) -> bytes:
    return s.encode("utf-8", _UTF8_ERRORS)


def _break_ends(s: str, lo: int, hi: int) -> list[int]:
    """Ends of the line breaks whose last character lies in ``s[lo:hi]``.

    ``s[hi]`` is looked at too: it decides whether a ``\\r`` at ``hi - 1`` is
    lone or the first half of ``\\r\\n``.
    """
    window = s[lo : hi + 1]
    if "\r" in window:
        # Same length, so indices survive: CRLF breaks at its "\n", lone CR
        # becomes one; then a plain find loop does the rest at C speed.
        window = window.replace("\r\n", " \n").replace("\r", "\n")
    limit = hi - lo
    ends: list[int] = []
    find = window.find
    j = find("\n")
    while 0 <= j < limit:
        ends.append(lo + j + 1)
        j = find("\n", j + 1)
    return ends


def _byte_break_ends(b: bytes) -> list[int]:
    """Ends of all line breaks in UTF-8 ``b``; CR/LF never occur inside a
    multi-byte sequence, so these pair up one to one with the str breaks."""
    if b"\r" in b:
        b = b.replace(b"\r\n", b" \n").replace(b"\r", b"\n")
    ends: list[int] = []
    find = b.find
    j = find(b"\n")
    while j >= 0:
        ends.append(j + 1)
        j = find(b"\n", j + 1)
    return ends


_BLOCK = 128


def _chunk(values: list[int]) -> tuple[list[int], list[list[int]]]:
    bases: list[int] = []
    blocks: list[list[int]] = []
    for i in range(0, len(values), _BLOCK):
        chunk = values[i : i + _BLOCK]
        base = chunk[0]
        bases.append(base)
        blocks.append([v - base for v in chunk] if base else chunk)
    return bases, blocks


class _OffsetTable:
    """Sorted ints kept in blocks of about ``_BLOCK``, each relative to a base.

    An edit shifts every later line start. Done on a flat list that is O(lines)
    of Python work per keystroke; here it is the tail of one block plus one
    base per later block, O(sqrt(lines)) whatever the edit pattern.
    Invariant: every block is non-empty and starts with 0, so ``_bases`` holds
    each block's first value and can be bisected directly.
    """

    __slots__ = ("_bases", "_blocks", "_firsts", "_len")

    def __init__(self, values: list[int]) -> None:
        self._len = len(values)
        self._bases, self._blocks = _chunk(values)
        self._firsts: list[int] = []  # index of each block's first entry
        self._renumber(0)

    def _renumber(self, k: int) -> None:
        firsts = self._firsts
        del firsts[k:]
        at = firsts[-1] + len(self._blocks[k - 1]) if k else 0
        for block in self._blocks[k:]:
            firsts.append(at)
            at += len(block)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: int) -> int:
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        k = bisect_right(self._firsts, i) - 1
        return self._bases[k] + self._blocks[k][i - self._firsts[k]]

    def to_list(self) -> list[int]:
        return [b + v for b, block in zip(self._bases, self._blocks, strict=True) for v in block]

    def find(self, x: int) -> int:
        """Index of the last entry <= x (-1 if none)."""
        k = bisect_right(self._bases, x) - 1
        if k < 0:
            return -1
        return self._firsts[k] + bisect_right(self._blocks[k], x - self._bases[k]) - 1

    def replace(self, lo: int, hi: int, new: list[int], shift: int) -> None:
        """Drop entries ``[lo, hi)``, insert ``new`` there, add ``shift`` to
        every entry after them."""
        n, bases, blocks, firsts = self._len, self._bases, self._blocks, self._firsts
        if lo == hi and not new:  # a keystroke within a line: nothing but the shift
            if shift and hi < n:
                k = bisect_right(firsts, hi) - 1
                j = hi - firsts[k]
                if j:
                    block = blocks[k]
                    block[j:] = [v + shift for v in block[j:]]
                    k += 1
                bases[k:] = [b + shift for b in bases[k:]]
            return
        if not blocks:
            self._len = len(new)
            self._bases, self._blocks = _chunk(new)
            self._renumber(0)
            return
        # Rebuild the blocks holding lo..hi from a flat list; take in the next
        # block too when they would shrink to a sliver, so blocks stay large.
        kb = bisect_right(firsts, min(lo, n - 1)) - 1
        ke = bisect_right(firsts, min(hi, n - 1)) - 1
        size = firsts[ke] + len(blocks[ke]) - firsts[kb] - (hi - lo) + len(new)
        if size < _BLOCK // 2 and ke + 1 < len(blocks):
            ke += 1
        flat = [bases[k] + v for k in range(kb, ke + 1) for v in blocks[k]]
        at = lo - firsts[kb]
        flat[at : hi - firsts[kb]] = new
        at += len(new)
        if shift:
            flat[at:] = [v + shift for v in flat[at:]]
            bases[ke + 1 :] = [b + shift for b in bases[ke + 1 :]]
        bases[kb : ke + 1], blocks[kb : ke + 1] = _chunk(flat)
        self._len = n - (hi - lo) + len(new)
        self._renumber(kb)


class LineIndex:
    """Line starts of a text, as the LSP spec splits lines.

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``; the terminator is not
    part of the line. A text ending in a terminator has a last, empty line.
    Offsets are str indices (code points).
    """

    __slots__ = ("_extra", "_lone_cr", "_starts", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts = _OffsetTable([0, *_break_ends(text, 0, len(text))])
        # Lone CRs are the only place where LSP lines and tree-sitter rows
        # (which count "\n" only) disagree; zero keeps point() O(line).
        self._lone_cr = text.count("\r") - text.count("\r\n") if "\r" in text else 0
        self._extra: _OffsetTable | None = None

    # -- lines -------------------------------------------------------------

    @property
    def text(self) -> str:
        return self._text

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_starts(self) -> list[int]:
        return self._starts.to_list()

    def line_start(self, line: int) -> int:
        self._check_line(line)
        return self._starts[line]

    def line_end(self, line: int) -> int:
        """Offset just past the line's content (before its terminator)."""
        self._check_line(line)
        return self._content_end(line)

    def line_text(self, line: int) -> str:
        self._check_line(line)
        return self._text[self._starts[line] : self._content_end(line)]

    def _check_line(self, line: int) -> None:
        if not 0 <= line < len(self._starts):
            raise PositionError(f"line {line} is out of range: the document has {len(self._starts)} line(s)")

    def _check_offset(self, offset: int) -> None:
        if not 0 <= offset <= len(self._text):
            raise PositionError(f"offset {offset} is out of range: the document has {len(self._text)} characters")

    def _content_end(self, line: int) -> int:
        if line + 1 >= len(self._starts):
            return len(self._text)
        nxt = self._starts[line + 1]
        if self._text[nxt - 1] == "\n" and nxt >= 2 and self._text[nxt - 2] == "\r":
            return nxt - 2
        return nxt - 1

    # -- LSP positions -----------------------------------------------------

    def offset(
        self,
        line: int,
        character: int,
        encoding: PositionEncoding = PositionEncoding.UTF16,
        *,
        clamp: bool = False,
    ) -> int:
        """str index of an LSP position.

        Strict by default. ``clamp=True`` follows the spec's leniency for
        ranges: a character past the line end means the line end, a line past
        the last one means the end of the document, and a position that splits
        a character snaps back to that character's start.
        """
        if line < 0 or character < 0:
            raise PositionError(f"negative position: line {line}, character {character}")
        if line >= len(self._starts):
            if clamp:
                return len(self._text)
            raise PositionError(f"line {line} is out of range: the document has {len(self._starts)} line(s)")
        start = self._starts[line]
        if character == 0:
            return start
        end = self._content_end(line)
        seg = self._text[start:end]
        if encoding is PositionEncoding.UTF32 or seg.isascii():
            if character <= len(seg):
                return start + character
            if clamp:
                return end
            raise self._beyond(line, character, len(seg), encoding)
        if encoding is PositionEncoding.UTF16:
            return start + self._utf16_col(seg, line, character, clamp)
        return start + self._utf8_col(seg, line, character, clamp)

    def _utf16_col(self, seg: str, line: int, units: int, clamp: bool) -> int:
        astral = 0  # astral chars (2 units each) before the current one
        for m in _ASTRAL.finditer(seg):
            at = m.start() + astral  # unit index where this char begins
            if units <= at:
                break
            if units == at + 1:
                if clamp:
                    return m.start()
                raise PositionError(f"character {units} on line {line} falls inside a UTF-16 surrogate pair")
            astral += 1
        col = units - astral
        if col <= len(seg):
            return col
        if clamp:
            return len(seg)
        raise self._beyond(line, units, len(seg) + astral, PositionEncoding.UTF16)

    def _utf8_col(self, seg: str, line: int, nbytes: int, clamp: bool) -> int:
        raw = encode_utf8(seg)
        if nbytes > len(raw):
            if clamp:
                return len(seg)
            raise self._beyond(line, nbytes, len(raw), PositionEncoding.UTF8)
        if nbytes < len(raw) and raw[nbytes] & 0xC0 == 0x80:
            if not clamp:
                raise PositionError(f"character {nbytes} on line {line} falls inside a multi-byte UTF-8 character")
            while raw[nbytes] & 0xC0 == 0x80:
                nbytes -= 1
        return len(raw[:nbytes].decode("utf-8", _UTF8_ERRORS))

    @staticmethod
    def _beyond(line: int, character: int, length: int, encoding: PositionEncoding) -> PositionError:
        unit = {
            PositionEncoding.UTF8: "UTF-8 bytes",
            PositionEncoding.UTF16: "UTF-16 code units",
            PositionEncoding.UTF32: "code points",
        }[encoding]
        return PositionError(
            f"character {character} is beyond the end of line {line} (the line is {length} {unit} long)"
        )

    def position(self, offset: int, encoding: PositionEncoding = PositionEncoding.UTF16) -> tuple[int, int]:
        """LSP (line, character) of a str index.

        An index between the ``\\r`` and ``\\n`` of a CRLF maps to the line end.
        """
        self._check_offset(offset)
        line = self._starts.find(offset)
        start = self._starts[line]
        col = min(offset, self._content_end(line)) - start
        if col == 0 or encoding is PositionEncoding.UTF32:
            return line, col
        seg = self._text[start : start + col]
        if seg.isascii():
            return line, col
        if encoding is PositionEncoding.UTF16:
            return line, col + len(_ASTRAL.findall(seg))
        return line, len(encode_utf8(seg))

    # -- UTF-8 bytes (tree-sitter) -----------------------------------------

    def track_bytes(self, encoded: bytes | None = None) -> None:
        """Start keeping UTF-8 line starts too (done lazily by the byte methods).

        ``encoded`` may pass the text's UTF-8 bytes when the caller has them.
        """
        if self._extra is not None:
            return
        if self._text.isascii():
            self._extra = _OffsetTable([0] * len(self._starts))
            return
        if encoded is None:
            encoded = encode_utf8(self._text)
        byte_starts = [0, *_byte_break_ends(encoded)]
        self._extra = _OffsetTable([b - s for b, s in zip(byte_starts, self._starts.to_list(), strict=True)])

    def _extra_table(self) -> _OffsetTable:
        if self._extra is None:
            self.track_bytes()
        assert self._extra is not None
        return self._extra

    def _line_byte_start(self, line: int) -> int:
        return self._starts[line] + self._extra_table()[line]

    def byte_offset(self, offset: int) -> int:
        """UTF-8 byte offset of a str index."""
        self._check_offset(offset)
        line = self._starts.find(offset)
        return self._line_byte_start(line) + utf8_len(self._text[self._starts[line] : offset])

    def offset_of_byte(self, byte: int) -> int:
        """str index of a UTF-8 byte offset; one inside a character rounds down."""
        if byte < 0:
            raise PositionError(f"byte offset {byte} is negative")
        lo, hi = 0, len(self._starts)
        while hi - lo > 1:  # last line starting at or before `byte`
            mid = (lo + hi) // 2
            if self._line_byte_start(mid) <= byte:
                lo = mid
            else:
                hi = mid
        line = lo
        start = self._starts[line]
        end = self._starts[line + 1] if line + 1 < len(self._starts) else len(self._text)
        seg = self._text[start:end]
        within = byte - self._line_byte_start(line)
        if seg.isascii():
            if within > len(seg):
                raise PositionError(f"byte offset {byte} is beyond the end of the document")
            return start + within
        raw = encode_utf8(seg)
        if within > len(raw):
            raise PositionError(f"byte offset {byte} is beyond the end of the document")
        while within < len(raw) and raw[within] & 0xC0 == 0x80:
            within -= 1
        return start + len(raw[:within].decode("utf-8", _UTF8_ERRORS))

    @property
    def byte_length(self) -> int:
        return self.byte_offset(len(self._text))

    def point(self, offset: int) -> tuple[int, int]:
        """tree-sitter point (row, byte column) of a str index.

        tree-sitter starts a row only after ``\\n``, so a lone ``\\r`` does not
        end a row there the way it ends an LSP line.
        """
        if not self._lone_cr:
            self._check_offset(offset)
            line = self._starts.find(offset)
            return line, utf8_len(self._text[self._starts[line] : offset])
        row_start = self._text.rfind("\n", 0, offset) + 1
        return self._text.count("\n", 0, offset), utf8_len(self._text[row_start:offset])

    # -- editing -----------------------------------------------------------

    def replace(self, start: int, end: int, new_text: str) -> None:
        """Replace ``text[start:end]`` with ``new_text`` and update the index.

        Costs O(len(new_text) + sqrt(lines)) Python work plus the str splice.
        """
        old = self._text
        if not 0 <= start <= end <= len(old):
            raise PositionError(f"edit range {start}:{end} is outside 0:{len(old)}")
        starts = self._starts
        # Starts in [start, end] hang on characters in old[start-1:end]; all of
        # them may change. Start 0 is the document start, not a break.
        lo = max(1, starts.find(start - 1) + 1)
        hi = starts.find(end) + 1
        removed_cr = 0
        if self._lone_cr:
            removed_cr = sum(1 for i in range(lo, hi) if old[starts[i] - 1] == "\r")
        extra = self._extra
        if extra is not None:
            removed = old[start:end]
            b_start = self.byte_offset(start)
            extra_shift = utf8_len(new_text) - len(new_text) - (utf8_len(removed) - len(removed))
        # join keeps one big temporary fewer than a + b + c, which matters:
        # with glibc's default trimming every big temporary is fresh pages.
        text = "".join((old[:start], new_text, old[end:]))
        new_end = start + len(new_text)
        ends = _break_ends(text, max(start - 1, 0), new_end)
        if "\r" in new_text or removed_cr or (start and text[start - 1] == "\r"):
            self._lone_cr += sum(1 for e in ends if text[e - 1] == "\r") - removed_cr
        starts.replace(lo, hi, ends, len(new_text) - (end - start))
        if extra is not None:
            # A line's extra is its UTF-8 start minus its str start: the bytes
            # that non-ASCII characters add before it. ASCII edits leave all of
            # them alone, so typing code costs nothing here.
            new_extra: list[int] = []
            prev, acc = start, b_start - start
            for e in ends:
                seg = text[prev:e]
                acc += utf8_len(seg) - len(seg)
                new_extra.append(acc)
                prev = e
            extra.replace(lo, hi, new_extra, extra_shift)
        self._text = text


def common_affixes(old: str, new: str) -> tuple[int, int]:
    """Lengths of the common prefix and (non-overlapping) common suffix.

    Binary search on slice equality: O(n log n) bytes compared, but at memcmp
    speed, unlike a per-character Python loop.
    """
    limit = min(len(old), len(new))
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if old.startswith(new[lo:mid], lo):
            lo = mid
        else:
            hi = mid - 1
    prefix = lo
    lo, hi = 0, limit - prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if old.endswith(new[len(new) - mid : len(new) - lo], 0, len(old) - lo):
            lo = mid
        else:
            hi = mid - 1
    return prefix, lo
