"""The life of a completion request (event loop; `Generation.__call__` runs on the engine thread).

    reuse     the user typed the start of the suggestion on screen (type-through), or what the
              generation in flight is writing (in-flight): answer from it, no new model work
    debounce  automatic requests wait a moment while the user types fast
    snapshot  the document's text and syntax facts, taken once, before the wait
    run       the engine worker plans and generates (`pipeline.complete`); Python documents
              use `python_model`'s worker when that is set
    answer    the text at LSP positions, if the document has not moved on meanwhile

A newer request for a document cancels the one in flight ("newest wins", `jobs.Jobs`); so
does an edit, unless it types exactly what the generation is writing, and a `didClose`. Each
open document has one `DocumentState` holding what its requests remember.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lsprotocol import types

from codellama_ls.completion.crossfile import Chunk, OtherDocument
from codellama_ls.completion.pipeline import Completion, complete, context_refresh_affordable
from codellama_ls.completion.postprocess import indentation
from codellama_ls.completion.prefetch import Prefetched, accepted_at
from codellama_ls.completion.records import CacheHit, RequestLog, RequestRecord
from codellama_ls.completion.reuse import Anchor, Flight, Shown, TypingRate
from codellama_ls.completion.snapshot import Snapshot, Sticky, snapshot_of
from codellama_ls.documents.document import Document, DocumentStore, UnknownDocument
from codellama_ls.documents.positions import PositionError
from codellama_ls.engine.base import Engine, vocab_of
from codellama_ls.engine.worker import CancelToken, EngineState, EngineWorker
from codellama_ls.jobs import CLOSED, EDITED, NEWER, STOPPED, Job, Jobs, still_current
from codellama_ls.settings.config import Settings

log = logging.getLogger(__name__)

Tell = Callable[[str, types.MessageType], None]
"""Shows the user a message (once)."""
Stream = Callable[[str | None], None]
"""Receives the growing suggestion from the engine thread, then None when the request ends."""
StreamFactory = Callable[[str, types.Position, types.ProgressToken | None, Settings], Stream | None]
"""Makes the stream of one request; None when nobody listens."""
Workers = Callable[[str | None], EngineWorker]
"""The worker that completes a document of this language (`Models.worker_for`): `python_model`'s or the main one."""


@dataclass(frozen=True)
class Suggestion:
    text: str
    start: tuple[int, int]
    end: tuple[int, int]
    """LSP positions (line, character) of the range the text replaces."""
    replaced: str = ""
    """The document's text between the cursor and `end` (an auto-paired closer the text restates)."""
    indent: str = ""
    """The cursor line's indentation, for clients that add it to each inserted line."""
    alternatives: tuple[Suggestion, ...] = ()
    """Other suggestions for the same place, most likely first (explicit requests)."""


def _identifier_tail(text: str) -> str:
    start = len(text)
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:]


@dataclass(frozen=True)
class Answer:
    """Turns suggestion text at a document offset into the LSP answer."""

    doc: Document
    offset: int
    with_word: bool
    """Completion clients filter by the word before the cursor: the item restates it."""

    def make(self, text: str, replace_after: int) -> Suggestion:
        start = self.offset
        if self.with_word:
            word = _identifier_tail(self.doc.text[max(0, self.offset - 200) : self.offset])
            start -= len(word)
            text = word + text
        cursor_line = self.doc.position_at(self.offset)[0]
        return Suggestion(
            text,
            self.doc.position_at(start),
            self.doc.position_at(self.offset + replace_after),
            replaced=self.doc.text[self.offset : self.offset + replace_after],
            indent=indentation(self.doc.line_text(cursor_line)),
        )


