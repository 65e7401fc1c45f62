"""The request lifecycle's reuse paths with the scripted engine on the real engine thread.

No timing: the engine writes one piece each time the test steps it, and the test
waits for conditions, not for durations.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Generator

import pytest
from lsprotocol import types

from codellama_ls.completion.lifecycle import Requests, Suggestion
from codellama_ls.completion.records import RequestRecord
from codellama_ls.documents.document import DocumentStore
from codellama_ls.engine.base import Cancelled, GenerationRequest, PieceStream
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.engine.worker import EngineState, EngineWorker
from codellama_ls.settings.config import Settings

URI = "file:///tmp/example.py"
SETTINGS = Settings(syntax_check=False, debounce_ms=0)


class SteppedEngine(ScriptedEngine):
    """Writes its next piece only when the test calls `step`."""

    def __init__(self, output: str) -> None:
        super().__init__(output)
        self._steps = threading.Semaphore(0)

    def step(self, pieces: int = 1) -> None:
        for _ in range(pieces):
            self._steps.release()

    def generate(self, request: GenerationRequest) -> PieceStream:
        stream = super().generate(request)

        def stepped() -> Generator[str, None, None]:
            try:
                for piece in stream:
                    self._steps.acquire()
                    yield piece
            finally:
                stream.close()

        return PieceStream(stepped(), stream.stats)


class Harness:
    def __init__(self, engine: ScriptedEngine) -> None:
        self.engine = engine
        self.documents = DocumentStore()
        self.worker = EngineWorker(lambda settings, progress: engine)
        self.told: list[str] = []
        self.requests = Requests(self.documents, lambda language: self.worker, self._tell, lambda *args: None)
        self.version = 1

    def _tell(self, message: str, kind: types.MessageType) -> None:
        self.told.append(message)

    def open(self, text: str) -> None:
        self.documents.open(URI, "python", self.version, text)
        self.requests.opened(URI)

    def type(self, line: int, character: int, text: str) -> None:
        """A didChange inserting `text`, as `Session.change` applies it."""
        self.version += 1
        position = types.Position(line, character)
        change = types.TextDocumentContentChangePartial(range=types.Range(position, position), text=text)
        self.requests.keystroke(URI)
        self.requests.changed(self.documents.change(URI, self.version, [change]))

    def suggest(self, line: int, character: int, invoked: bool = True) -> asyncio.Task[Suggestion | None]:
        position = types.Position(line, character)
        return asyncio.ensure_future(self.requests.suggest(URI, position, SETTINGS, invoked=invoked))

    def produced(self) -> str:
        running = self.requests.running(URI)
        return running.flight.produced if running is not None else ""

    def model_runs(self) -> list[RequestRecord]:
        return [r for r in self.requests.log.recent if isinstance(r, RequestRecord)]


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop and the engine thread run until `condition` holds (a hang fails, not a slow machine)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


MakeHarness = Callable[[str], Awaitable[Harness]]


@pytest.fixture
async def harness() -> AsyncIterator[MakeHarness]:
    made: list[Harness] = []

    async def make(output: str) -> Harness:
        h = Harness(SteppedEngine(output))
        await h.worker.load(SETTINGS, lambda message, done, total: None)
        assert h.worker.state is EngineState.READY
        made.append(h)
        return h

    yield make
    for h in made:
        assert isinstance(h.engine, SteppedEngine)
        h.engine.step(1000)  # nothing left blocked on the engine thread
        h.requests.cancel_all()
        h.worker.close()


def texts(suggestion: Suggestion | None) -> str | None:
    return suggestion.text if suggestion is not None else None


async def test_type_through_answers_the_rest_without_the_model(harness: MakeHarness) -> None:
    h = await harness("abcdef")
    h.open("value = \n")
    first = h.suggest(0, 8)
    h.engine.step(1000)
    assert texts(await first) == "abcdef"
    h.type(0, 8, "ab")
    second = await h.suggest(0, 10)
    assert second == Suggestion("cdef", (0, 10), (0, 10))
    h.type(0, 10, "x")  # not what was shown: the model runs again
    third = h.suggest(0, 11)
    h.engine.step(1000)
    assert texts(await third) == "abcdef"
    assert h.requests.log.cache_hits == {"type_through": 1}
    assert len(h.engine.prompts) == 2


async def test_typing_along_with_a_generation_follows_it(harness: MakeHarness) -> None:
    h = await harness("abcdef")
    h.open("value = \n")
    first = h.suggest(0, 8)
    h.engine.step(3)
    await until(lambda: h.produced() == "abc")
    h.type(0, 8, "ab")  # what the model is writing: the generation goes on
    second = h.suggest(0, 10)
    await asyncio.sleep(0)
    assert not first.done() and not second.done()
    h.engine.step(1000)
    assert texts(await second) == "cdef"
    assert await first is None  # its text no longer fits the document
    assert h.requests.log.cache_hits == {"in_flight": 1}
    assert len(h.engine.prompts) == 1
    # What the follower answered is on screen now: typing its beginning is a type-through.
    h.type(0, 10, "cd")
    assert texts(await h.suggest(0, 12)) == "ef"
    assert h.requests.log.cache_hits == {"in_flight": 1, "type_through": 1}


async def test_an_edit_that_differs_supersedes_the_generation(harness: MakeHarness) -> None:
    h = await harness("abc")
    h.open("value = \n")
    first = h.suggest(0, 8)
    h.engine.step(1)
    await until(lambda: h.produced() == "a")
    running = h.requests.running(URI)
    assert running is not None
    h.type(0, 8, "z")  # not what the model is writing
    assert running.token.cancelled
    second = h.suggest(0, 9)
    h.engine.step(1000)
    old, new = await asyncio.gather(first, second)
    assert old is None
    assert texts(new) == "abc"
    assert [r.stop_reason for r in h.model_runs()] == ["cancelled", "eot"]
    assert h.requests.log.cache_hits == {}


async def test_a_request_elsewhere_supersedes_and_close_cancels(harness: MakeHarness) -> None:
    h = await harness("abc")
    h.open("value = \nother = \n")
    first = h.suggest(0, 8)
    await until(lambda: h.requests.running(URI) is not None)
    running = h.requests.running(URI)
    assert running is not None
    second = h.suggest(1, 8)  # a newer request at another place: newest wins
    await until(lambda: h.requests.running(URI) is not running)
    assert running.token.cancelled
    newer = h.requests.running(URI)
    h.requests.closed(URI)
    assert newer is not None and newer.token.cancelled
    h.engine.step(1000)
    assert await asyncio.gather(first, second) == [None, None]
    assert [r.stop_reason for r in h.model_runs()] == ["cancelled", "cancelled"]


async def test_unknown_document_and_bad_position_answer_empty(harness: MakeHarness) -> None:
    h = await harness("abc")
    assert await h.suggest(0, 0) is None
    assert any("not open" in message for message in h.told)
    h.open("a\n")
    assert await h.suggest(5, 0) is None
    assert h.engine.prompts == []


async def test_cancel_request_stops_the_generation(harness: MakeHarness) -> None:
    h = await harness("abc")
    h.open("value = \n")
    first = h.suggest(0, 8)
    await until(lambda: h.requests.running(URI) is not None)
    running = h.requests.running(URI)
    assert running is not None
    first.cancel()  # what pygls does on $/cancelRequest
    with pytest.raises(asyncio.CancelledError):
        await first
    assert running.token.cancelled
    h.engine.step(1000)
    await until(lambda: len(h.model_runs()) == 1)
    assert h.model_runs()[0].stop_reason == "cancelled"


async def test_an_edit_during_the_debounce_cancels_before_the_model_runs(harness: MakeHarness) -> None:
    h = await harness("abc")
    h.open("value = \n")
    waiting = asyncio.ensure_future(
        h.requests.suggest(URI, types.Position(0, 8), Settings(syntax_check=False, debounce_ms=200), invoked=False)
    )
    await until(lambda: h.requests.running(URI) is not None)
    h.type(0, 8, "z")
    assert await waiting is None
    assert h.engine.prompts == [] and h.model_runs() == []


async def test_a_request_for_another_document_cancels_a_prefetch(harness: MakeHarness) -> None:
    h = await harness("abc")
    h.open("value = \n")
    other = "file:///tmp/other.py"
    h.documents.open(other, "python", 1, "x = \n")
    h.requests.opened(other)
    first = h.suggest(0, 8)
    h.engine.step(3)  # one piece per character, none left over for the prefetch
    assert texts(await first) == "abc"
    h.version += 1
    at = types.Position(0, 8)
    accept = types.TextDocumentContentChangePartial(range=types.Range(at, at), text="abc")
    h.requests.changed(h.documents.change(URI, h.version, [accept]), SETTINGS)  # the prefetch starts
    await until(lambda: h.requests.running(URI) is not None)
    prefetch = h.requests.running(URI)
    assert prefetch is not None and prefetch.background
    await until(lambda: prefetch.work is not None)  # no debounce: an accept is not a keystroke
    elsewhere = asyncio.ensure_future(h.requests.suggest(other, types.Position(0, 4), SETTINGS, invoked=True))
    await until(lambda: prefetch.token.cancelled)  # the user's request does not wait behind it
    h.engine.step(1000)
    assert texts(await elsewhere) == "abc"


async def test_the_engine_warms_after_an_empty_answer_too(harness: MakeHarness) -> None:
    # The user reads or types on either way; a move down after it should find the lines warm.
    h = await harness("")
    warmed: list[str] = []

    def warm(body: list[int], key: str, cancelled: Cancelled) -> int:
        warmed.append(key)
        return 0

    h.engine.warm = warm  # type: ignore[method-assign]
    h.engine.warms = True
    h.open("def f():\n    x = 1\n    \n")
    first = h.suggest(2, 4)
    h.engine.step(1000)
    assert await first is None
    await until(lambda: warmed == [URI])
