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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from codellama_ls.caches import Anchor, Flight, Shown, TypingRate
from codellama_ls.completion import Completion, complete, snapshot_of
from codellama_ls.config import Settings, SettingsLayers, normalize, resolve
from codellama_ls.crossfile import OtherDocument
from codellama_ls.document import Document, DocumentStore, UnknownDocument
from codellama_ls.engine.base import Engine
from codellama_ls.engine.worker import CancelToken, EngineFactory, EngineState, EngineWorker
from codellama_ls.positions import PositionEncoding, PositionError

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

# Settings that only take effect when the model is loaded again.
_RELOAD_FIELDS = Settings.reload_fields()


@dataclass(frozen=True)
class Suggestion:
    text: str
    start: tuple[int, int]
    end: tuple[int, int]


def _cursor_after(flight: Flight, text: str) -> int:
    """Where the cursor is when only text at the flight's cursor was inserted (the suffix kept its length)."""
    return len(text) - flight.anchor.suffix[1]


def _identifier_tail(text: str) -> str:
    end = len(text)
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:end]


PARTIAL_NOTIFICATION = "codellama/partialCompletion"


@dataclass
class _Running:
    token: CancelToken
    flight: Flight
    work: asyncio.Future[Completion] | None = None


@dataclass(frozen=True)
class _Answer:
    """Turns suggestion text at a document offset into the LSP answer."""

    doc: Document
    offset: int
    with_word: bool

    def still_current(self, documents: DocumentStore, version: int) -> bool:
        return self.doc.version == version and self.doc.uri in documents and documents.get(self.doc.uri) is self.doc

    def make(self, text: str, replace_after: int) -> Suggestion:
        start = self.offset
        if self.with_word:
            # Completion clients filter by the word before the cursor: the item restates it.
            word = _identifier_tail(self.doc.text[max(0, self.offset - 200) : self.offset])
            start -= len(word)
            text = word + text
        return Suggestion(text, self.doc.position_at(start), self.doc.position_at(self.offset + replace_after))