class Generation(Job):
    """One request's run of the model: made on the loop, called on the engine thread."""

    def __init__(
        self,
        doc: Document,
        snapshot: Snapshot,
        settings: Settings,
        stream: Stream | None,
        arrived: float,
        background: bool = False,
        alternatives: int = 1,
    ) -> None:
        super().__init__(doc)
        self.alternatives = alternatives
        self.snapshot = snapshot
        self.background = background
        """A prefetch: no editor is waiting for it."""
        self.settings = settings
        self.stream = stream
        self.flight = Flight(Anchor.of(snapshot.text, snapshot.offset))
        self.work: asyncio.Future[Completion] | None = None
        """Set once submitted to the engine worker; until then the request is waiting (debounce)."""
        self.arrived = arrived
        self.debounced_ms = 0.0
        self.submitted = 0.0
        self.begun = 0.0
        """When the engine thread began it (written there, read after `work` is done)."""

    def typed_along(self, text: str, offset: int) -> str | None:
        """What the user typed since this generation started, when it is what the generation writes."""
        if self.work is None or self.token.cancelled:
            return None
        return self.flight.continues(text, offset)

    async def debounce(self, delay_ms: float) -> bool:
        """Wait before running; False when an edit or a newer request cancelled it meanwhile."""
        if delay_ms:
            started = time.perf_counter()
            await asyncio.sleep(delay_ms / 1000)
            self.debounced_ms = (time.perf_counter() - started) * 1000
        return not self.token.cancelled

    def __call__(self, engine: Engine) -> Completion:
        """Engine thread."""
        self.begun = time.perf_counter()
        return complete(engine, self.snapshot, self.settings, self.token, self._on_text, self.alternatives)

    def _on_text(self, text: str) -> None:
        self.flight.produced = text  # a str assignment: the loop reads it without a lock
        if self.stream is not None:
            self.stream(text)

    def record(self, result: Completion) -> RequestRecord:
        stats = result.stats
        total_ms = (time.perf_counter() - self.arrived) * 1000
        wait_ms = round((self.begun - self.submitted) * 1000, 2)
        return RequestRecord(
            uri=self.snapshot.uri,
            invoked=self.snapshot.invoked,
            mode=result.plan.mode.value,
            unit=result.plan.unit.value,
            prompt_tokens=stats.prompt_tokens,
            reused_tokens=stats.reused_tokens,
            evaluated_tokens=stats.evaluated_tokens,
            generated_tokens=stats.generated_tokens,
            prompt_ms=round(stats.prompt_ms, 2),
            first_token_ms=round(stats.first_token_ms, 2),
            queued_ms=round((self.begun - self.arrived) * 1000, 2),
            wait_ms=wait_ms,
            engine_ms=round(stats.total_ms, 2),
            plan_ms=result.plan_ms,
            post_ms=result.post_ms,
            total_ms=round(total_ms, 2),
            overhead_ms=round(total_ms - stats.total_ms - wait_ms - self.debounced_ms, 2),
            stop_reason="cancelled" if self.token.cancelled else stats.stop_reason,
        )


@dataclass
class DocumentState:
    """What the requests of one open document remember between requests."""

    edited: float = 0.0
    """`time.monotonic()` of the last open or edit: orders the cross-file chunks."""
    typing: TypingRate = field(default_factory=TypingRate)
    shown: Shown | None = None
    """The last suggestion answered, for type-through."""
    sticky_start: int | None = None
    """Where the last prompt window started; kept while it fits so the KV cache stays valid."""
    sticky: Sticky | None = None
    """What the last prompt was built from (window start, head start, cross-file chunks)."""
    prefetched: Prefetched | None = None
    """The suggestion computed after an accept, before the editor asked (see prefetch.py)."""


