"""Token healing on the engine's side (pure): which tokens may re-spell the text the prompt backed off.

`fim.heal` backs the prompt off to a token boundary and names the text the first generated tokens must
spell out again (`pending`). Any engine then chooses among the same candidates, in the same order: tokens
whose text starts with all of `pending`, then tokens that spell a shorter start of it (the rest follows),
in vocabulary order, which decides between exactly equal scores. `natural` says whether a candidate
re-spells the text as the tokenizer itself would before code (`fim.respells_naturally`). The llama.cpp
engine masks its best-scored candidates with it; a remote engine filters them before the server chooses.
"""

from __future__ import annotations

from collections.abc import Sequence

from codellama_ls.prompts.fim import Vocab, respells_naturally

_CACHED = 256
"""Pending texts whose candidates are kept: a user heals the same few spellings again and again."""
_CACHED_VERDICTS = 4096


class Respellings:
    """The candidates of one vocabulary, computed once per pending text."""

    def __init__(self, vocab: Vocab, pieces: Sequence[bytes]) -> None:
        self._vocab = vocab
        self._pieces = pieces
        """Each token's bytes as generated text (special tokens: empty)."""
        self._by_piece: dict[bytes, list[int]] | None = None
        self._candidates: dict[bytes, list[int]] = {}
        self._naturals: dict[bytes, list[int]] = {}
        self._natural: dict[tuple[int, bytes], bool] = {}

    def candidates(self, pending: bytes) -> list[int]:
        """Tokens whose text starts with all of `pending`, then those spelling a shorter start of it."""
        found = self._candidates.get(pending)
        if found is None:
            if self._by_piece is None:
                self._by_piece = {}
                for token, text in enumerate(self._pieces):
                    if text:
                        self._by_piece.setdefault(text, []).append(token)
            found = [t for t, p in enumerate(self._pieces) if p.startswith(pending)]
            found += [t for cut in range(1, len(pending)) for t in self._by_piece.get(pending[:cut], ())]
            if len(self._candidates) > _CACHED:
                self._candidates.clear()
            self._candidates[pending] = found
        return found

    def natural(self, token: int, pending: bytes) -> bool:
        """Whether `token` re-spells `pending`'s start as the tokenizer writes it before code."""
        verdict = self._natural.get((token, pending))
        if verdict is None:
            verdict = respells_naturally(self._vocab, token, self._pieces[token], pending)
            if len(self._natural) > _CACHED_VERDICTS:
                self._natural.clear()
            self._natural[(token, pending)] = verdict
        return verdict

    def natural_candidates(self, pending: bytes) -> list[int]:
        """The candidates that re-spell naturally; all of them when none does."""
        found = self._naturals.get(pending)
        if found is None:
            every = self.candidates(pending)
            found = [t for t in every if self.natural(t, pending)] or every
            if len(self._naturals) > _CACHED:
                self._naturals.clear()
            self._naturals[pending] = found
        return found
