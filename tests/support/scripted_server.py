"""The real server over stdio with a scripted engine, for end-to-end tests that
need exact control over the model's output (positions, cancellation).

The completion echoes the text around the cursor, so a test sees exactly which
prefix and suffix the server cut: `<prefix tail|suffix head>`.
Environment: SCRIPTED_DELAY (seconds per piece), SCRIPTED_OUTPUT (fixed text), SCRIPTED_KNOWN (code the
model knows by heart: it writes what follows the prefix's end there, as a trained model would), SCRIPTED_LOG_LEVEL
(log to stderr at this level, as `codellama-ls serve` does), SCRIPTED_ECHO=hex (the whole prefix and
suffix, UTF-8 in hex, as `prefix/suffix` in one piece (not `:`, which ends a Python header that a block
suggestion may not end with): how end-to-end tests read the server's copy
of a document without a test-only request). SCRIPTED_ALTERNATIVES (a JSON list of texts) answers those
texts, the first as the suggestion and the others as its alternatives, most likely first.
SCRIPTED_CALLS=1 answers a call being written (the prompt's prefix ends in `name(`) with the parameter
names of a `def name(...)` or `function name(...)` the prompt holds, else with `)`: a model that knows
only what the prompt shows, so an editor test sees whether a definition reached it.
SCRIPTED_INSTRUCT=1 makes the model a Code Llama - Instruct look-alike (its chat template in the
metadata); a chat prompt is answered by SCRIPTED_CHAT_ANSWERS (JSON: the first key found in the
prompt picks the answer), else echoed back whole, special tokens by name.
SCRIPTED_FIM_ANSWERS (JSON) answers a fill-in-the-middle prompt whose prefix holds one of its keys (the first
found) with that key's answer: a next-edit prediction, whose prefix starts with the edit history.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys

from codellama_ls.engine.base import Progress
from codellama_ls.engine.scripted import Scripted, ScriptedEngine, ScriptedPrompt
from codellama_ls.lsp.server import create_server
from codellama_ls.settings.config import Settings
from tests.support.gguf_models import CODELLAMA_INSTRUCT_TEMPLATE


def chat_answer(prompt: ScriptedPrompt) -> str:
    answers: dict[str, str] = json.loads(os.environ.get("SCRIPTED_CHAT_ANSWERS") or "{}")
    for key, answer in answers.items():
        if key in prompt.chat:
            return answer
    return prompt.chat


def hex_of(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").hex()


def recite(known: str, prefix: str) -> str:
    """What follows the longest end of `prefix` (up to 40 characters) found in `known`."""
    for size in range(min(40, len(prefix)), 0, -1):
        at = known.find(prefix[-size:])
        if at >= 0:
            return known[at + size :]
    return ""


def fim_answer(prompt: ScriptedPrompt) -> str | None:
    answers: dict[str, str] = json.loads(os.environ.get("SCRIPTED_FIM_ANSWERS") or "{}")
    return next((answer for key, answer in answers.items() if key in prompt.prefix), None)


_CALL_BEING_WRITTEN = re.compile(r"([A-Za-z_]\w*)\($")


def _top_level_parts(text: str) -> list[str]:
    """`text` cut at the commas outside brackets, up to the bracket that closes the list."""
    parts: list[str] = []
    depth = start = 0
    for at, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return [*parts, text[start:at]]
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    return [*parts, text[start:]]


def call_arguments(prompt: ScriptedPrompt) -> str:
    """The rest of the call at the prefix's end: the callee's parameter names as its definition in the
    prompt spells them (defaults, annotations, `self` and starred parameters left out), else `)`."""
    call = _CALL_BEING_WRITTEN.search(prompt.prefix)
    if call is None:
        return ""
    name = re.escape(call.group(1))
    text = prompt.prefix + prompt.suffix
    definition = re.search(rf"\b(?:def|function)\s+{name}\s*\(", text)
    if definition is None:
        return ")"
    params = (re.split(r"[:=]", part)[0].strip() for part in _top_level_parts(text[definition.end() :]))
    return ", ".join(p for p in params if p and p not in ("self", "cls") and not p.startswith(("*", "/"))) + ")"


def echo(prompt: ScriptedPrompt) -> str | list[Scripted]:
    if prompt.mode == "chat":
        return chat_answer(prompt)
    scripted = fim_answer(prompt)
    if scripted is not None:
        return scripted
    if os.environ.get("SCRIPTED_CALLS") == "1":
        return call_arguments(prompt)
    alternatives = os.environ.get("SCRIPTED_ALTERNATIVES")
    if alternatives is not None:
        return list(json.loads(alternatives))
    known = os.environ.get("SCRIPTED_KNOWN")
    if known is not None:
        return recite(known, prompt.prefix)
    fixed = os.environ.get("SCRIPTED_OUTPUT")
    if fixed is not None:
        return fixed
    if os.environ.get("SCRIPTED_ECHO") == "hex":
        return f"{hex_of(prompt.prefix)}/{hex_of(prompt.suffix)}"
    return f"<{prompt.prefix[-6:]}|{prompt.suffix[:6]}>".replace("\n", "⏎").replace("\r", "␍")


def factory(settings: Settings, progress: Progress) -> ScriptedEngine:
    # `model = "scripted-instruct"` (as `instruct_model`, say) asks for the instruct look-alike too.
    instruct = os.environ.get("SCRIPTED_INSTRUCT") == "1" or settings.model == "scripted-instruct"
    return ScriptedEngine(
        echo,
        token_delay_s=float(os.environ.get("SCRIPTED_DELAY", "0")),
        chunk=1_000_000 if os.environ.get("SCRIPTED_ECHO") == "hex" else 1,  # one piece, whatever max_tokens
        chat_template=CODELLAMA_INSTRUCT_TEMPLATE if instruct else None,
        name="CodeLlama 7B Instruct Test" if instruct else "scripted",
    )


if __name__ == "__main__":
    # The echo is not code: these tests check the protocol, the per-language tables check the syntax rules.
    os.environ.setdefault("CODELLAMA_LS_SYNTAX_CHECK", "false")
    # Its alternatives are whole generations one after the other, not branches riding along the first
    # one (llama.cpp's): no share of the first one's time for them (as the unit tests' `unhurried`).
    from codellama_ls.completion import pipeline

    pipeline._ALTERNATIVES_SHARE = 1000.0
    if os.environ.get("SCRIPTED_LOG_LEVEL"):
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("codellama_ls").setLevel(os.environ["SCRIPTED_LOG_LEVEL"].upper())
    server = create_server(factory)
    transport = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    server.start_io(sys.stdin.buffer, transport)
