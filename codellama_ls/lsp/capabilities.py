"""What the client said it supports, read once from `initialize` (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lsprotocol import types

from codellama_ls.lsp.completion_item import ItemCaps


@dataclass(frozen=True)
class ClientCapabilities:
    work_done_progress: bool = False
    """Server-initiated `$/progress`: model loading, code actions."""
    resolve_commands: bool = False
    """`codeAction/resolve` may fill in `command`: the enclosing function is looked up for the action picked."""
    items: ItemCaps = field(default_factory=ItemCaps)
    """How a `textDocument/completion` item is shaped for this client."""
    watched_files: bool = False
    """`workspace/didChangeWatchedFiles` may be registered dynamically: the index hears of files changed on disk."""

    @staticmethod
    def of(params: types.InitializeParams) -> ClientCapabilities:
        caps = params.capabilities
        window, text, workspace = caps.window, caps.text_document, caps.workspace
        resolve = text.code_action.resolve_support if text and text.code_action else None
        return ClientCapabilities(
            work_done_progress=bool(window and window.work_done_progress),
            resolve_commands=bool(resolve and "command" in resolve.properties),
            items=ItemCaps.of(caps, params.client_info.name if params.client_info else None),
            watched_files=bool(
                workspace
                and workspace.did_change_watched_files
                and workspace.did_change_watched_files.dynamic_registration
            ),
        )
