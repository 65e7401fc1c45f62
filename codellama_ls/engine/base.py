"""The contract between the completion pipeline and whatever runs the model.

The whole contract is the `Engine` Protocol below (its model's `info`, `tokenize`, `token_text`,
`piece`, `generate` taking one `GenerationRequest` and returning a `PieceStream` that carries its own
stats, `close`, and two optional abilities it declares: `warms` and `branches`); `ScriptedEngine`
implements it for tests, `LlamaEngine` with llama.cpp in process, `SharedEngine` with the per-user engine process,
`RemoteEngine` with a llama-server or an OpenAI-compatible server. Each writes `_generate(request,
stats)` under `Generates`. An engine is used from one thread at a time (the engine worker); nothing
here is thread-safe by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Protocol

from codellama_ls.prompts.fim import FimTokens, Vocab


class EngineError(RuntimeError):
    """A problem with the model that the user must fix (missing file, corrupt GGUF, ...).

    ``path`` names the model file when the problem is its content: the worker watches that file
    and tries again once it changes (a model still being copied into place, say)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class ModelInfo:
    path: str
    name: str
    n_ctx: int
    n_vocab: int
    gpu_layers: int
    fim: FimTokens | None
    bos: int | None
    adds_space_prefix: bool
    end_tokens: frozenset[int] = frozenset()
    """Tokens that end generation: EOS/EOG and the FIM end-of-middle token."""
    eos: int | None = None
    chat_template: str | None = None
    """The GGUF's `tokenizer.chat_template` (Jinja), when it has one."""
    metadata_name: str = ""
    """`general.name` as the GGUF says it (`name` falls back to the file name, which proves nothing)."""
    where: str = "in this process"
    """Where completions are computed (`codellama/status`, the log)."""
    healing: bool = True
    """Whether the engine can constrain the first token (token healing); else `auto` uses PSM inside a word."""
    threads: int = 0
    """CPU threads llama.cpp decodes with where completions are computed (0: not known here, e.g. remote)."""
    threads_reason: str = ""
    """Why that count: the `n_threads` setting, or the physical cores found."""


