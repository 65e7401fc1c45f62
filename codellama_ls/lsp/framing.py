"""LSP framing (pure asyncio, no pygls): frames from a byte stream, bodies to JSON.

Tolerant of sloppy clients (header names in any case, no space after the colon,
LF-only line ends), bounded (a Content-Length over the limit is dropped, never
allocated), and self-healing: after a bad frame the reader resynchronises on the
next line that carries a Content-Length header and logs what it dropped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

# Far above any document we complete (max_file_bytes defaults to 2 MB) and any
# request, yet a bound: a bigger frame is dropped instead of allocated.
MAX_CONTENT_LENGTH = 256 * 1024 * 1024
# A header line is short; a longer "line" is the rest of a broken frame.
_MAX_LINE = 64 * 1024
# What survives when an over-long line is cut: room for a whole header.
_LINE_TAIL = 96
# Longer digit strings do not fit Python's int conversion limit (4300 digits).
_MAX_INT_DIGITS = 4000

_HEADER = re.compile(rb"([A-Za-z][A-Za-z0-9_-]*)[ \t]*:[ \t]*(.*?)[ \t]*")
# A Content-Length header anywhere in a line: where a frame starts again after garbage.
_RESYNC = re.compile(rb"content-length[ \t]*:[ \t]*\S+[ \t]*$", re.IGNORECASE)


END = object()  # the end of the stream (a body may well be JSON null)


def preview(data: bytes | bytearray, limit: int = 80) -> str:
    head = bytes(data[:limit])
    return repr(head) + ("…" if len(data) > limit else "")


class FrameReader:
    """LSP frames from a byte stream.

    ``read`` returns the next chunk, ``b""`` at the end. A frame is header lines
    (``Name: value``; only Content-Length matters) ended by a blank line, then
    exactly Content-Length bytes. Anything else is dropped up to the next line
    that carries a Content-Length header, and logged.
    """

    def __init__(
        self,
        read: Callable[[], Awaitable[bytes]],
        *,
        max_length: int = MAX_CONTENT_LENGTH,
        on_oversized: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self._read = read
        self._buf = bytearray()
        self._eof = False
        self._max_length = max_length
        self._on_oversized = on_oversized
        self._dropped = 0
        self._dropped_head = b""

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._read()
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def unread(self, data: bytes) -> None:
        """Put bytes back in front of the stream (the start of the next frame,
        read as part of a body whose Content-Length was too large)."""
        self._buf[:0] = data

    def _drop(self, data: bytes | bytearray) -> None:
        if not self._dropped:
            self._dropped_head = bytes(data[:80])
        self._dropped += len(data)

    def _report_dropped(self, why: str) -> None:
        if self._dropped:
            log.warning(
                "dropped %d bytes that were not a valid LSP frame (%s), starting %s",
                self._dropped,
                why,
                preview(self._dropped_head),
            )
            self._dropped = 0
            self._dropped_head = b""

    async def _line(self) -> bytes | None:
        """The next line without its line end; None at the end of the stream."""
        searched = 0
        while True:
            end = self._buf.find(b"\n", searched)
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._buf) > _MAX_LINE:
                # Not a header: keep only a tail in which the next header may begin.
                cut = len(self._buf) - _LINE_TAIL
                self._drop(self._buf[:cut])
                del self._buf[:cut]
            searched = len(self._buf)
            if not await self._fill():
                if self._buf:
                    self._drop(self._buf)
                    self._buf.clear()
                return None

    async def _exactly(self, n: int) -> bytes | None:
        while len(self._buf) < n:
            if not await self._fill():
                return None
        body = bytes(self._buf[:n])
        del self._buf[:n]
        return body

    async def next_frame(self) -> bytes | None:
        """The next frame's body; None at the end of the stream."""
        length: int | None = None
        in_headers = False
        oversized: str | None = None  # the length announced by a frame that is too big
        while True:
            line = await self._line()
            if line is None:
                self._report_dropped("end of input")
                return None
            if not line.strip():
                if length is not None:
                    break
                if oversized is not None:
                    self._reject_oversized(oversized)
                elif in_headers:
                    self._drop(b"headers without Content-Length")
                in_headers, oversized = False, None
                continue
            resync = _RESYNC.search(line)
            if resync is not None and resync.start() > 0:
                # The rest of a broken frame, then the next frame's header on the same line.
                self._drop(line[: resync.start()])
                line = line[resync.start() :]
                length, in_headers, oversized = None, False, None
            match = _HEADER.fullmatch(line)
            if match is None:
                self._drop(line + b"\n")
                length, in_headers, oversized = None, False, None
                continue
            in_headers = True
            if match.group(1).lower() != b"content-length":
                continue  # Content-Type and anything else: nothing to do
            value = match.group(2)
            if not value.isdigit():
                self._drop(line + b" (not a number)\n")
                length, in_headers = None, False
                continue
            if len(value) > 20 or int(value) > self._max_length:
                length, oversized = None, value.decode()
                continue
            length = int(value)
        self._report_dropped("resynchronised on the next header")
        body = await self._exactly(length)
        if body is None:
            log.warning("the input ended inside a frame (%d bytes announced)", length)
            return None
        return body

    async def next_message(self) -> Any:
        """The next frame's JSON value (or :class:`ParseFailure`); END at the end of the stream.

        When a body goes on after its JSON value (its Content-Length was too
        large), the rest is read again as the start of the next frame.
        """
        body = await self.next_frame()
        if body is None:
            return END
        value, rest = decode_body(body)
        if rest:
            self.unread(rest)
        return value

    def _reject_oversized(self, size: str) -> None:
        log.error(
            "dropped a frame of %s bytes: more than the %d byte limit; reading on from the next header",
            size,
            self._max_length,
        )
        if self._on_oversized is not None:
            # What has arrived of it may name a request id, which then gets an error, not silence.
            self._on_oversized(size, bytes(self._buf[:4096]))


