"""The next suggestion is computed when one is accepted (real server over stdio, scripted engine)."""

from __future__ import annotations

import asyncio
from typing import Any

from codellama_ls.completion.prefetch import Prefetched, accepted_at
from codellama_ls.completion.reuse import Anchor, Shown
from tests.e2e.test_protocol import type_at
from tests.support.lsp_support import SCRIPTED_SERVER, inline, open_doc, plain, server_env, start, wait_ready

URI = "file:///tmp/prefetch.py"


def test_accept_is_the_whole_suggestion_at_its_anchor() -> None:
    text = "def f(a, b):\n    return (\n"
    at = text.index("(\n") + 1
    shown = Shown(Anchor.of(text, at), "a + b")
    assert accepted_at(shown, text[:at] + "a + b" + text[at:]) == at + 5
    assert accepted_at(shown, text[:at] + "a + " + text[at:]) is None  # typed part of it
    assert accepted_at(shown, text[:at] + "a + c" + text[at:]) is None
    assert accepted_at(shown, "#" + text[:at] + "a + b" + text[at:]) is None  # an edit elsewhere
    # An auto-paired closer the suggestion replaces.
    paired = text[:at] + ")" + text[at:]
    closing = Shown(Anchor.of(paired, at), "a + b)", replace_after=1)
    assert accepted_at(closing, text[:at] + "a + b)" + text[at:]) == at + 6
    ready = Prefetched(Anchor.of(text, at), "x")
    assert ready.answer(text, at) == "x" and ready.answer(text, at - 1) is None


async def _stats(client: Any) -> dict[str, Any]:
    return plain(await client.protocol.send_request_async("codellama/stats", None))  # type: ignore[no-any-return]


async def test_the_next_suggestion_is_ready_when_the_editor_asks() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="x = 1"))
    try:
        await wait_ready(client)
        open_doc(client, URI, "def f():\n    \n")
        first = await inline(client, URI, 1, 4)
        assert [item.insert_text for item in first.items] == ["x = 1"]
        type_at(client, URI, 2, 1, 4, "x = 1")  # the editor inserts the suggestion whole
        for _ in range(100):  # the prefetch runs without any request
            if len((await _stats(client))["requests"]) == 2:
                break
            await asyncio.sleep(0.05)
        second = await asyncio.wait_for(inline(client, URI, 1, 9, invoked=False), 10)
        assert [item.insert_text for item in second.items] == ["x = 1"]
        stats = await _stats(client)
        assert stats["cache_hits"] == {"prefetch": 1}
        assert len([r for r in stats["requests"] if "cache" not in r]) == 2  # the model ran for the prefetch only
    finally:
        await client.shutdown_session()


async def test_after_an_accepted_line_the_next_suggestion_is_the_next_line() -> None:
    # A model that knows the code, as a trained one would: the line it suggested ends there, so
    # after the accept it writes a newline first. The suggestion is the next line, not nothing.
    known = "def total(a, b):\n    s = a + b\n    return s\n"
    env = server_env(SCRIPTED_KNOWN=known)
    client, _ = await start(SCRIPTED_SERVER, env, init_options={"maxLines": 1})
    try:
        await wait_ready(client)
        open_doc(client, URI, "def total(a, b):\n    \n")
        first = await inline(client, URI, 1, 4)
        assert [item.insert_text for item in first.items] == ["s = a + b"]
        type_at(client, URI, 2, 1, 4, "s = a + b")  # accepted
        second = await asyncio.wait_for(inline(client, URI, 1, 13, invoked=False), 10)
        assert [item.insert_text for item in second.items] == ["\n    return s"]
        stats = await _stats(client)
        assert sum(stats["cache_hits"].values()) == 1, stats["cache_hits"]  # the prefetch answered
        assert len([r for r in stats["requests"] if "cache" not in r]) == 2
    finally:
        await client.shutdown_session()


async def test_an_unrelated_keystroke_cancels_the_prefetch() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="x = 12345678", SCRIPTED_DELAY="0.1"))
    try:
        await wait_ready(client)
        open_doc(client, URI, "def f():\n    \n")
        first = await inline(client, URI, 1, 4)
        accepted = first.items[0].insert_text
        assert isinstance(accepted, str)
        type_at(client, URI, 2, 1, 4, accepted)
        await asyncio.sleep(0.3)  # the prefetch is generating
        type_at(client, URI, 3, 0, 0, "#")  # somewhere else: its suggestion is no use now
        for _ in range(100):
            requests = (await _stats(client))["requests"]
            if len(requests) == 2:
                break
            await asyncio.sleep(0.05)
        assert requests[-1]["stop_reason"] == "cancelled"
        assert requests[-1]["generated_tokens"] < len(accepted)
        later = await asyncio.wait_for(inline(client, URI, 1, 4 + len(accepted), invoked=False), 10)
        assert (await _stats(client))["cache_hits"] == {}
        assert later.items  # a fresh generation answered
    finally:
        await client.shutdown_session()
