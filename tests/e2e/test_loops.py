"""A model stuck in a loop inside a line, and code that only repeats itself a few times (real server
over stdio, scripted engine)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.lsp_support import SCRIPTED_SERVER, inline, open_doc, plain, server_env, start, wait_ready

URI = "file:///tmp/loops.py"


@pytest.mark.parametrize(
    "output,shown,reason",
    [
        ("root.glob" + ".glob" * 40, "root.glob", "repetition_loop"),
        ("select(0, None, None, None, None)", "select(0, None, None, None, None)", "eot"),
    ],
)
async def test_a_loop_ends_the_line_and_repeated_code_stays_whole(output: str, shown: str, reason: str) -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT=output))
    try:
        await wait_ready(client)
        open_doc(client, URI, "import os\n\nfiles = \n")
        result = await inline(client, URI, 2, 8)
        assert [item.insert_text for item in result.items] == [shown]
        stats: dict[str, Any] = plain(await client.protocol.send_request_async("codellama/stats", None))
        last = stats["requests"][-1]
        assert last["stop_reason"] == reason, last
        if reason == "repetition_loop":
            assert last["generated_tokens"] < len(output)  # stopped early, not at the token limit
    finally:
        await client.shutdown_session()