# -- bodies -------------------------------------------------------------------


def _parse_int(digits: str) -> int | float:
    # A number too long for int() becomes inf, which params validation then rejects.
    return int(digits) if len(digits) <= _MAX_INT_DIGITS else float(digits)


_DECODER = json.JSONDecoder(parse_int=_parse_int)
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]]')
_ID_VALUE = re.compile(rb'\s*:\s*(-?\d{1,18}(?![\d.eE])|"(?:[^"\\]|\\.){0,200}")')


def salvage_id(body: bytes) -> int | str | None:
    """The top-level ``id`` of a message that cannot be parsed (nested too
    deeply, truncated), so that its error still reaches the request."""
    if not body.lstrip().startswith(b"{"):
        return None
    depth = 0
    for token in _TOKEN.finditer(body):
        text = token.group()
        if text in (b"{", b"["):
            depth += 1
        elif text in (b"}", b"]"):
            depth -= 1
        elif depth == 1 and text == b'"id"':
            value = _ID_VALUE.match(body, token.end())
            if value is None:
                continue  # a string value "id", not the key
            try:
                parsed = json.loads(value.group(1))
            except ValueError:
                return None
            return parsed if isinstance(parsed, (int, str)) else None
    return None


class ParseFailure:
    """A body that is not one JSON value."""

    def __init__(self, body: bytes, reason: str) -> None:
        self.body = body
        self.reason = reason


def decode_body(body: bytes) -> tuple[Any, bytes]:
    """The JSON value of a body (or a :class:`ParseFailure`) and any bytes after
    it that belong to the next frame (the Content-Length was too large)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParseFailure(body, f"the body is not UTF-8 ({exc.reason} at byte {exc.start})"), b""
    try:
        start = len(text) - len(text.lstrip(" \t\r\n")) if text[:1].isspace() else 0
        value, end = _DECODER.raw_decode(text, start)
    except RecursionError:
        return ParseFailure(body, "JSON nested too deeply"), b""
    except ValueError as exc:  # JSONDecodeError, or an int literal the parser refuses
        return ParseFailure(body, f"invalid JSON: {exc}"), b""
    rest = text[end:]
    if rest.strip():
        log.warning("a frame's body went on after its JSON value; reading the rest as the next frame")
        return value, rest.lstrip(" \t\r\n").encode("utf-8")
    return value, b""
