"""LSP wiring.  Handlers are thin: they convert LSP types and call the session."""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import lsp_method

from codellama_ls import __version__
from codellama_ls.actions.commands import COMMANDS, KINDS, PROMPT_COMMAND, CodeActions
from codellama_ls.actions.instructions import ActionKind
from codellama_ls.completion.lifecycle import Suggestion
from codellama_ls.engine.worker import EngineFactory
from codellama_ls.lsp.completion_item import ItemCaps, completion_item
from codellama_ls.lsp.protocol import LspProtocol, serve_stdio, serve_tcp
from codellama_ls.models.presets import load_llama_engine
from codellama_ls.session import Session

log = logging.getLogger(__name__)

STATUS_REQUEST = "codellama/status"
STATS_REQUEST = "codellama/stats"


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
        # Commands take one object; the request's progress token travels in it.
        if params.arguments and isinstance(params.arguments[0], dict) and params.work_done_token is not None:
            params.arguments[0]["workDoneToken"] = params.work_done_token
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
        self.item_caps = ItemCaps()
        self.actions: CodeActions = self.session.actions
        self.resolve_commands = False

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdio with our frame reader (pygls's goes deaf after one bad header)."""
        serve_stdio(self, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)

    def start_tcp(self, host: str, port: int) -> None:
        serve_tcp(self, host, port)


def _range(suggestion: Suggestion) -> types.Range:
    start = types.Position(*suggestion.start)
    end = types.Position(*suggestion.end)
    return types.Range(start, end)


def _completion_item(
    ls: CodeLlamaServer, params: types.CompletionParams, suggestion: Suggestion
) -> types.CompletionItem | None:
    cursor = params.position
    try:
        doc = ls.session.documents.get(params.text_document.uri)
        line = doc.line_text(cursor.line)
        replaced = doc.text[doc.offset_at(cursor.line, cursor.character) : doc.offset_at(*suggestion.end)]
    except (KeyError, ValueError, IndexError):
        return None  # closed or changed since: nothing is safe to insert
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    span = _range(suggestion)
    return completion_item(
        suggestion.text,
        span.start,
        cursor,
        span.end,
        replaced=replaced,
        indent=indent,
        caps=ls.item_caps,
    )


def create_server(factory: EngineFactory = load_llama_engine, **overrides: Any) -> CodeLlamaServer:
    """A fresh server; `overrides` are settings that win over every other layer (the CLI's --model)."""
    server = CodeLlamaServer(factory, **overrides)

    @server.feature(types.INITIALIZE)
    def initialize(ls: CodeLlamaServer, params: types.InitializeParams) -> None:
        ls.session.initialize(params, ls.workspace.position_encoding)
        ls.item_caps = ItemCaps.of(params.capabilities, params.client_info.name if params.client_info else None)
        caps = params.capabilities
        window, text = caps.window, caps.text_document
        ls.actions.progress_supported = bool(window and window.work_done_progress)
        resolve = text.code_action.resolve_support if text and text.code_action else None
        ls.resolve_commands = bool(resolve and "command" in resolve.properties)

    @server.feature(types.INITIALIZED)
    def initialized(ls: CodeLlamaServer, params: types.InitializedParams) -> None:
        ls.session.start_loading()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CodeLlamaServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.session.open(doc.uri, doc.language_id, doc.version, doc.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CodeLlamaServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.session.change(params.text_document.uri, params.text_document.version, params.content_changes)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CodeLlamaServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.session.close(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: CodeLlamaServer, params: types.DidChangeConfigurationParams) -> None:
        ls.session.change_configuration(params.settings)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: CodeLlamaServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        if invoked and ls.session.settings.enabled:
            # Asked for on a blank line below a comment: the instruct model writes what it describes.
            was_open = params.text_document.uri in ls.session.documents
            generated = await ls.actions.code_from_comment(params.text_document.uri, params.position)
            if generated is not None:
                text, at = generated
                here = types.Range(types.Position(*at), types.Position(*at))
                return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=text, range=here)])
            if was_open and params.text_document.uri not in ls.session.documents:
                return types.InlineCompletionList(items=[])  # closed while the instruct model wrote
        suggestion = await ls.session.suggest(
            params.text_document.uri, params.position, invoked=invoked, progress_token=params.work_done_token
        )
        if suggestion is None:
            return types.InlineCompletionList(items=[])
        item = types.InlineCompletionItem(insert_text=suggestion.text, range=_range(suggestion))
        return types.InlineCompletionList(items=[item])

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
    async def completion(ls: CodeLlamaServer, params: types.CompletionParams) -> types.CompletionList:
        invoked = params.context is None or params.context.trigger_kind == types.CompletionTriggerKind.Invoked
        suggestion = await ls.session.suggest(
            params.text_document.uri, params.position, invoked=invoked, with_word=True
        )
        # Incomplete, so clients ask again as the user types instead of filtering a stale suggestion.
        if suggestion is None:
            return types.CompletionList(is_incomplete=True, items=[])
        item = _completion_item(ls, params, suggestion)
        return types.CompletionList(is_incomplete=True, items=[item] if item else [])

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(KINDS.values()), resolve_provider=True),
    )
    def code_action(ls: CodeLlamaServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.actions.list(params, resolve_support=ls.resolve_commands)

    @server.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: CodeLlamaServer, action: types.CodeAction) -> types.CodeAction:
        return ls.actions.resolve(action)

    def action_command(kind: ActionKind) -> None:
        async def run(ls: CodeLlamaServer, *args: Any) -> Any:
            given = args[0] if args and isinstance(args[0], dict) else {}
            return await ls.actions.execute(kind, dict(given), given.get("workDoneToken"))

        server.command(COMMANDS[kind])(run)

    for kind in ActionKind:
        action_command(kind)

    @server.feature(STATUS_REQUEST)
    def status(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
        return ls.session.status()

    @server.feature(STATS_REQUEST)
    def stats(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
        return ls.session.stats()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: CodeLlamaServer, params: Any) -> None:
        ls.session.shutdown()

    @server.feature(types.EXIT)
    def exit_(ls: CodeLlamaServer, params: Any) -> None:
        ls.session.exiting()

    return server
