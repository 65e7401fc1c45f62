"""LSP wiring: a table of handlers, each converting LSP types and calling the session."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Generator
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import lsp_method

from codellama_ls import __version__
from codellama_ls.actions.commands import COMMANDS, KINDS, PROMPT_COMMAND, CodeActions
from codellama_ls.actions.instructions import ActionKind
from codellama_ls.completion.lifecycle import Suggestion
from codellama_ls.documents.languages import LANGUAGES
from codellama_ls.engine.worker import EngineFactory
from codellama_ls.lsp.capabilities import ClientCapabilities
from codellama_ls.lsp.completion_item import completion_item
from codellama_ls.lsp.protocol import LspProtocol, serve_stdio, serve_tcp
from codellama_ls.models.presets import load_llama_engine
from codellama_ls.session import Session

log = logging.getLogger(__name__)

STATUS_REQUEST = "codellama/status"
STATS_REQUEST = "codellama/stats"
NEXT_EDIT_REQUEST = "codellama/nextEdit"
NEXT_EDIT_VERDICTS = {
    "codellama/nextEditShown": "shown",
    "codellama/nextEditAccepted": "accepted",
    "codellama/nextEditRejected": "rejected",
}
# The files the workspace index reads, as one watcher's pattern.
WATCHED_GLOB = "**/*.{" + ",".join(sorted({e.lstrip(".") for s in LANGUAGES for e in s.extensions})) + "}"


class _Protocol(LspProtocol):
    """Our commands' wiring; everything about messages is in `protocol.LspProtocol`."""

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Generator[Any, Any, Any]:
        # The prompting command belongs to the editor integration; a client without one sends it here.
        if params.command == PROMPT_COMMAND:
            server = self._server
            if isinstance(server, CodeLlamaServer):
                server.session.tell(
                    "edit by instruction needs the editor to ask for the instruction: see the README on code "
                    "actions for your editor",
                    types.MessageType.Warning,
                )
            return None
        # A client's workDoneToken is not used: it lives only until the answer, which comes at once.
        return (yield from super().lsp_workspace__execute_command(params))


