"""Next-edit requests on the loop, with the scripted engine on the real engine thread: the edit on
the next use, versions, newest wins, completions first, verdicts, the inline path.

The engine writes one piece each time the test steps it; the test waits for conditions, not durations.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Generator

import pytest
from lsprotocol import types

from codellama_ls.documents.document import DocumentStore
from codellama_ls.engine.base import GenerationRequest, PieceStream
from codellama_ls.engine.scripted import ScriptedEngine, ScriptedPrompt
from codellama_ls.engine.worker import EngineState, EngineWorker
from codellama_ls.nextedit.history import EditKind
from codellama_ls.nextedit.requests import NextEdits, Offered
from codellama_ls.settings.config import Settings

URI = "file:///w/calc.py"
SETTINGS = Settings(next_edit=True, next_edit_region_lines=15)
OLD = "def total(prices, rate):\n    subtotal = sum(prices)\n    return subtotal * rate\n"
RENAMED = OLD.replace("(prices, rate)", "(prices, tax_rate)")
PREDICTED = RENAMED.replace("* rate", "* tax_rate")


def rewrite(prompt: ScriptedPrompt) -> str:
    """A model that has learnt the trick: after a rename in the history, the region renamed throughout."""
    if "+def total(prices, tax_rate):" in prompt.prefix:
        return PREDICTED
    return OLD


class SteppedEngine(ScriptedEngine):
    """Writes its pieces only as the test steps it (`free` lets every later generation run)."""

    def __init__(self, script: str | object = rewrite) -> None:
        super().__init__(script, chunk=8)  # type: ignore[arg-type]
        self._steps = threading.Semaphore(0)
        self.free = False

    def step(self, pieces: int = 1) -> None:
        for _ in range(pieces):
            self._steps.release()

    def generate(self, request: GenerationRequest) -> PieceStream:
        stream = super().generate(request)

        def stepped() -> Generator[str, None, None]:
            try:
                for piece in stream:
                    if not self.free:
                        self._steps.acquire()
                    yield piece
            finally:
                stream.close()

        return PieceStream(stepped(), stream.stats)


class Harness:
    def __init__(self) -> None:
        self.engine = SteppedEngine()
        self.documents = DocumentStore()
        self.worker = EngineWorker(lambda settings, progress: self.engine)
        self.told: list[str] = []
        self.busy = False
        self.next_edits = NextEdits(
            self.documents, lambda language: self.worker, self.told.append, lambda: self.busy, lambda uri: "calc.py"
        )
        self.version = 1

    def open(self, text: str) -> None:
        self.documents.open(URI, "python", self.version, text)

    def replace(self, old: str, new: str, settings: Settings = SETTINGS) -> None:
        """A didChange writing `new` over the first `old`, one character at a time, as the session applies it."""
        doc = self.documents.get(URI)
        at = doc.text.index(old)
        for i in range(len(old)):  # delete backwards
            self._splice(at + len(old) - 1 - i, at + len(old) - i, "", settings)
        for i, ch in enumerate(new):
            self._splice(at + i, at + i, ch, settings)

    def _splice(self, start: int, end: int, text: str, settings: Settings) -> None:
        doc = self.documents.get(URI)
        before = doc.text
        s, e = doc.position_at(start), doc.position_at(end)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(*s), types.Position(*e)), text=text
        )
        self.version += 1
        self.documents.change(URI, self.version, [change])
        self.next_edits.changed(URI, before, doc, [text], settings)

    def request(
        self, line: int = 0, character: int = 0, version: int | None = None, settings: Settings = SETTINGS
    ) -> asyncio.Task[list[Offered]]:
        return asyncio.ensure_future(self.next_edits.request(URI, version, line, character, settings))


async def until(condition: object) -> None:
    for _ in range(2000):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.worker.load(SETTINGS, lambda message, done, total: None)
    assert harness.worker.state is EngineState.READY
    yield harness
    harness.engine.free = True
    harness.engine.step(1000)
    harness.next_edits.cancel_all()
    harness.worker.close()


def applied(text: str, edits: list[Offered]) -> str:
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


async def test_after_a_rename_the_next_use_is_proposed(h: Harness) -> None:
    h.open(OLD)
    h.replace("rate)", "tax_rate)")
    assert [hk.kind for hk in h.next_edits.history.hunks()] == [EditKind.TYPED]  # one hunk, however typed
    h.engine.free = True
    edits = await h.request(0, 26, version=h.version)
    assert [(e.start, e.end, e.text, e.version) for e in edits] == [
        (RENAMED.index("rate\n"), RENAMED.index("rate\n"), "tax_", h.version)
    ]
    assert applied(RENAMED, edits) == PREDICTED
    assert edits[0].id.startswith("ne") and h.next_edits.last["edits"] == 1


@pytest.mark.parametrize(
    ("settings", "version_offset", "why"),
    [(Settings(next_edit=False), 0, "off"), (SETTINGS, -1, "an older version"), (SETTINGS, 1, "a newer version")],
)
async def test_nothing_when_off_or_for_another_version(
    h: Harness, settings: Settings, version_offset: int, why: str
) -> None:
    h.open(OLD)
    h.replace("rate)", "tax_rate)")
    h.engine.free = True
    assert await h.request(0, 26, version=h.version + version_offset, settings=settings) == [], why


async def test_an_edit_while_the_model_writes_drops_the_answer(h: Harness) -> None:
    h.open(OLD)
    h.replace("rate)", "tax_rate)")
    task = h.request(0, 26)
    await until(lambda: len(h.engine.prompts) == 1)
    h._splice(0, 0, "#", SETTINGS)  # the document moves on
    h.engine.step(1000)
    assert await task == []


async def test_the_newest_request_wins(h: Harness) -> None:
    h.open(OLD)
    h.replace("rate)", "tax_rate)")
    first = h.request(0, 26)
    await until(lambda: len(h.engine.prompts) == 1)
    second = h.request(0, 26)
    h.engine.free = True
    h.engine.step(1000)
    assert await first == []
    assert [e.text for e in await second] == ["tax_"]


async def test_it_waits_while_a_completion_is_in_flight_and_stops_for_one(h: Harness) -> None:
    h.open(OLD)
    h.replace("rate)", "tax_rate)")
    h.busy = True
    task = h.request(0, 26)
    await asyncio.sleep(0.05)
    assert h.engine.prompts == []  # waiting: the completion goes first
    h.busy = False
    await until(lambda: len(h.engine.prompts) == 1)
    h.busy = True
    h.next_edits.preempt()  # a completion request arrives while the model writes
    h.engine.step(1000)
    await asyncio.sleep(0.05)
    assert len(h.engine.prompts) == 1 and not task.done()
    h.busy = False
    h.engine.free = True
    h.engine.step(1000)
    assert [e.text for e in await task] == ["tax_"]
    assert len(h.engine.prompts) == 2  # run again after the completion


async def test_a_rejected_edit_is_not_offered_again_and_an_accepted_one_is_recorded(h: Harness) -> None:
    h.open(OLD)
    h.replace("rate)", "tax_rate)")
    h.engine.free = True
    [edit] = await h.request(0, 26)
    h.next_edits.verdict("shown", edit.id)
    h.next_edits.verdict("rejected", edit.id)
    assert await h.request(0, 26) == []
    assert h.next_edits.counts["rejected"] == 1 and h.next_edits.counts["dropped"] == 1
    h.next_edits.verdict("accepted", edit.id)
    h._splice(edit.start, edit.end, edit.text, SETTINGS)
    assert h.next_edits.history.hunks()[-1].kind is EditKind.ACCEPTED
    h.next_edits.verdict("accepted", "no such id")  # logged, nothing else


async def test_a_prediction_that_undoes_the_rename_is_dropped(h: Harness) -> None:
    h.open(OLD)
    h.replace("rate)", "tax_rate)")
    h.engine.free = True
    h.engine._script = lambda prompt: OLD  # the model "fixes" the new name back
    assert await h.request(0, 26) == []
    assert h.next_edits.last["dropped"] == "the prediction undoes the last edit"


async def test_a_ready_edit_on_the_cursor_line_is_an_inline_item(h: Harness) -> None:
    h.open(OLD)
    h.replace("rate)", "tax_rate)")
    h.engine.free = True
    [edit] = await h.request(0, 26)
    doc = h.documents.get(URI)
    line_start = RENAMED.index("    return")
    assert h.next_edits.inline_edit(doc, line_start) == (line_start, edit.end, "    return subtotal * tax_")
    assert h.next_edits.inline_edit(doc, 5) is None  # another line
    h._splice(0, 0, "#", SETTINGS)
    assert h.next_edits.inline_edit(doc, line_start + 1) is None  # the document moved on