class Session:
    def __init__(self, server: LanguageServer, factory: EngineFactory, overrides: dict[str, Any]) -> None:
        self._server = server
        self.documents = DocumentStore()
        self.layers = SettingsLayers()
        self._overrides, problems = normalize(overrides, "command line")
        self.settings = Settings()
        self.worker = EngineWorker(factory)
        self._in_flight: dict[str, _Running] = {}
        self._shown: dict[str, Shown] = {}
        self._typing: dict[str, TypingRate] = {}
        self.cache_hits: dict[str, int] = {}
        self._told: set[str] = set()
        self._progress_supported = False
        self._load_task: asyncio.Task[None] | None = None
        self.recent: deque[dict[str, Any]] = deque(maxlen=1000)
        self.shut_down = False
        self._edited: dict[str, float] = {}
        self._anchors: dict[str, int] = {}
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
        self._edited[uri] = time.monotonic()
        self._typing.setdefault(uri, TypingRate()).keystroke(time.monotonic())
        try:
            doc = self.documents.change(uri, version, changes)
            running = self._in_flight.get(uri)
            # The request in flight is for text that no longer exists, unless the user is
            # typing exactly what it is generating: the next request will follow it.
            if (
                running is not None
                and running.flight.continues(doc.text, _cursor_after(running.flight, doc.text)) is None
            ):
                self._cancel(uri)
        except UnknownDocument as exc:
            self.tell(f"{exc}; send textDocument/didOpen first", types.MessageType.Warning)
        except PositionError as exc:
            log.error("didChange for %s had an invalid range (%s); keeping the previous text", uri, exc)

    def close(self, uri: str) -> None:
        self._cancel(uri)
        self._edited.pop(uri, None)
        self._anchors.pop(uri, None)
        self._shown.pop(uri, None)
        self._typing.pop(uri, None)
        self.documents.close(uri)

    def _cancel(self, uri: str) -> None:
        running = self._in_flight.pop(uri, None)
        if running is not None:
            running.token.cancel()

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
        arrived = time.perf_counter()
        settings = self.settings
        if not settings.enabled:
            return None
        if self._reload_if_model_file_changed():
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
        answer = _Answer(doc, offset, with_word)

        running = self._in_flight.get(uri)
        if running is not None and running.work is not None and not running.token.cancelled:
            typed = running.flight.continues(doc.text, offset)
            if typed is not None:
                return await self._follow(running, typed, answer, arrived)
        self._cancel(uri)  # newest wins
        shown = self._shown.get(uri)
        rest = shown.rest_after(doc.text, offset) if shown is not None else None
        if shown is not None and rest is not None:
            # The user typed the beginning of the suggestion on screen: the rest, no model work.
            self._hit(uri, "type_through", arrived)
            return answer.make(rest, shown.replace_after)

        token = CancelToken()
        running = self._in_flight[uri] = _Running(token, Flight(Anchor.of(doc.text, offset)))
        version = doc.version
        partial = self._partial_sender(uri, position, progress_token)
        try:
            delay: float = settings.debounce_ms
            if delay < 0:
                delay = self._typing.setdefault(uri, TypingRate()).debounce_ms(time.monotonic())
            # The snapshot (and the tree's incremental re-parse it needs) is taken before the
            # debounce, so that work overlaps the wait; a keystroke during the wait cancels it all.
            snapshot = snapshot_of(
                doc, offset, invoked=invoked, others=self._others(doc), anchor=self._anchors.get(uri)
            )
            slept = 0.0
            if delay and not invoked:
                sleep_started = time.perf_counter()
                await asyncio.sleep(delay / 1000)
                slept = (time.perf_counter() - sleep_started) * 1000
                if token.cancelled or doc.version != version:
                    return None
            flight = running.flight

            def on_text(text: str) -> None:
                flight.produced = text
                if partial is not None:
                    partial(text)

            submitted = time.perf_counter()

            def work_in_thread(engine: Engine) -> Completion:
                begun = time.perf_counter()
                result = complete(engine, snapshot, settings, token, on_text)
                extra = result.stats.extra
                extra["queued_ms"] = round((begun - arrived) * 1000, 2)
                extra["wait_ms"] = round((begun - submitted) * 1000, 2)  # behind other work on the engine thread
                extra["debounce_ms"] = slept
                return result

            work = running.work = asyncio.ensure_future(self.worker.run(work_in_thread))
            # Recorded when the worker finishes, also for a request that was cancelled meanwhile.
            work.add_done_callback(lambda done: self._record(uri, done, arrived, token, invoked))
            result = await asyncio.shield(work)
        except asyncio.CancelledError:
            token.cancel()  # $/cancelRequest: the worker stops at its next check
            raise
        except Exception as exc:
            log.exception("completion failed")
            self.tell(f"completion failed: {exc}")
            return None
        finally:
            if partial is not None:
                partial(None)
            if self._in_flight.get(uri) is running:
                del self._in_flight[uri]
        if not result.plan.skip:
            self._anchors[uri] = result.plan.window.start
        if token.cancelled or not result.text or not answer.still_current(self.documents, version):
            return None
        self._shown[uri] = Shown(running.flight.anchor, result.text, result.replace_after)
        return answer.make(result.text, result.replace_after)

    async def _follow(self, running: _Running, typed: str, answer: _Answer, arrived: float) -> Suggestion | None:
        """Wait for the generation the user is typing along with, and answer what they have not typed yet."""
        assert running.work is not None
        version = answer.doc.version
        try:
            result = await asyncio.shield(running.work)
        except asyncio.CancelledError:
            raise
        except Exception:
            return None
        if not answer.still_current(self.documents, version) or running.token.cancelled:
            return None
        if not result.text.startswith(typed) or len(result.text) <= len(typed):
            return None
        self._hit(answer.doc.uri, "in_flight", arrived)
        rest = result.text[len(typed) :]
        self._shown[answer.doc.uri] = Shown(Anchor.of(answer.doc.text, answer.offset), rest, result.replace_after)
        return answer.make(rest, result.replace_after)

    def _hit(self, uri: str, kind: str, arrived: float) -> None:
        self.cache_hits[kind] = self.cache_hits.get(kind, 0) + 1
        entry = {"uri": uri, "cache": kind, "total_ms": round((time.perf_counter() - arrived) * 1000, 2)}
        self.recent.append(entry)
        log.info("completion %s", entry)

    def _partial_sender(
        self, uri: str, position: types.Position, progress_token: types.ProgressToken | None
    ) -> Callable[[str | None], None] | None:
        """Streams the growing suggestion: $/progress for a client's workDoneToken, and our own
        `codellama/partialCompletion` notification when `partialNotifications` is on."""
        notify = self.settings.partial_notifications
        if progress_token is None and not notify:
            return None
        loop = asyncio.get_running_loop()
        state = {"last": 0.0, "begun": False}

        def send(text: str | None) -> None:
            try:
                if progress_token is not None:
                    progress = self._server.work_done_progress
                    if text is None:
                        if state["begun"]:
                            progress.end(progress_token, types.WorkDoneProgressEnd())
                        return
                    if not state["begun"]:
                        state["begun"] = True
                        progress.begin(progress_token, types.WorkDoneProgressBegin(title="codellama-ls"))
                    progress.report(progress_token, types.WorkDoneProgressReport(message=text))
                if notify and text is not None:
                    self._server.protocol.notify(
                        PARTIAL_NOTIFICATION,
                        {
                            "uri": uri,
                            "position": {"line": position.line, "character": position.character},
                            "text": text,
                        },
                    )
            except Exception:  # a client that went away must not break generation
                log.debug("partial result not sent", exc_info=True)

        def from_worker(text: str | None) -> None:
            now = time.perf_counter()
            if text is not None and now - state["last"] < 0.05:
                return  # at most 20 updates a second
            state["last"] = now
            loop.call_soon_threadsafe(send, text)

        return from_worker

    def _record(
        self, uri: str, done: asyncio.Future[Completion], started: float, token: CancelToken, invoked: bool = False
    ) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        result = done.result()
        stats = result.stats
        total_ms = (time.perf_counter() - started) * 1000
        entry = {
            "uri": uri,
            "invoked": invoked,
            "mode": result.plan.mode.value,
            "unit": result.plan.unit.value,
            "prompt_tokens": stats.prompt_tokens,
            "reused_tokens": stats.reused_tokens,
            "evaluated_tokens": stats.evaluated_tokens,
            "generated_tokens": stats.generated_tokens,
            "prompt_ms": round(stats.prompt_ms, 2),
            "first_token_ms": round(stats.first_token_ms, 2),
            "queued_ms": stats.extra.get("queued_ms", 0.0),
            "wait_ms": stats.extra.get("wait_ms", 0.0),
            "engine_ms": round(stats.total_ms, 2),
            "plan_ms": stats.extra.get("plan_ms", 0.0),
            "post_ms": stats.extra.get("post_ms", 0.0),
            "total_ms": round(total_ms, 2),
            # Everything but llama.cpp compute, waiting for the engine thread, and the deliberate debounce.
            "overhead_ms": round(
                total_ms - stats.total_ms - stats.extra.get("wait_ms", 0.0) - stats.extra.get("debounce_ms", 0.0), 2
            ),
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
            "model_loads": self.worker.loads,
            "model_file_reloads": self.model_file_reloads,
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

    def stats(self) -> dict[str, Any]:
        """`codellama/stats`: per recent request, token counts, cache use and times (see the README)."""
        completed = [e for e in self.recent if "cache" not in e and e.get("stop_reason") != "cancelled"]
        prompt = sum(e["prompt_tokens"] for e in completed)
        reused = sum(e["reused_tokens"] for e in completed)
        return {
            "requests": list(self.recent),
            "cache_hits": dict(self.cache_hits),
            "kv_reuse": round(reused / prompt, 4) if prompt else None,
        }

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
