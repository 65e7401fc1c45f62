"""The server's one mutable state: documents, settings, the engine, requests in flight.

Everything here runs on the asyncio loop; only `EngineWorker` crosses to its
thread.  A completion request never fails for a problem of ours: it answers
empty, and the user is told once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from codellama_ls.completion import Completion, complete, snapshot_of
from codellama_ls.config import Settings, SettingsLayers, normalize, resolve
from codellama_ls.crossfile import OtherDocument
from codellama_ls.document import Document, DocumentStore, UnknownDocument
from codellama_ls.engine.worker import CancelToken, EngineFactory, EngineState, EngineWorker
from codellama_ls.positions import PositionEncoding, PositionError

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

# Settings that only take effect when the model is loaded again.
_RELOAD_FIELDS = ("model", "model_dir", "n_ctx", "n_gpu_layers", "n_threads", "n_batch", "state_cache_mb")


@dataclass(frozen=True)
class Suggestion:
    text: str
    start: tuple[int, int]
    end: tuple[int, int]


def _identifier_tail(text: str) -> str:
    end = len(text)
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:end]


class Session:
    def __init__(self, server: LanguageServer, factory: EngineFactory, overrides: dict[str, Any]) -> None:
        self._server = server
        self.documents = DocumentStore()
        self.layers = SettingsLayers()
        self._overrides, problems = normalize(overrides, "command line")
        self.settings = Settings()
        self.worker = EngineWorker(factory)
        self._in_flight: dict[str, CancelToken] = {}
        self._told: set[str] = set()
        self._progress_supported = False
        self._load_task: asyncio.Task[None] | None = None
        self.recent: deque[dict[str, Any]] = deque(maxlen=32)
        self.shut_down = False
        self._edited: dict[str, float] = {}
        self._anchors: dict[str, int] = {}
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
        self._load_task = asyncio.ensure_future(self._load())

    async def _load(self) -> None:
        progress = _Progress(self._server) if self._progress_supported else None
        if progress is not None:
            await progress.begin("codellama-ls", f"Loading model {self.settings.model}")
        loop = asyncio.get_running_loop()

        def report(message: str, done: int, total: int | None) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress.report, message, done, total)
            log.info("%s%s", message, f" {done * 100 // total}%" if total else "")

        started = time.perf_counter()
        await self.worker.load(self.settings, report)
        if progress is not None:
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
            if info.fim is None and self.settings.fim_format in ("psm", "spm"):
                self.tell(
                    f"{info.name} has no fill-in-the-middle tokens; completing from the text before the cursor only.",
                    types.MessageType.Warning,
                )
        elif self.worker.error:
            self.tell(self.worker.error)

    # -- documents ----------------------------------------------------------------

    def open(self, uri: str, language_id: str, version: int, text: str) -> None:
        self.documents.open(uri, language_id, version, text)
        self._edited[uri] = time.monotonic()

    def _others(self, doc: Document) -> list[OtherDocument]:
        """Other open documents of the same language, most recently edited first."""
        same = [
            other
            for other in self.documents
            if other is not doc and other.language_id == doc.language_id and not other.skip_reason
        ]
        same.sort(key=lambda other: self._edited.get(other.uri, 0.0), reverse=True)
        return [OtherDocument(other.uri, other.text) for other in same]

    def change(self, uri: str, version: int, changes: Sequence[types.TextDocumentContentChangeEvent]) -> None:
        self._cancel(uri)  # the request in flight is for text that no longer exists
        self._edited[uri] = time.monotonic()
        try:
            self.documents.change(uri, version, changes)
        except UnknownDocument as exc:
            self.tell(f"{exc}; send textDocument/didOpen first", types.MessageType.Warning)
        except PositionError as exc:
            log.error("didChange for %s had an invalid range (%s); keeping the previous text", uri, exc)

    def close(self, uri: str) -> None:
        self._cancel(uri)
        self._edited.pop(uri, None)
        self._anchors.pop(uri, None)
        self.documents.close(uri)

    def _cancel(self, uri: str) -> None:
        token = self._in_flight.pop(uri, None)
        if token is not None:
            token.cancel()

    # -- completion ---------------------------------------------------------------

    async def suggest(
        self, uri: str, position: types.Position, *, invoked: bool, with_word: bool = False
    ) -> Suggestion | None:
        settings = self.settings
        if not settings.enabled:
            return None
        try:
            doc = self.documents.get(uri)
        except UnknownDocument as exc:
            self.tell(f"{exc}; send textDocument/didOpen first", types.MessageType.Warning)
            return None
        if doc.skip_reason:
            log.info("not completing %s: %s", uri, doc.skip_reason)
            return None
        try:
            offset = doc.offset_at(position.line, position.character)
        except PositionError as exc:
            log.warning("completion at an invalid position in %s: %s", uri, exc)
            return None
        if self.worker.state is not EngineState.READY:
            return None

        self._cancel(uri)  # newest wins
        token = self._in_flight[uri] = CancelToken()
        version = doc.version
        try:
            if settings.debounce_ms and not invoked:
                await asyncio.sleep(settings.debounce_ms / 1000)
                if token.cancelled:
                    return None
            snapshot = snapshot_of(
                doc, offset, invoked=invoked, others=self._others(doc), anchor=self._anchors.get(uri)
            )
            started = time.perf_counter()
            work = asyncio.ensure_future(self.worker.run(lambda engine: complete(engine, snapshot, settings, token)))
            # Recorded when the worker finishes, also for a request that was cancelled meanwhile.
            work.add_done_callback(lambda done: self._record(uri, done, started, token))
            result = await asyncio.shield(work)
        except asyncio.CancelledError:
            token.cancel()  # $/cancelRequest: the worker stops at its next check
            raise
        except Exception as exc:
            log.exception("completion failed")
            self.tell(f"completion failed: {exc}")
            return None
        finally:
            if self._in_flight.get(uri) is token:
                del self._in_flight[uri]
        if (
            token.cancelled
            or not result.text
            or doc.version != version
            or uri not in self.documents
            or self.documents.get(uri) is not doc
        ):
            return None
        text = result.text
        start = offset
        if with_word:
            word = _identifier_tail(snapshot.text[:offset])
            start -= len(word)
            text = word + text
        return Suggestion(text, doc.position_at(start), doc.position_at(offset + result.replace_after))

    def _record(self, uri: str, done: asyncio.Future[Completion], started: float, token: CancelToken) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        result = done.result()
        stats = result.stats
        entry = {
            "uri": uri,
            "mode": result.plan.mode.value,
            "unit": result.plan.unit.value,
            "prompt_tokens": stats.prompt_tokens,
            "reused_tokens": stats.reused_tokens,
            "evaluated_tokens": stats.evaluated_tokens,
            "generated_tokens": stats.generated_tokens,
            "prompt_ms": round(stats.prompt_ms, 2),
            "first_token_ms": round(stats.first_token_ms, 2),
            "total_ms": round((time.perf_counter() - started) * 1000, 2),
            "stop_reason": "cancelled" if token.cancelled else stats.stop_reason,
        }
        self.recent.append(entry)
        log.info("completion %s", entry)

    def status(self) -> dict[str, Any]:
        engine = self.worker.engine
        info = engine.info if engine is not None else None
        return {
            "state": self.worker.state.value,
            "error": self.worker.error,
            "model": info.path if info else None,
            "model_name": info.name if info else None,
            "fim": info.fim is not None if info else None,
            "n_ctx": info.n_ctx if info else None,
            "gpu_layers": info.gpu_layers if info else None,
            "position_encoding": self.documents.encoding.value,
            "documents": len(self.documents),
            "settings": dataclasses.asdict(self.settings),
            "recent": list(self.recent),
        }

    @property
    def exit_code(self) -> int:
        """0 after shutdown, 1 when the client exits or disconnects without it (as the spec says)."""
        return 0 if self.shut_down else 1

    def exiting(self) -> None:
        if not self.shut_down:
            log.warning("exit without shutdown")
            self.worker.close()

    def shutdown(self) -> None:
        self.shut_down = True
        for uri in list(self._in_flight):
            self._cancel(uri)
        if self._load_task is not None:
            self._load_task.cancel()
        self.worker.close()


class _Progress:
    """Work-done progress for model download and loading."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self._token = f"codellama-ls/{uuid.uuid4()}"
        self._ok = False
        self._last = -1

    async def begin(self, title: str, message: str) -> None:
        try:
            await self._server.work_done_progress.create_async(self._token)
            self._server.work_done_progress.begin(
                self._token, types.WorkDoneProgressBegin(title=title, message=message, cancellable=False)
            )
            self._ok = True
        except Exception:  # the client refused or does not answer: load without progress
            log.debug("work done progress unavailable", exc_info=True)

    def report(self, message: str, done: int, total: int | None) -> None:
        if not self._ok:
            return
        percent = min(done * 100 // total, 100) if total else None
        if percent is not None and percent == self._last:
            return
        self._last = percent if percent is not None else -1
        self._server.work_done_progress.report(
            self._token, types.WorkDoneProgressReport(message=message, percentage=percent)
        )

    def end(self, message: str) -> None:
        if self._ok:
            self._server.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))
