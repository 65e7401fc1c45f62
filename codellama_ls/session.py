"""The server's state: documents, layered settings, messages told once, and the engine worker.

Everything here runs on the asyncio loop; only `EngineWorker` crosses to its
thread. Completion requests live in `requests.py`; this class hands them the
documents, the settings and the worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from codellama_ls.action_run import instruct_style
from codellama_ls.config import Settings, SettingsLayers, normalize, resolve
from codellama_ls.document import DocumentStore, UnknownDocument
from codellama_ls.engine.worker import EngineFactory, EngineState, EngineWorker
from codellama_ls.families import family_named, without_fim_message
from codellama_ls.positions import PositionEncoding, PositionError
from codellama_ls.progress import LoadProgress, PartialStream
from codellama_ls.requests import Requests, Suggestion

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

# Settings that only take effect when the model is loaded again.
_RELOAD_FIELDS = Settings.reload_fields()


class Session:
    def __init__(self, server: LanguageServer, factory: EngineFactory, overrides: dict[str, Any]) -> None:
        self._server = server
        self.documents = DocumentStore()
        self.layers = SettingsLayers()
        self._overrides, problems = normalize(overrides, "command line")
        self.settings = Settings()
        self._factory = factory
        self.worker = EngineWorker(factory)
        self.python_worker: EngineWorker | None = None
        """`python_model`'s own worker while that setting is set: it completes Python documents."""
        self._python_settings: Settings | None = None
        self._python_task: asyncio.Task[None] | None = None
        self.requests = Requests(self.documents, self.worker, self.tell, self._stream)
        self._told: set[str] = set()
        self._progress_supported = False
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
        reload = any(getattr(new, f) != getattr(self.settings, f) for f in _RELOAD_FIELDS)
        self.settings = new
        self.documents.max_bytes = new.max_file_bytes
        logging.getLogger("codellama_ls").setLevel(new.log_level.upper())
        return reload

    def initialize(self, params: types.InitializeParams, encoding: str | None) -> None:
        self.documents.encoding = PositionEncoding(encoding or PositionEncoding.UTF16.value)
        window = params.capabilities.window
        self._progress_supported = bool(window and window.work_done_progress)
        self.layers.set_init_options(params.initialization_options)
        self._apply_settings()

    def change_configuration(self, raw: Any) -> None:
        self.layers.set_client(raw)
        if self._apply_settings() and self.worker.state is not EngineState.IDLE:
            self.start_loading()
        elif self.worker.state is not EngineState.IDLE:  # models load after `initialized`
            self._sync_python_model()

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
        self.worker.state = EngineState.LOADING  # at once, so `codellama/status` never shows the old model
        self._load_task = asyncio.ensure_future(self._load())
        self._sync_python_model()

    def _sync_python_model(self) -> None:
        """Load, reload or free `python_model`'s worker to match the settings (not per request)."""
        name = self.settings.python_model.strip()
        wanted = dataclasses.replace(self.settings, model=name) if name else None
        current = self._python_settings
        if (
            wanted is not None
            and current is not None
            and all(getattr(current, f) == getattr(wanted, f) for f in _RELOAD_FIELDS)
        ):
            return
        old = self.python_worker
        if old is not None:
            # Requests running on the old model end first: closing its worker drops queued work.
            self.requests.python_worker = None
            self.requests.cancel_all()
            old.close()
            self.python_worker = self._python_settings = None
        if wanted is None:
            return
        worker = self.python_worker = self.requests.python_worker = EngineWorker(self._factory)
        self._python_settings = wanted
        worker.state = EngineState.LOADING
        self._python_task = asyncio.ensure_future(self._load_python(worker, wanted))

    async def _load_python(self, worker: EngineWorker, settings: Settings) -> None:
        await worker.load(settings, lambda message, done, total: log.info("python model: %s", message))
        if worker.state is EngineState.READY and worker.engine is not None:
            info = worker.engine.info
            log.info("python model ready: %s (%s, fim=%s)", info.name, info.path, info.fim is not None)
        elif worker.error and worker is self.python_worker:
            self.tell(f"python_model: {worker.error}")

    def _reload_if_model_file_changed(self) -> bool:
        """Load the model again when its file changed on disk (one stat per request). The
        weights in memory are a copy, so the running engine is safe meanwhile; this picks up
        the new model, or retries one that failed while it was still being written."""
        change = self.worker.model_file_change()
        model_file = self.worker.model_file
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
        progress = LoadProgress(self._server if self._progress_supported else None)
        await progress.begin("codellama-ls", f"Loading model {self.settings.model}")
        started = time.perf_counter()
        await self.worker.load(self.settings, progress)
        progress.end("Model ready" if self.worker.state is EngineState.READY else "Model not loaded")
        if self.worker.state is EngineState.READY and self.worker.engine is not None:
            info = self.worker.engine.info
            log.info(
                "model ready in %.1fs: %s (%s, fim=%s, n_ctx=%d, gpu_layers=%d)",
                time.perf_counter() - started,
                info.name,
                info.path,
                info.fim is not None,
                info.n_ctx,
                info.gpu_layers,
            )
            chat = instruct_style(info) is not None
            if info.fim is None and (chat or self.settings.fim_format in ("psm", "spm", "line")):
                # A chat model is the common mistake: said once, with what to use instead.
                self.tell(without_fim_message(info.name, chat), types.MessageType.Warning)
        elif self.worker.error:
            self.tell(self.worker.error)

    # -- documents ----------------------------------------------------------------

    def open(self, uri: str, language_id: str, version: int, text: str) -> None:
        self.documents.open(uri, language_id, version, text)
        self.requests.opened(uri)

    def change(self, uri: str, version: int, changes: Sequence[types.TextDocumentContentChangeEvent]) -> None:
        self.requests.keystroke(uri)
        try:
            doc = self.documents.change(uri, version, changes)
        except UnknownDocument as exc:
            self.tell(f"{exc}; send textDocument/didOpen first", types.MessageType.Warning)
            return
        except PositionError as exc:
            log.error("didChange for %s had an invalid range (%s); keeping the previous text", uri, exc)
            return
        self.requests.changed(doc, self.settings)

    def close(self, uri: str) -> None:
        self.requests.closed(uri)
        self.documents.close(uri)

    # -- completion ---------------------------------------------------------------

    async def suggest(
        self,
        uri: str,
        position: types.Position,
        *,
        invoked: bool,
        with_word: bool = False,
        progress_token: types.ProgressToken | None = None,
    ) -> Suggestion | None:
        if self.settings.enabled and self._reload_if_model_file_changed():
            return None
        return await self.requests.suggest(
            uri, position, self.settings, invoked=invoked, with_word=with_word, progress_token=progress_token
        )

    def _stream(
        self, uri: str, position: types.Position, progress_token: types.ProgressToken | None, settings: Settings
    ) -> PartialStream | None:
        if progress_token is None and not settings.partial_notifications:
            return None
        return PartialStream(self._server, uri, position, progress_token, settings.partial_notifications)

    # -- introspection and lifetime -------------------------------------------------

    def status(self) -> dict[str, Any]:
        engine = self.worker.engine
        info = engine.info if engine is not None else None
        return {
            "state": self.worker.state.value,
            "error": self.worker.error,
            "model": info.path if info else None,
            "model_name": info.name if info else None,
            "fim": info.fim is not None if info else None,
            "fim_family": family_named(info.fim.family).name if info and info.fim else None,
            "n_ctx": info.n_ctx if info else None,
            "gpu_layers": info.gpu_layers if info else None,
            "model_loads": self.worker.loads,
            "model_file_reloads": self.model_file_reloads,
            "computed": info.where if info else None,
            "position_encoding": self.documents.encoding.value,
            "documents": len(self.documents),
            "settings": dataclasses.asdict(self.settings),
            "recent": self.requests.log.recent_json(),
            "python_model": self._python_status(),
        }

    def _python_status(self) -> dict[str, Any] | None:
        worker = self.python_worker
        if worker is None or self._python_settings is None:
            return None
        info = worker.engine.info if worker.engine is not None else None
        return {
            "setting": self._python_settings.model,
            "path": info.path if info else None,
            "state": worker.state.value,
            "fim": info.fim is not None if info else None,
            "n_ctx": info.n_ctx if info else None,
            "error": worker.error,
        }

    @property
    def exit_code(self) -> int:
        """0 after shutdown, 1 when the client exits or disconnects without it (as the spec says)."""
        return 0 if self.shut_down else 1

    def exiting(self) -> None:
        if not self.shut_down:
            log.warning("exit without shutdown")
            self.worker.close()
            if self.python_worker is not None:
                self.python_worker.close()

    def stats(self) -> dict[str, Any]:
        return self.requests.log.stats()

    def shutdown(self) -> None:
        self.shut_down = True
        self.requests.cancel_all()
        if self._load_task is not None:
            self._load_task.cancel()
        self.worker.close()
        if self.python_worker is not None:
            self.python_worker.close()
