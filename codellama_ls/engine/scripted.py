"""An engine that answers from a script: the test double for the whole pipeline.

Its tokenizer is one token per character (code point + OFFSET), so a prompt
decodes back to the exact prefix and suffix the pipeline chose. A script may answer several
texts: the first is the generation, the others its alternatives (`generate_alternatives`), each
with the mean log-probability per token it is ranked by (listed order when not given).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass

from codellama_ls.engine.base import (
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    NoWarming,
    PieceStream,
    TimedGeneration,
)
from codellama_ls.prompts.fim import FimTokens

OFFSET = 16
BOS, EOS = 1, 2
EOT = 6
FIM = FimTokens(prefix=3, suffix=4, middle=5, end=EOT)
SPACE_PREFIX = " "


@dataclass(frozen=True)
class ScriptedPrompt:
    prefix: str
    suffix: str
    mode: str
    tokens: tuple[int, ...]
    chat: str = ""
    """A chat prompt's text, special tokens by name ("<s>[INST] ... [/INST]"); mode "chat"."""


Scripted = str | tuple[str, float]
Script = Callable[[ScriptedPrompt], str | list[Scripted]]


def _decode(tokens: list[int]) -> str:
    return "".join(chr(t - OFFSET) for t in tokens)


_SPECIAL_NAMES = {BOS: "<s>", EOS: "</s>", FIM.prefix: "<PRE>", FIM.suffix: "<SUF>", FIM.middle: "<MID>", EOT: "<EOT>"}


def render(tokens: Sequence[int]) -> str:
    return "".join(_SPECIAL_NAMES.get(t) or chr(t - OFFSET) for t in tokens)


def parse_prompt(tokens: list[int], adds_space_prefix: bool) -> ScriptedPrompt:
    body = tokens[1:] if tokens and tokens[0] == BOS else list(tokens)
    text = render(tokens)
    if "[/INST]" in text or "<|im_start|>" in text:
        return ScriptedPrompt("", "", "chat", tuple(tokens), chat=text)

    def strip_space(text: str) -> str:
        return text[1:] if adds_space_prefix and text.startswith(SPACE_PREFIX) else text

    if body[:2] == [FIM.prefix, FIM.suffix]:  # SPM
        middle = body.index(FIM.middle)
        suffix, prefix = _decode(body[2:middle]), strip_space(_decode(body[middle + 1 :]))
        return ScriptedPrompt(prefix, suffix, "spm", tuple(tokens))
    if body[:1] == [FIM.prefix]:
        cut, middle = body.index(FIM.suffix), body.index(FIM.middle)
        # LINE prompts carry the cursor line's head after <MID>; PSM prompts end there.
        head = _decode(body[middle + 1 :])
        prefix = strip_space(_decode(body[1:cut])) + head
        suffix = _decode(body[cut + 1 : middle])
        return ScriptedPrompt(prefix, suffix, "line" if head else "psm", tuple(tokens))
    return ScriptedPrompt(strip_space(_decode(body)), "", "none", tuple(tokens))


def _scripted(answer: str | list[Scripted]) -> list[tuple[str, float]]:
    """The texts a script answered, each with its mean log-probability per token."""
    if isinstance(answer, str):
        return [(answer, 0.0)]
    return [(item, -float(index)) if isinstance(item, str) else item for index, item in enumerate(answer)]


