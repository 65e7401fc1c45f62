"""End to end: `python_model` completes Python documents on a second real model; the rest stay on `model`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.conftest import needs_llama
from tests.support.cursor import cursor
from tests.support.lsp_support import REAL_SERVER, inline, open_doc, server_env, start, status, wait_ready

pytestmark = needs_llama

PY_URI, JS_URI = "file:///tmp/add.py", "file:///tmp/add.js"
PY_SOURCE = "def add(a, b):\n    █\n\nprint(add(1, 2))\n"
JS_SOURCE = "function add(a, b) {\n    █\n}\n"


async def _python_model(client: LanguageClient, timeout: float = 60.0) -> dict[str, Any] | None:
    """`codellama/status`'s python model once it is no longer loading."""
    for _ in range(int(timeout / 0.05)):
        found: dict[str, Any] | None = (await status(client))["python_model"]
        if found is None or found["state"] != "loading":
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the python model is still loading")


async def _suggest(client: LanguageClient, uri: str, source: str) -> tuple[list[str], str]:
    _, line, character = cursor(source)
    # The most likely suggestion: an explicit request may bring the model's alternatives after it.
    items = (await inline(client, uri, line, character)).items[:1]
    return [item.insert_text for item in items], (await status(client))["recent"][-1]["mode"]


async def test_python_documents_complete_on_the_python_model_until_it_is_cleared(models_dir: Path) -> None:
    from tests.support.gguf_models import write_codellama_gguf

    main = write_codellama_gguf(models_dir / "main-fim.gguf")  # writes `return x`
    python = write_codellama_gguf(
        models_dir / "python-role.gguf",
        fim=False,  # like Code Llama - Python
        transitions={"▁return": "▁None", "▁None": "</s>"},
        name="CodeLlama Python Role Test",
    )
    options = {"pythonModel": str(python), "syntaxCheck": False}
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(main)), init_options=options)
    try:
        state = await wait_ready(client)
        assert state["state"] == "ready" and state["fim"] is True and state["model"] == str(main)
        second = await _python_model(client)
        assert second is not None
        assert (second["path"], second["state"], second["fim"]) == (str(python), "ready", False)
        assert "roles" in state

        open_doc(client, PY_URI, cursor(PY_SOURCE)[0])
        open_doc(client, JS_URI, cursor(JS_SOURCE)[0], language="javascript")
        # The Python model has no FIM tokens: its prompt is the text before the cursor only.
        assert await _suggest(client, PY_URI, PY_SOURCE) == (["return None"], "none")
        words, mode = await _suggest(client, JS_URI, JS_SOURCE)
        assert words == ["return x"] and mode != "none"

        # A setting that reloads models reloads the python model too.
        settings = {"codellama": {"nCtx": 2048}}
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
        assert (await wait_ready(client))["n_ctx"] == 2048  # the main model too
        second = await _python_model(client)
        assert second is not None and (second["state"], second["n_ctx"]) == ("ready", 2048)
        assert await _suggest(client, PY_URI, PY_SOURCE) == (["return None"], "none")

        # Cleared: the second model is freed and Python goes back to the main model.
        settings = {"codellama": {"pythonModel": "", "nCtx": 2048}}
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
        assert await _python_model(client) is None
        words, mode = await _suggest(client, PY_URI, PY_SOURCE)
        assert words == ["return x"] and mode != "none"
        assert (await status(client))["model_loads"] == 2  # clearing it did not load the main model again
    finally:
        await client.shutdown_session()