class Requests:
    """The completion requests of every open document (event loop)."""

    def __init__(
        self,
        documents: DocumentStore,
        workers: Workers,
        tell: Tell,
        stream: StreamFactory,
        repository: Callable[[Snapshot], tuple[Chunk, ...]] | None = None,
    ) -> None:
        self._documents = documents
        self._repository = repository
        """The workspace definitions a snapshot's cursor needs (`workspace/context.py`)."""
        self._workers = workers
        self._tell = tell
        self._stream = stream
        self._states: dict[str, DocumentState] = {}
        self._jobs: Jobs[Generation] = Jobs()
        """The request in flight of each document (waiting or generating)."""
        self.log = RequestLog()
        self._warming = CancelToken()
        self._prefetches: set[asyncio.Task[None]] = set()
        self.on_request: Callable[[], None] | None = None
        """Called when a request is about to need the engine (next edits step aside for it)."""

    def _worker_for(self, doc: Document) -> EngineWorker:
        return self._workers(doc.language.name if doc.language is not None else None)

    def busy(self) -> bool:
        """A request is in flight (waiting or generating), for any document."""
        return bool(self._jobs.items())

    def running(self, uri: str) -> Generation | None:
        """The request in flight for this document, waiting or generating."""
        return self._jobs.running(uri)

    def _state(self, uri: str) -> DocumentState:
        state = self._states.get(uri)
        if state is None:
            state = self._states[uri] = DocumentState()
        return state

    # -- document events ----------------------------------------------------------

    def opened(self, uri: str) -> None:
        self._state(uri).edited = time.monotonic()

    def keystroke(self, uri: str) -> None:
        """Before a didChange is applied: it counts for the typing rate even when it fails."""
        if uri in self._documents:
            state = self._state(uri)
            state.edited = time.monotonic()
            state.typing.keystroke(state.edited)

    def changed(self, doc: Document, settings: Settings | None = None) -> None:
        state = self._state(doc.uri)
        running = self._jobs.running(doc.uri)
        # The request in flight is for text that no longer exists, unless the user is
        # typing exactly what it is generating: the next request will follow it.
        if running is not None:
            cursor = len(doc.text) - running.flight.anchor.suffix[1]  # as if only typed at its cursor
            if running.flight.continues(doc.text, cursor) is None:
                self._jobs.cancel(doc.uri, EDITED)
        if settings is not None and settings.prefetch:
            self._prefetch_if_accepted(doc, state, settings)

    def _prefetch_if_accepted(self, doc: Document, state: DocumentState, settings: Settings) -> None:
        """After an edit that accepted the suggestion on screen, compute the next one now."""
        cursor = accepted_at(state.shown, doc.text) if state.shown is not None else None
        if cursor is None:
            return
        state.shown = None
        line, character = doc.position_at(cursor)

        async def run() -> None:
            found = await self.suggest(
                doc.uri, types.Position(line, character), settings, invoked=False, background=True
            )
            shown = state.shown
            if found is not None and shown is not None and shown.anchor.offset == cursor:
                state.prefetched = Prefetched(shown.anchor, shown.text, shown.replace_after)

        task = asyncio.ensure_future(run())
        self._prefetches.add(task)  # a reference, so the task is not collected while it runs
        task.add_done_callback(self._prefetches.discard)

    def closed(self, uri: str) -> None:
        self._states.pop(uri, None)
        self._jobs.cancel(uri, CLOSED)

    def cancel_all(self) -> None:
        self._jobs.cancel_all(STOPPED)

    # -- a request ----------------------------------------------------------------

    async def suggest(
        self,
        uri: str,
        position: types.Position,
        settings: Settings,
        *,
        invoked: bool,
        with_word: bool = False,
        progress_token: types.ProgressToken | None = None,
        background: bool = False,
        alternatives: int = 1,
    ) -> Suggestion | None:
        """`background`: a prefetch, run at once (an accept is no keystroke to debounce) and
        cancelled by a request for any document. `alternatives`: the most suggestions wanted; above 1,
        the model runs even where the suggestion on screen or a prefetched one could answer."""
        arrived = time.perf_counter()
        answer = self._answer_for(uri, position, settings, with_word)
        if answer is None:
            return None
        self._warming.cancel()  # the engine is wanted for this request
        if self.on_request is not None:
            self.on_request()
        if not background:
            for other, waiting in self._jobs.items():
                if other != uri and waiting.background:
                    self._jobs.cancel(other, NEWER)  # a prefetch elsewhere must not make this request wait
        state = self._state(uri)
        running = self._jobs.running(uri)
        typed = running.typed_along(answer.doc.text, answer.offset) if running is not None else None
        if running is not None and typed is not None and running.alternatives >= alternatives:
            running.background = False  # an editor waits for it now
            return await self._follow(state, running, typed, answer, arrived)
        self._jobs.cancel(uri, NEWER)
        prefetched, state.prefetched = state.prefetched, None
        ready = prefetched.answer(answer.doc.text, answer.offset) if prefetched is not None else None
        if prefetched is not None and ready is not None and alternatives == 1:
            self.log.add(CacheHit(uri, "prefetch", _ms_since(arrived)))
            return answer.make(ready, prefetched.replace_after)
        shown = state.shown
        rest = shown.rest_after(answer.doc.text, answer.offset) if shown is not None else None
        if shown is not None and rest is not None and alternatives == 1:
            # The user typed the beginning of the suggestion on screen: the rest, no model work.
            self.log.add(CacheHit(uri, "type_through", _ms_since(arrived)))
            return answer.make(rest, shown.replace_after)
        stream = self._stream(uri, position, progress_token, settings)
        try:
            return await self._generate(state, answer, settings, invoked, stream, arrived, background, alternatives)
        finally:
            if stream is not None:
                stream(None)

    def _answer_for(self, uri: str, position: types.Position, settings: Settings, with_word: bool) -> Answer | None:
        """Where the answer goes; None (and the user told, or the log) when there is nothing to do."""
        if not settings.enabled:
            return None
        try:
            doc = self._documents.get(uri)
        except UnknownDocument as exc:
            self._tell(f"{exc}; send textDocument/didOpen first", types.MessageType.Warning)
            return None
        if doc.skip_reason:
            log.info("not completing %s: %s", uri, doc.skip_reason)
            return None
        try:
            offset = doc.offset_at(position.line, position.character)
        except PositionError as exc:
            log.warning("completion at an invalid position in %s: %s", uri, exc)
            return None
        if self._worker_for(doc).state is not EngineState.READY:
            return None
        return Answer(doc, offset, with_word)

    async def _follow(
        self, state: DocumentState, running: Generation, typed: str, answer: Answer, arrived: float
    ) -> Suggestion | None:
        """Wait for the generation the user is typing along with, and answer what they have not typed yet."""
        assert running.work is not None
        version = answer.doc.version
        try:
            result = await asyncio.shield(running.work)
        except asyncio.CancelledError:
            raise
        except Exception:
            return None
        if not still_current(self._documents, answer.doc, version) or running.token.cancelled:
            return None
        if not result.text.startswith(typed) or len(result.text) <= len(typed):
            return None
        self.log.add(CacheHit(answer.doc.uri, "in_flight", _ms_since(arrived)))
        rest = result.text[len(typed) :]
        state.shown = Shown(Anchor.of(answer.doc.text, answer.offset), rest, result.replace_after)
        return answer.make(rest, result.replace_after)

    async def _generate(
        self,
        state: DocumentState,
        answer: Answer,
        settings: Settings,
        invoked: bool,
        stream: Stream | None,
        arrived: float,
        background: bool = False,
        alternatives: int = 1,
    ) -> Suggestion | None:
        doc = answer.doc
        delay_ms = 0.0 if background else self._delay_ms(state, settings, invoked)
        run: Generation | None = None
        try:
            # The snapshot (and the tree's incremental re-parse it needs) is taken before the
            # debounce, so that work overlaps the wait; a keystroke during the wait cancels it all.
            snapshot = snapshot_of(
                doc,
                answer.offset,
                invoked=invoked,
                others=self._others(doc),
                sticky_start=state.sticky_start,
                sticky=state.sticky,
            )
            if self._repository is not None and settings.repository_context:
                snapshot = dataclasses.replace(snapshot, repository=self._repository(snapshot))
            if not context_refresh_affordable(self.log.prompt_speed()):
                snapshot = dataclasses.replace(snapshot, refresh_context=False)
            run = self._jobs.start(Generation(doc, snapshot, settings, stream, arrived, background, alternatives))
            if not await run.debounce(delay_ms) or not run.still_current(self._documents):
                return None
            run.submitted = time.perf_counter()
            worker = self._worker_for(doc)
            work = run.work = asyncio.ensure_future(worker.run(run))
            # Recorded when the worker finishes, also for a request that was cancelled meanwhile.
            work.add_done_callback(functools.partial(self._record, run))
            result = await asyncio.shield(work)
        except asyncio.CancelledError:
            if run is not None:
                run.token.cancel()  # $/cancelRequest: the worker stops at its next check
            raise
        except Exception as exc:
            log.exception("completion failed")
            self._tell(f"completion failed: {exc}", types.MessageType.Error)
            return None
        finally:
            if run is not None:
                self._jobs.finish(run)
        if not result.plan.skip:
            state.sticky_start = result.plan.window.start
        if result.plan.sticky is not None:
            state.sticky = result.plan.sticky
        if run.token.cancelled:
            return None
        # Also after an empty answer: the engine is idle until the next request either way.
        self._warm(worker, doc.uri, result)
        if not result.text or not run.still_current(self._documents):
            return None
        state.shown = Shown(run.flight.anchor, result.text, result.replace_after)
        others = tuple(answer.make(other.text, other.replace_after) for other in result.alternatives)
        return dataclasses.replace(answer.make(result.text, result.replace_after), alternatives=others)

    def _warm(self, worker: EngineWorker, uri: str, result: Completion) -> None:
        """While the user reads the suggestion, the engine evaluates the lines of the window it does
        not hold yet, so a move to one of them is cheap (`LlamaEngine.warm`); the next request stops it."""
        token = self._warming = CancelToken()

        def work(engine: Engine) -> None:
            if engine.warms and not token.cancelled:
                body = result.plan.body_tokens(vocab_of(engine))
                if body:
                    engine.warm(body, uri, token)

        def done(future: asyncio.Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.warning("warming the KV cache failed: %s", future.exception())

        asyncio.ensure_future(worker.run(work)).add_done_callback(done)

    def _delay_ms(self, state: DocumentState, settings: Settings, invoked: bool) -> float:
        if invoked:
            return 0.0
        if settings.debounce_ms < 0:
            return state.typing.debounce_ms(time.monotonic())
        return float(settings.debounce_ms)

    def _others(self, doc: Document) -> list[OtherDocument]:
        """Other open documents of the same language, most recently edited first."""
        same = [
            other
            for other in self._documents
            if other is not doc and other.language_id == doc.language_id and not other.skip_reason
        ]
        same.sort(key=lambda other: self._states[other.uri].edited if other.uri in self._states else 0.0, reverse=True)
        return [OtherDocument(other.uri, other.text) for other in same]

    def _record(self, run: Generation, done: asyncio.Future[Completion]) -> None:
        if not done.cancelled() and done.exception() is None:
            self.log.add(run.record(done.result()))


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
