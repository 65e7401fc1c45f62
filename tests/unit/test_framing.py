"""The frame reader and body decoding, without a server."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from codellama_ls.lsp.framing import END, FrameReader, ParseFailure, decode_body, salvage_id


async def frames_of(data: bytes, chunk_sizes: list[int] | None = None, max_length: int = 1 << 20) -> list[Any]:
    """The messages in `data`, read in chunks of `chunk_sizes` (4096 when they run out)."""
    chunks: list[bytes] = []
    at = 0
    sizes = iter(chunk_sizes or [])
    while at < len(data):
        size = next(sizes, 4096)
        chunks.append(data[at : at + size])
        at += size
    chunks.append(b"")
    feed = iter(chunks)

    async def read() -> bytes:
        return next(feed)

    reader = FrameReader(read, max_length=max_length)
    messages = []
    while (message := await reader.next_message()) is not END:
        messages.append(message)
    return messages


HEADERS = [
    b"Content-Length: %d\r\n\r\n",
    b"content-length:%d\n\n",
    b"CONTENT-LENGTH :\t%d\r\n\n",
    b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n",
    b"Content-Length: %d\r\nX-Other: 1\n\r\n",
]


async def test_any_header_form_and_any_chunking() -> None:
    rng = random.Random(5)
    messages = [{"n": n, "text": "é\r\n" * rng.randrange(5)} for n in range(200)]
    bodies = [json.dumps(message, ensure_ascii=rng.random() < 0.5).encode() for message in messages]
    data = b"".join(rng.choice(HEADERS) % len(body) + body for body in bodies)
    sizes = [rng.choice([1, 2, 3, 7, 64, 1000]) for _ in range(len(data))]
    assert await frames_of(data, sizes) == messages


@pytest.mark.parametrize(
    "broken",
    [
        b"Content-Length: 30\r\n\r\n{}",  # too long: the body takes in the next frame's header
        b"Content-Length: 3\r\n\r\n[1, 2]",  # too short: the rest comes before the next header
        b'{"no": "header"}',
        b"Content-Type: x\r\n\r\n{}\r\n",
        b"Content-Length: -4\r\n\r\n",
        b"Content-Length: 99999999999999999999999999999999\r\n\r\n{}",
        b"Content-Length: 2000000\r\n\r\n{}",  # over the limit
        b"x" * 200_000,
        b"\xff\xfe\x00garbage\n",
    ],
)
async def test_the_reader_resynchronises_on_the_next_header(broken: bytes) -> None:
    good = b'{"good": 1}'
    data = broken + b"Content-Length: %d\r\n\r\n" % len(good) + good
    messages = await frames_of(data, max_length=1 << 20)
    assert messages[-1] == {"good": 1}
    assert len(messages) <= 2


async def test_length_too_short_yields_the_cut_body_then_the_next_frame() -> None:
    data = b"Content-Length: 5\r\n\r\n" + b'{"a": 1}' + b"Content-Length: 2\r\n\r\n{}"
    cut, following = await frames_of(data)
    assert isinstance(cut, ParseFailure) and cut.body == b'{"a":'
    assert following == {}


def test_decode_body_gives_back_what_follows_a_too_long_length() -> None:
    value, rest = decode_body(b'{"a": 1}Conte')
    assert value == {"a": 1} and rest == b"Conte"
    assert decode_body(b' {"a": 1} \r\n') == ({"a": 1}, b"")


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a": ', b"\xff", b"", b"nonsense"],
)
def test_decode_body_failures(body: bytes) -> None:
    value, _ = decode_body(body)
    assert isinstance(value, ParseFailure) and value.reason


def test_numbers_beyond_int_limits_become_inf_not_errors() -> None:
    value, _ = decode_body(b'{"line": ' + b"9" * 5000 + b', "x": 1e999}')
    assert value == {"line": float("inf"), "x": float("inf")}


@pytest.mark.parametrize(
    ("body", "msg_id"),
    [
        (b'{"jsonrpc": "2.0", "id": 12, "params": [[[[', 12),
        (b'{"params": {"id": 3}, "id": "abc", "x": [', "abc"),
        (b'{"method": "id", "params": {"id": 3}}', None),
        (b'[{"id": 1}]', None),
        (b'{"id": 1.5}', None),
        (b'{"id": ' + b"9" * 40 + b"}", None),
    ],
)
def test_salvage_id(body: bytes, msg_id: object) -> None:
    assert salvage_id(body) == msg_id