class ScriptedEngine(TimedGeneration, NoWarming):
    branches = True

    def __init__(
        self,
        script: Script | str | list[Scripted] = "",
        *,
        fim: bool = True,
        adds_space_prefix: bool = True,
        n_ctx: int = 4096,
        token_delay_s: float = 0.0,
        chunk: int = 1,
        chat_template: str | None = None,
        name: str = "scripted",
    ) -> None:
        if not callable(script):
            fixed = script

            def script(_prompt: ScriptedPrompt) -> str | list[Scripted]:
                return fixed

        self._script: Script = script
        self._adds_space_prefix = adds_space_prefix
        self._info = ModelInfo(
            path="<scripted>",
            name=name,
            n_ctx=n_ctx,
            n_vocab=0x110000 + OFFSET,
            gpu_layers=0,
            fim=FIM if fim else None,
            bos=BOS,
            adds_space_prefix=adds_space_prefix,
            end_tokens=frozenset({EOS, EOT}),
            eos=EOS,
            chat_template=chat_template,
            metadata_name=name,
        )
        self._stats = GenerationStats()
        self.token_delay_s = token_delay_s
        self.chunk = chunk
        self.prompts: list[ScriptedPrompt] = []
        self.last_constraint = ""

    @property
    def info(self) -> ModelInfo:
        return self._info

    def tokenize(self, text: str) -> list[int]:
        if self._adds_space_prefix and text:
            text = SPACE_PREFIX + text
        return [ord(ch) + OFFSET for ch in text]

    def tokenize_special(self, text: str) -> list[int]:
        """`<s>` and `</s>` are the BOS and EOS tokens; other text is characters, and, as llama.cpp
        does for SentencePiece vocabs, a text fragment at the start or after a special token gets
        the implicit leading space."""
        tokens: list[int] = []
        after_special = True
        for index, part in enumerate(text.replace("</s>", "\0E\0").replace("<s>", "\0B\0").split("\0")):
            if index % 2:
                tokens.append(BOS if part == "B" else EOS)
                after_special = True
            elif part:
                prefix = SPACE_PREFIX if self._adds_space_prefix and after_special else ""
                tokens += [ord(ch) + OFFSET for ch in prefix + part]
                after_special = False
        return tokens

    def token_text(self, token: int) -> str:
        return _SPECIAL_NAMES.get(token) or chr(token - OFFSET)

    def piece(self, token: int) -> str:
        return "" if token < OFFSET else chr(token - OFFSET)

    def _generate(self, request: GenerationRequest, stats: GenerationStats) -> Iterator[str]:
        text, mean = self._answers(request)[0]
        yield from self._pieces(request, request.constraint + text, mean, stats)

    def generate_alternatives(self, request: GenerationRequest) -> Iterator[PieceStream]:
        for text, mean in self._answers(request)[: max(request.alternatives, 1)]:
            stats = self._stats = GenerationStats(prompt_tokens=len(request.prompt))
            yield PieceStream(self._timed(request, request.constraint + text, mean, stats), stats)
            if request.cancelled():
                return

    def _answers(self, request: GenerationRequest) -> list[tuple[str, float]]:
        # The script answers what comes after the cursor; a healed prompt lacks the last typed
        # characters, which the first piece then spells out again, as a model would.
        constraint = request.constraint
        parsed = parse_prompt(request.prompt, self._adds_space_prefix)
        self.last_constraint = constraint
        if constraint:
            parsed = ScriptedPrompt(parsed.prefix + constraint, parsed.suffix, parsed.mode, parsed.tokens)
        self.prompts.append(parsed)
        return _scripted(self._script(parsed))

    def _timed(
        self, request: GenerationRequest, output: str, mean: float, stats: GenerationStats
    ) -> Generator[str, None, None]:
        started = time.perf_counter()
        try:
            yield from self._pieces(request, output, mean, stats)
        finally:
            stats.total_ms = (time.perf_counter() - started) * 1000

    def _pieces(self, request: GenerationRequest, output: str, mean: float, stats: GenerationStats) -> Iterator[str]:
        sampling, cancelled = request.sampling, request.cancelled
        stats.evaluated_tokens = len(request.prompt)
        pieces = [output[i : i + self.chunk] for i in range(0, len(output), self.chunk)]
        for piece in pieces[: sampling.max_tokens]:
            if cancelled():
                stats.stop_reason = "cancelled"
                break
            if self.token_delay_s:
                time.sleep(self.token_delay_s)
            stats.generated_tokens += 1
            stats.logprob = mean * stats.generated_tokens
            yield piece
        else:
            stats.stop_reason = "eot" if len(pieces) <= sampling.max_tokens else "max_tokens"

    def close(self) -> None:
        pass
