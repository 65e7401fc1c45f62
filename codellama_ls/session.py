"""The server's state: documents, layered settings, messages told once, the models, the work per document.

Everything here runs on the asyncio loop; only the engine workers (owned by `models.workers.Models`)
cross to their threads. Completion requests live in `completion/lifecycle.py`, code actions in
`actions/commands.py`; this class hands them the documents, the settings and the models.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from codellama_ls.actions.commands import CodeActions
from codellama_ls.actions.pipeline import instruct_style
from codellama_ls.completion.lifecycle import Requests, Suggestion
from codellama_ls.documents.document import DocumentStore, UnknownDocument
from codellama_ls.documents.positions import PositionEncoding, PositionError
from codellama_ls.engine.worker import EngineFactory, EngineState
from codellama_ls.models.workers import Models, needs_reload
from codellama_ls.nextedit.requests import NextEdits, Offered
from codellama_ls.progress import LoadProgress, PartialStream
from codellama_ls.prompts.families import without_fim_message
from codellama_ls.settings.config import Settings, SettingsLayers, normalize, resolve
from codellama_ls.workspace.context import RepositoryContext

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)


class Session:
    def __init__(self, server: LanguageServer, factory: EngineFactory, overrides: dict[str, Any]) -> None:
        self._server = server
        self.documents = DocumentStore()
        self.layers = SettingsLayers()
        self._overrides, problems = normalize(overrides, "command line")
        self.settings = Settings()
        self.models = Models(factory, self.tell)
        self.repository = RepositoryContext(self.settings)
        self.requests = Requests(
            self.documents, self.models.worker_for, self.tell, self._stream, self.repository.retrieve
        )
        self.models.before_python_swap = self.requests.cancel_all
        self.next_edits = NextEdits(
            self.documents,
            self.models.worker_for,
            lambda message: self.tell(message, types.MessageType.Warning),
            self.requests.busy,
            self.repository.relative_path,
        )
        self.requests.on_request = self.next_edits.preempt  # completions first
        self.actions = CodeActions(server, self)
        self._told: set[str] = set()
        self.progress_supported = False
        """The client takes server-initiated `$/progress` (its capabilities, read at initialize)."""
        self._load_task: asyncio.Task[None] | None = None
        self.shut_down = False
        self.model_file_reloads = 0
        self._pending_problems = list(problems)
        self._apply_settings(show=False)

    # -- settings -----------------------------------------------------------------

    def _apply_settings(self, show: bool = True) -> bool:
        """Re-resolve; True when the model must be reloaded."""
        resolved = self.layers.resolve()
        extra = resolve([("current", dataclasses.asdict(resolved.settings)), ("command line", self._overrides)])
        new = extra.settings
        self._pending_problems += [*resolved.problems, *extra.problems]
        if show:  # before initialize there is nobody to tell
            for problem in self._pending_problems:
                self.tell(problem, types.MessageType.Warning)
            self._pending_problems = []
        reload = needs_reload(self.settings, new)
        self.settings = new
        self.documents.max_bytes = new.max_file_bytes
        self.repository.apply(new)
        self.next_edits.apply(new)
        logging.getLogger("codellama_ls").setLevel(new.log_level.upper())
        return reload

    def initialize(self, options: Any, encoding: str | None, *, progress: bool) -> None:
        self.documents.encoding = PositionEncoding(encoding or PositionEncoding.UTF16.value)
        self.progress_supported = progress
        self.layers.set_init_options(options)
        self._apply_settings()

    def change_configuration(self, raw: Any) -> None:
        self.layers.set_client(raw)
        loading = self.models.completion.state is not EngineState.IDLE  # models load after `initialized`
        if self._apply_settings() and loading:
            self.start_loading()
        elif loading:
            self.models.sync_python(self.settings)

    # -- messages -----------------------------------------------------------------

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """Show a message once per session; repeats go to the log only."""
        log.log(logging.ERROR if kind == types.MessageType.Error else logging.WARNING, message)
        if message in self._told:
            return
        self._told.add(message)
        try:
            self._server.window_show_message(types.ShowMessageParams(type=kind, message=f"codellama-ls: {message}"))
        except Exception:  # no client connected (unit tests) or a closed pipe
            log.debug("could not show message", exc_info=True)

    # -- model --------------------------------------------------------------------

    def start_loading(self) -> None:
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        # At once, so `codellama/status` never shows the old model.
        self.models.completion.state = EngineState.LOADING
        self._load_task = asyncio.ensure_future(self._load())
        self.models.sync_python(self.settings)

    def _reload_if_model_file_changed(self) -> bool:
        """Load the model again when its file changed on disk (one stat per request). The
        weights in memory are a copy, so the running engine is safe meanwhile; this picks up
        the new model, or retries one that failed while it was still being written."""
        worker = self.models.completion
        change = worker.model_file_change()
        model_file = worker.model_file
        if change is None or model_file is None:
            return False
        self.model_file_reloads += 1
        if change == "rewritten":
            self.tell(
                f"the model file {model_file.path} was written over in place; loading it again. To switch "
                "models safely, write the new file next to it and `mv` it over the old one.",
                types.MessageType.Warning,
            )
        else:
            self.tell(f"the model file {model_file.path} was replaced; loading the new one.", types.MessageType.Info)
        self.start_loading()
        return True

    async def _load(self) -> None:
        progress = LoadProgress(self._server if self.progress_supported else None)
        await progress.begin("codellama-ls", f"Loading model {self.settings.model}")
        started = time.perf_counter()
        worker = self.models.completion
        await worker.load(self.settings, progress)
        progress.end("Model ready" if worker.state is EngineState.READY else "Model not loaded")
        if worker.state is EngineState.READY and worker.engine is not None:
            info = worker.engine.info
            log.info(
                "model ready in %.1fs: %s (%s, fim=%s, n_ctx=%d, gpu_layers=%d, threads=%d: %s)",
                time.perf_counter() - started,
                info.name,
                info.path,
                info.fim is not None,
                info.n_ctx,
                info.gpu_layers,
                info.threads,
                info.threads_reason or "not computed here",
            )
            chat = instruct_style(info) is not None
            if info.fim is None and (chat or self.settings.fim_format in ("psm", "spm", "line")):
                # A chat model is the common mistake: said once, with what to use instead.
                self.tell(without_fim_message(info.name, chat), types.MessageType.Warning)
        elif worker.error:
            self.tell(worker.error)

    # -- documents ----------------------------------------------------------------

    def open(self, uri: str, language_id: str, version: int, text: str) -> None:
        self.documents.open(uri, language_id, version, text)
        self.requests.opened(uri)
        self.repository.opened(uri, text)

    def save(self, uri: str) -> None:
        doc = self.documents.get(uri) if uri in self.documents else None
        self.repository.saved_or_closed(uri, doc.text if doc is not None else None)

    def change(self, uri: str, version: int, changes: Sequence[types.TextDocumentContentChangeEvent]) -> None:
        self.requests.keystroke(uri)
        before = self.documents.get(uri).text if uri in self.documents else ""
        try:
            doc = self.documents.change(uri, version, changes)
        except UnknownDocument as exc:
            self.tell(f"{exc}; send textDocument/didOpen first", types.MessageType.Warning)
            return
        except PositionError as exc:
            log.error("didChange for %s had an invalid range (%s); keeping the previous text", uri, exc)
            return
        self.requests.changed(doc, self.settings)
        self.next_edits.changed(uri, before, doc, (c.text for c in changes), self.settings)
        self.actions.document_changed(uri)
        self.repository.edited(uri, doc.text)

    def close(self, uri: str) -> None:
        # The work for the document stops before it goes: nothing answers for a closed document.
        self.requests.closed(uri)
        self.next_edits.closed(uri)
        self.actions.document_closed(uri)
        self.documents.close(uri)
        self.repository.saved_or_closed(uri)

    # -- completion ---------------------------------------------------------------

    async def inline(
        self, uri: str, position: types.Position, *, invoked: bool, progress_token: types.ProgressToken | None
    ) -> Suggestion | None:
        """An inline completion: asked for on a blank line below a comment, the code the instruct
        model writes for it; else the completion model's suggestion."""
        if invoked and self.settings.enabled:
            was_open = uri in self.documents
            written = await self.actions.code_from_comment(uri, position)
            if written is not None:
                return written
            if was_open and uri not in self.documents:
                return None  # closed while the instruct model wrote
        ready = self._next_edit_inline(uri, position)
        if ready is not None:
            return ready
        # Inline clients show several items and cycle through them: an explicit request gets alternatives.
        alternatives = self.settings.alternatives if invoked else 1
        return await self.suggest(
            uri, position, invoked=invoked, progress_token=progress_token, alternatives=alternatives
        )

    async def suggest(
        self,
        uri: str,
        position: types.Position,
        *,
        invoked: bool,
        with_word: bool = False,
        progress_token: types.ProgressToken | None = None,
        alternatives: int = 1,
    ) -> Suggestion | None:
        if self.settings.enabled and self._reload_if_model_file_changed():
            return None
        return await self.requests.suggest(
            uri,
            position,
            self.settings,
            invoked=invoked,
            with_word=with_word,
            progress_token=progress_token,
            alternatives=alternatives,
        )

    def _next_edit_inline(self, uri: str, position: types.Position) -> Suggestion | None:
        """A ready next edit on the cursor's line, as an inline completion with a replace range."""
        if not (self.settings.next_edit and self.settings.enabled) or uri not in self.documents:
            return None
        doc = self.documents.get(uri)
        try:
            cursor = doc.offset_at(position.line, position.character)
        except PositionError:
            return None
        found = self.next_edits.inline_edit(doc, cursor)
        if found is None:
            return None
        start, end, text = found
        return Suggestion(text, doc.position_at(start), doc.position_at(end), replaced=doc.text[cursor:end])

    # -- next edits ---------------------------------------------------------------

    async def next_edit(self, uri: str, version: int | None, position: types.Position) -> list[dict[str, Any]]:
        """`codellama/nextEdit`: the edits as the result's `edits` list (LSP positions)."""
        offered = await self.next_edits.request(uri, version, position.line, position.character, self.settings)
        if not offered or uri not in self.documents:
            return []
        doc = self.documents.get(uri)
        return [self._edit_json(doc.position_at, item) for item in offered]

    @staticmethod
    def _edit_json(position_at: Any, item: Offered) -> dict[str, Any]:
        (sl, sc), (el, ec) = position_at(item.start), position_at(item.end)
        return {
            "id": item.id,
            "range": {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}},
            "text": item.text,
            "textDocument": {"uri": item.uri, "version": item.version},
        }

    def next_edit_verdict(self, kind: str, params: Any) -> None:
        """`codellama/nextEditShown`, `...Accepted`, `...Rejected`: `{id}`."""
        edit_id = params.get("id") if isinstance(params, dict) else getattr(params, "id", None)
        if edit_id is None:
            log.warning("codellama/nextEdit%s without an id", kind.title())
            return
        self.next_edits.verdict(kind, edit_id)

    def _stream(
        self, uri: str, position: types.Position, progress_token: types.ProgressToken | None, settings: Settings
    ) -> PartialStream | None:
        if progress_token is None and not settings.partial_notifications:
            return None
        return PartialStream(self._server, uri, position, progress_token, settings.partial_notifications)

    # -- introspection and lifetime -------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            **self.models.status(),
            "model_file_reloads": self.model_file_reloads,
            "position_encoding": self.documents.encoding.value,
            "documents": len(self.documents),
            "repository": self.repository.status(),
            "next_edit": self.next_edits.status(self.settings),
            "settings": dataclasses.asdict(self.settings),
            "recent": self.requests.log.recent_json(),
        }

    @property
    def exit_code(self) -> int:
        """0 after shutdown, 1 when the client exits or disconnects without it (as the spec says)."""
        return 0 if self.shut_down else 1

    def exiting(self) -> None:
        if not self.shut_down:
            log.warning("exit without shutdown")
            self.actions.cancel_all()
            self.requests.cancel_all()
            self.next_edits.cancel_all()
            self.models.close()

    def stats(self) -> dict[str, Any]:
        return self.requests.log.stats()

    def shutdown(self) -> None:
        self.shut_down = True
        self.actions.cancel_all()
        self.requests.cancel_all()
        self.next_edits.cancel_all()
        if self._load_task is not None:
            self._load_task.cancel()
        self.models.close()
        self.repository.close()
