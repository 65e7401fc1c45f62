"""The loaded model file truncated, written over in place or replaced: the server stays up and loads it again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import needs_llama
from tests.support.cursor import cursor
from tests.support.lsp_support import REAL_SERVER, ROOT, inline, open_doc, server_env, start, status, wait_ready

pytestmark = needs_llama

URI = "file:///tmp/add.py"
SOURCE = "def add(a, b):\n    █\n\nprint(add(1, 2))\n"


async def test_model_file_changed_on_disk_is_loaded_again(tmp_path: Path) -> None:
    from tests.support.gguf_models import write_codellama_gguf

    model = write_codellama_gguf(tmp_path / "model.gguf", name="CodeLlama First")
    (tmp_path / "elsewhere").mkdir()
    second = write_codellama_gguf(tmp_path / "elsewhere" / "second.gguf", name="CodeLlama Second")
    third = write_codellama_gguf(tmp_path / "elsewhere" / "third.gguf", name="CodeLlama Third")
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(model)))
    try:
        state = await wait_ready(client)
        assert state["state"] == "ready" and state["model_loads"] == 1, state
        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        assert [i.insert_text for i in (await inline(client, URI, line, character)).items] == ["return x"]

        # Truncated in place (what `cp` does first): with the file mapped, the next decode was SIGBUS.
        os.truncate(model, 4096)
        assert not (await inline(client, URI, line, character)).items
        state = await wait_ready(client)
        assert state["state"] == "failed" and state["model_file_reloads"] == 1, state
        assert not (await inline(client, URI, line, character)).items  # unchanged since: no reload loop
        assert (await status(client))["model_file_reloads"] == 1

        # Written over in place with another model (the rest of what `cp` does): loaded again.
        shutil.copyfile(second, model)
        assert not (await inline(client, URI, line, character)).items  # this request starts the load
        state = await wait_ready(client)
        assert state["state"] == "ready" and state["model_name"] == "CodeLlama Second", state
        assert state["model_loads"] == 2 and state["model_file_reloads"] == 2
        assert [i.insert_text for i in (await inline(client, URI, line, character)).items] == ["return x"]

        # The safe way: written elsewhere, then moved over the old one.
        os.replace(third, model)
        await inline(client, URI, line, character)
        state = await wait_ready(client)
        assert state["state"] == "ready" and state["model_name"] == "CodeLlama Third", state
        assert [i.insert_text for i in (await inline(client, URI, line, character)).items] == ["return x"]

        messages = [m.message for m in client.messages]
        rewritten = [m for m in messages if "written over in place" in m]
        assert len(rewritten) == 1 and "`mv`" in rewritten[0], messages
        assert sum("was replaced" in m for m in messages) == 1, messages
    finally:
        await client.shutdown_session()


ENGINE_AFTER_TRUNCATION = """
import os, sys
from pathlib import Path
from codellama_ls.engine.base import GenerationRequest, Sampling
from codellama_ls.engine.llama import LlamaEngine
path = Path(sys.argv[1])
engine = LlamaEngine(path, n_ctx=256)
prompt = engine.tokenize("def add(a, b): return")
before = "".join(engine.generate(GenerationRequest(prompt, Sampling(max_tokens=4), lambda: False)))
os.truncate(path, 0)  # between two requests, or during one: no check beforehand can close that race
after = "".join(engine.generate(GenerationRequest(prompt + prompt, Sampling(max_tokens=4), lambda: False)))
print(repr(before), repr(after))
"""


def test_a_loaded_engine_survives_its_file_truncated(tmp_path: Path) -> None:
    from tests.support.gguf_models import write_codellama_gguf

    model = write_codellama_gguf(tmp_path / "model.gguf")
    process = subprocess.run(
        [sys.executable, "-c", ENGINE_AFTER_TRUNCATION, str(model)],
        capture_output=True,
        env=server_env(),
        cwd=ROOT,
        timeout=120,
    )
    # With the weights mapped from the file this died of SIGBUS (-7).
    assert process.returncode == 0, (process.returncode, process.stderr.decode()[-2000:])
    assert process.stdout.decode().split() == ["'", "x'", "'", "x'"]
