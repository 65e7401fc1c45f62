"""The real server with the scripted engine, as an instruction model whose answer to a next-edit prompt
follows a rule: for the editors' next-edit tests.

With `nextEdit` on, the server asks an instruction model in the `chat` format (docs/next-edit.md): the
region around the cursor in a fenced block. This model answers SCRIPTED_NEXT_EDIT (JSON
`{"old": "width", "new": "size"}`): the region with its first whole-word `old` renamed to `new`, after
SCRIPTED_NEXT_EDIT_DELAY seconds (so that a test can change the buffer meanwhile). Every other prompt is
answered as tests/support/scripted_server.py answers it (SCRIPTED_OUTPUT, ...). SCRIPTED_LOG_LEVEL=info
shows the server's next-edit log lines (`next edit <id> shown: <uri>`, ...) on stderr.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time

from codellama_ls.engine.base import Progress
from codellama_ls.engine.scripted import ScriptedEngine, ScriptedPrompt
from codellama_ls.lsp.server import create_server
from codellama_ls.nextedit.prompt import CURSOR_MARKER
from codellama_ls.settings.config import Settings
from tests.support.gguf_models import CODELLAMA_INSTRUCT_TEMPLATE
from tests.support.scripted_server import echo

# The region in the `chat` format's user message (nextedit/prompt.py, chat_messages).
REGION = re.compile(r"marks the cursor\):\n```[^\n]*\n(.*?)```\n\nRewrite", re.DOTALL)


def next_edit_answer(prompt: ScriptedPrompt) -> str | None:
    """The rule's answer to a next-edit prompt; None for any other prompt."""
    rule = json.loads(os.environ.get("SCRIPTED_NEXT_EDIT") or "{}")
    found = REGION.search(prompt.chat) if prompt.mode == "chat" and rule else None
    if found is None:
        return None
    time.sleep(float(os.environ.get("SCRIPTED_NEXT_EDIT_DELAY", "0")))
    region = found.group(1).replace(CURSOR_MARKER, "")
    renamed = re.sub(rf"\b{re.escape(rule['old'])}\b", rule["new"], region, count=1)
    return f"```python\n{renamed}```"


def script(prompt: ScriptedPrompt) -> str:
    answer = next_edit_answer(prompt)
    return echo(prompt) if answer is None else answer


def factory(settings: Settings, progress: Progress) -> ScriptedEngine:
    return ScriptedEngine(
        script, chat_template=CODELLAMA_INSTRUCT_TEMPLATE, name="CodeLlama 7B Instruct Test", chunk=1_000_000
    )


if __name__ == "__main__":
    # The scripted completions are not code: these tests check the editors, not the syntax rules.
    os.environ.setdefault("CODELLAMA_LS_SYNTAX_CHECK", "false")
    if os.environ.get("SCRIPTED_LOG_LEVEL"):
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("codellama_ls").setLevel(os.environ["SCRIPTED_LOG_LEVEL"].upper())
    server = create_server(factory)
    transport = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    server.start_io(sys.stdin.buffer, transport)