class CodeLlamaServer(LanguageServer):
    def __init__(self, factory: EngineFactory = load_llama_engine, **overrides: Any) -> None:
        super().__init__(
            "codellama-ls",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=_Protocol,
        )
        self.session = Session(self, factory, overrides)
        self.actions: CodeActions = self.session.actions
        self.client = ClientCapabilities()
        """What the client supports: read at `initialize`, and only there."""

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdio with our frame reader (pygls's goes deaf after one bad header)."""
        serve_stdio(self, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)

    def start_tcp(self, host: str, port: int) -> None:
        serve_tcp(self, host, port)


def _range(suggestion: Suggestion) -> types.Range:
    return types.Range(types.Position(*suggestion.start), types.Position(*suggestion.end))


# -- the handlers ---------------------------------------------------------------------


def initialize(ls: CodeLlamaServer, params: types.InitializeParams) -> None:
    ls.client = ClientCapabilities.of(params)
    ls.session.initialize(
        params.initialization_options, ls.workspace.position_encoding, progress=ls.client.work_done_progress
    )
    ls.session.repository.set_folders(_folder_uris(params))


def initialized(ls: CodeLlamaServer, params: types.InitializedParams) -> None:
    ls.session.start_loading()
    if ls.client.watched_files:
        # Files changed on disk (a `git checkout`, a generator) reach the workspace index.
        watcher = types.FileSystemWatcher(glob_pattern=WATCHED_GLOB)
        registration = types.Registration(
            id="codellama-ls-watched-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]),
        )
        ls.client_register_capability(types.RegistrationParams(registrations=[registration]))


def _folder_uris(params: types.InitializeParams) -> list[str]:
    if params.workspace_folders:
        return [folder.uri for folder in params.workspace_folders]
    return [params.root_uri] if params.root_uri else []


def did_open(ls: CodeLlamaServer, params: types.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    ls.session.open(doc.uri, doc.language_id, doc.version, doc.text)


def did_change(ls: CodeLlamaServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.session.change(params.text_document.uri, params.text_document.version, params.content_changes)


def did_close(ls: CodeLlamaServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.session.close(params.text_document.uri)


def did_save(ls: CodeLlamaServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.session.save(params.text_document.uri)


def did_change_watched_files(ls: CodeLlamaServer, params: types.DidChangeWatchedFilesParams) -> None:
    ls.session.repository.files_changed(
        (change.uri, change.type == types.FileChangeType.Deleted) for change in params.changes
    )


def did_change_workspace_folders(ls: CodeLlamaServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    event = params.event
    ls.session.repository.folders_changed((f.uri for f in event.added), (f.uri for f in event.removed))


def did_change_configuration(ls: CodeLlamaServer, params: types.DidChangeConfigurationParams) -> None:
    ls.session.change_configuration(params.settings)


async def inline_completion(ls: CodeLlamaServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    suggestion = await ls.session.inline(
        params.text_document.uri,
        params.position,
        invoked=params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked,
        progress_token=params.work_done_token,
    )
    if suggestion is None:
        return types.InlineCompletionList(items=[])
    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(insert_text=each.text, range=_range(each))
            for each in (suggestion, *suggestion.alternatives)
        ]
    )


async def completion(ls: CodeLlamaServer, params: types.CompletionParams) -> types.CompletionList:
    invoked = params.context is None or params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    suggestion = await ls.session.suggest(params.text_document.uri, params.position, invoked=invoked, with_word=True)
    # Incomplete, so clients ask again as the user types instead of filtering a stale suggestion.
    if suggestion is None:
        return types.CompletionList(is_incomplete=True, items=[])
    span = _range(suggestion)
    item = completion_item(
        suggestion.text,
        span.start,
        params.position,
        span.end,
        replaced=suggestion.replaced,
        indent=suggestion.indent,
        caps=ls.client.items,
    )
    return types.CompletionList(is_incomplete=True, items=[item] if item else [])


def code_action(ls: CodeLlamaServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    return ls.actions.list(params, resolve_support=ls.client.resolve_commands)


def code_action_resolve(ls: CodeLlamaServer, action: types.CodeAction) -> types.CodeAction:
    return ls.actions.resolve(action)


def _action_command(kind: ActionKind) -> Callable[..., Any]:
    def run(ls: CodeLlamaServer, *args: Any) -> None:
        given = args[0] if args and isinstance(args[0], dict) else {}
        ls.actions.start(kind, dict(given))  # answered at once; the work goes on under its own progress

    return run


def _field(value: Any, name: str) -> Any:
    """A field of custom params (pygls gives them as named tuples; a dict from a test client)."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


async def next_edit(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
    """`codellama/nextEdit` {textDocument: {uri, version}, position} -> {edits: [{id, range, text,
    textDocument: {uri, version}}]} (docs/next-edit.md)."""
    document, position = _field(params, "textDocument"), _field(params, "position")
    uri, version = _field(document, "uri"), _field(document, "version")
    line, character = _field(position, "line"), _field(position, "character")
    if not isinstance(uri, str) or not all(isinstance(n, int) and n >= 0 for n in (line, character)):
        ls.session.tell(
            f"{NEXT_EDIT_REQUEST} needs {{textDocument: {{uri, version}}, position: {{line, character}}}}",
            types.MessageType.Warning,
        )
        return {"edits": []}
    known = version if isinstance(version, int) and not isinstance(version, bool) else None
    return {"edits": await ls.session.next_edit(uri, known, types.Position(line, character))}


def _next_edit_verdict(kind: str) -> Callable[..., None]:
    def verdict(ls: CodeLlamaServer, params: Any) -> None:
        ls.session.next_edit_verdict(kind, {"id": _field(params, "id")})

    return verdict


def status(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
    return ls.session.status()


def stats(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
    return ls.session.stats()


def shutdown(ls: CodeLlamaServer, params: Any) -> None:
    ls.session.shutdown()


def exit_(ls: CodeLlamaServer, params: Any) -> None:
    ls.session.exiting()


FEATURES: tuple[tuple[str, Any, Callable[..., Any]], ...] = (
    (types.INITIALIZE, None, initialize),
    (types.INITIALIZED, None, initialized),
    (types.TEXT_DOCUMENT_DID_OPEN, None, did_open),
    (types.TEXT_DOCUMENT_DID_CHANGE, None, did_change),
    (types.TEXT_DOCUMENT_DID_CLOSE, None, did_close),
    (types.WORKSPACE_DID_CHANGE_CONFIGURATION, None, did_change_configuration),
    (types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False), did_save),
    (types.WORKSPACE_DID_CHANGE_WATCHED_FILES, None, did_change_watched_files),
    (types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, None, did_change_workspace_folders),
    (types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions(), inline_completion),
    (types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False), completion),
    (
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(KINDS.values()), resolve_provider=True),
        code_action,
    ),
    (types.CODE_ACTION_RESOLVE, None, code_action_resolve),
    (STATUS_REQUEST, None, status),
    (STATS_REQUEST, None, stats),
    (NEXT_EDIT_REQUEST, None, next_edit),
    *((method, None, _next_edit_verdict(kind)) for method, kind in NEXT_EDIT_VERDICTS.items()),
    (types.SHUTDOWN, None, shutdown),
    (types.EXIT, None, exit_),
)
"""Every LSP method we answer, its options, and its handler."""


def create_server(factory: EngineFactory = load_llama_engine, **overrides: Any) -> CodeLlamaServer:
    """A fresh server; `overrides` are settings that win over every other layer (the CLI's --model)."""
    server = CodeLlamaServer(factory, **overrides)
    for method, options, handler in FEATURES:
        server.feature(method, options)(handler)
    for kind in ActionKind:
        server.command(COMMANDS[kind])(_action_command(kind))
    return server