@dataclass(frozen=True)
class Sampling:
    max_tokens: int = 128
    temperature: float = 0.0
    top_k: int = 40
    top_p: float = 0.95
    draft_tokens: int = 0
    """Greedy decoding only: most tokens drafted by prompt lookup and verified in one batch; 0 disables."""


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    prompt_ms: float = 0.0
    first_token_ms: float = 0.0
    total_ms: float = 0.0
    stop_reason: str = ""
    drafted_tokens: int = 0
    """Speculative decoding: tokens guessed by prompt lookup, and how many of them the model agreed with."""
    accepted_tokens: int = 0
    logprob: float = 0.0
    """The model's log-likelihood (natural log) of the tokens taken, where the engine knows it (greedy
    decoding in llama.cpp; a scripted engine's script): ranks alternatives (`generate_alternatives`)."""


Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class TextEnd:
    """Where a suggestion's text is certainly finished, as data (it crosses the shared engine's wire):
    an engine stops decoding an alternative's branch there instead of giving it a row in every step
    until the first generation ends. A narrow copy of the consumer's stop rules (the completion
    `Stopper`; its test holds the two together) that may say "not yet" where they stop, never "done"
    where they would go on. `done` reads the suggestion's text, after the token-healing constraint."""

    line: bool = False
    """A line unit: done at its first newline."""
    below: bool = False
    """A line unit at the end of its line, which may start with a newline: done at a newline after
    non-blank text, or at the third newline (two blank lines)."""
    block: bool = False
    """A block unit: done at two blank lines, and by the two rules below."""
    lines: int = 0
    """A block: done with this many complete lines (0: never by its length)."""
    base_indent: str = ""
    """A block: done at a non-blank line after its first that is indented less than this (one still
    being written included: its indentation is known); a `#` line excepted (C's directives stay)."""

    def done(self, text: str) -> bool:
        if self.line:
            if not self.below:
                return "\n" in text
            return "\n" in text.lstrip() or text.count("\n") >= 3
        if not self.block:
            return False
        lines = text.split("\n")
        if self.lines and len(lines) - 1 >= self.lines:
            return True
        base = _columns(self.base_indent)
        blank_run = 0
        for index, line in enumerate(lines[1:], start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#") and _columns(line) < base:
                return True
            if index < len(lines) - 1:
                blank_run = 0 if stripped else blank_run + 1
                if blank_run >= 2:
                    return True
        return False


NEVER_ENDS = TextEnd()
"""No rule: a branch goes on until its end token or the token limit."""


def _columns(line: str, tab_size: int = 4) -> int:
    """The width of a line's indentation, a tab counted as `tab_size` columns."""
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return sum(tab_size if ch == "\t" else 1 for ch in indent)


def never() -> bool:
    """A cancel check for work nobody cancels (tests, benchmarks, the command line)."""
    return False


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: everything `Engine.generate` is asked."""

    prompt: list[int]
    sampling: Sampling = Sampling()
    cancelled: Cancelled = never
    """Checked before every decode step (and inside a prompt's evaluation where the engine can)."""
    constraint: str = ""
    """Token healing: the first tokens must spell this out; each one's text is a prefix of what is
    left of it, or starts with all of it."""
    key: str = ""
    """The document, so an engine can keep a KV cache per document."""
    alternatives: int = 1
    """The most streams `Engine.generate_alternatives` yields (the first included); `generate` yields one."""
    end: TextEnd = NEVER_ENDS
    """Where an alternative is finished by the consumer's stop rules: its branch decodes no further."""
    alternatives_share: float = 0.5
    """The alternatives' time, all together, as a share of the first generation's own: a request with
    alternatives takes at most about 1 + this times one suggestion."""


Progress = Callable[[str, int, int | None], None]
"""(message, done, total) while the model downloads or loads; total None when unknown."""


class PieceStream:
    """What `Engine.generate` returns: the text pieces as they are decoded, and this generation's
    stats, final once the pieces end or the stream is closed (closing early stops the generation)."""

    def __init__(self, pieces: Generator[str, None, None], stats: GenerationStats) -> None:
        self._pieces = pieces
        self.stats = stats

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        self._pieces.close()


class Engine(Protocol):
    warms: bool
    """The optional ability to evaluate a window's body ahead of a cursor move (`warm`); an engine
    without it has a `warm` that does nothing."""

    branches: bool
    """The optional ability to decode other suggestions from the same prompt evaluation
    (`generate_alternatives`); an engine without it yields its one generation."""

    @property
    def info(self) -> ModelInfo: ...

    def tokenize(self, text: str) -> list[int]:
        """Tokens of `text` without BOS, with the implicit leading space if the vocab adds one."""
        ...

    def tokenize_special(self, text: str) -> list[int]:
        """As `tokenize`, with special-token texts ("<|im_start|>") read as those tokens."""
        ...

    def token_text(self, token: int) -> str:
        """How a token reads in a displayed prompt (special tokens by name)."""
        ...

    def piece(self, token: int) -> str:
        """The text a token adds to generated output (special tokens add nothing)."""
        ...

    def generate(self, request: GenerationRequest) -> PieceStream:
        """Decoded text pieces, one per sampled token, until an end token, the token limit, or
        `request.cancelled()` turns true; the first ones spell out `request.constraint`."""
        ...

    def generate_alternatives(self, request: GenerationRequest) -> Iterator[PieceStream]:
        """`generate`'s stream, then (with `branches`) up to `request.alternatives - 1` others of the
        same prompt, with no second prompt evaluation: each takes the first one's tokens up to a place
        where the model gave another token a high likelihood, that token, then greedy decoding. Every
        stream spells its whole text from the start; each must end or be closed before the next is
        taken; their stats carry `logprob`."""
        ...

    def warm(self, body: list[int], key: str, cancelled: Cancelled) -> int:
        """While idle, evaluate `body` (the `[BOS, PRE]` + lines of `key`'s window) so that a later
        prompt starting with it is cheap; returns the tokens evaluated (0 without `warms`)."""
        ...

    def close(self) -> None: ...


class NoWarming:
    """For an engine without a KV body of its own to warm."""

    warms = False

    def warm(self, body: list[int], key: str, cancelled: Cancelled) -> int:
        return 0


class OneGeneration:
    """For an engine that cannot branch a generation: its alternatives are its one generation."""

    branches = False

    def generate_alternatives(self: Engine, request: GenerationRequest) -> Iterator[PieceStream]:
        yield self.generate(request)


def vocab_of(engine: Engine) -> Vocab:
    info = engine.info
    return Vocab(
        encode=engine.tokenize,
        bos=info.bos,
        fim=info.fim,
        adds_space_prefix=info.adds_space_prefix,
        piece=engine.piece,
        n_vocab=info.n_vocab,
        healing=info.healing,
    )


class Generates:
    """`generate` for an engine that writes `_generate(request, stats)`: fresh stats per request,
    carried by the stream; `last_stats` keeps the last one for the engine's own figures (benchmarks)."""

    _stats: GenerationStats

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    def generate(self, request: GenerationRequest) -> PieceStream:
        stats = self._stats = GenerationStats(prompt_tokens=len(request.prompt))
        return PieceStream(self._run(request, stats), stats)

    def _run(self, request: GenerationRequest, stats: GenerationStats) -> Generator[str, None, None]:
        yield from self._generate(request, stats)

    def _generate(self, request: GenerationRequest, stats: GenerationStats) -> Iterator[str]:
        raise NotImplementedError


class TimedGeneration(Generates):
    """`Generates`, with the stats' total time set however the generation ends (done, cancelled,
    closed early, failed)."""

    def _run(self, request: GenerationRequest, stats: GenerationStats) -> Generator[str, None, None]:
        started = time.perf_counter()
        try:
            yield from self._generate(request, stats)
        finally:
            stats.total_ms = (time.perf_counter() - started) * 1000


class Vocabulary(Protocol):
    """A model's tokenizer without its weights: what an engine that generates elsewhere builds prompts with."""

    info: ModelInfo

    def tokenize(self, text: str) -> list[int]: ...

    def tokenize_special(self, text: str) -> list[int]: ...

    def piece_bytes(self, token: int) -> bytes: ...

    def token_text(self, token: int) -> str: ...

    def close(self) -> None: ...


class GeneratesElsewhere:
    """The `Engine` members an engine whose model runs in another process (the shared engine, a remote
    server) answers from its local vocabulary and its own bookkeeping; it adds `generate` and `close`."""

    _vocab: Vocabulary
    _info: ModelInfo

    @property
    def info(self) -> ModelInfo:
        return self._info

    def tokenize(self, text: str) -> list[int]:
        return self._vocab.tokenize(text)

    def tokenize_special(self, text: str) -> list[int]:
        return self._vocab.tokenize_special(text)

    def token_text(self, token: int) -> str:
        return self._vocab.token_text(token)

    def piece(self, token: int) -> str:
        return self._vocab.piece_bytes(token).decode("utf-8", "replace")
