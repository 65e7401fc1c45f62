"""Fill-in-the-middle prompts at token level (pure).

Meta's reference (facebookresearch/codellama, `infilling_prompt_tokens`) builds
  PSM: [BOS, PRE] + encode(prefix) + [SUF] + encode_infilling(suffix) + [MID]
  SPM: [BOS, PRE, SUF] + encode_infilling(suffix) + [MID] + encode(prefix)
where `encode` adds SentencePiece's implicit leading space and `encode_infilling`
does not.  Building the list ourselves avoids llama-cpp-python's `suffix=` path,
which in 0.3.36 emits token id 0 where the FIM tokens belong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

Encode = Callable[[str], list[int]]


class PromptMode(str, Enum):
    PSM = "psm"
    SPM = "spm"
    PREFIX_ONLY = "none"


@dataclass(frozen=True)
class FimTokens:
    prefix: int
    suffix: int
    middle: int
    end: int | None
    """The end-of-middle token (Code Llama's ▁<EOT>); None when the vocab lacks one."""


@dataclass(frozen=True)
class Vocab:
    """What prompt building needs to know about a model's tokenizer."""

    encode: Encode
    """Text to tokens, with the tokenizer's implicit leading space if it adds one; no BOS."""
    bos: int | None
    """Prepended when the model wants a BOS token."""
    fim: FimTokens | None
    adds_space_prefix: bool = True
    """SentencePiece-style vocabs prepend a space to every encoded text."""
    sentinel_tokens: tuple[int, ...] = ()
    """encode(SENTINEL): stripped by `encode_infilling` to drop the implicit space."""
    piece: Callable[[int], str] | None = None
    """A token's output text, for token healing; None disables healing."""


# A character that no piece merges across, so tokens after it are exactly the
# tokens of the text alone, minus the implicit leading space (Meta uses "☺").
SENTINEL = "\n"


def encode_infilling(vocab: Vocab, text: str) -> list[int]:
    """Encode without the implicit leading space, as Meta's `encode_infilling`."""
    if not text:
        return []
    if not vocab.adds_space_prefix:
        return vocab.encode(text)
    tokens = vocab.encode(SENTINEL + text)
    head = vocab.sentinel_tokens or tuple(vocab.encode(SENTINEL))
    if tuple(tokens[: len(head)]) == head:
        return tokens[len(head) :]
    # The sentinel merged with the text (an unusual vocab): fall back to plain encoding.
    return vocab.encode(text)


# The prefix up to its last newline is the same from keystroke to keystroke; only the line being
# typed changes. A few entries per vocab are enough.
_heads: dict[tuple[object, str], list[int]] = {}


_checked: dict[object, bool] = {}


def _newline_splits(vocab: Vocab) -> bool:
    """Whether this vocab really never merges across a newline (true of Code Llama's)."""
    known = _checked.get(vocab.encode)
    if known is None:
        samples = [("def f():\n", "    return x"), ("a\n\n", "\n  b"), ("x = 1\n", "\n"), ("s\n", " t")]
        known = _checked[vocab.encode] = all(
            vocab.encode(head + tail) == vocab.encode(head) + encode_infilling(vocab, tail) for head, tail in samples
        )
    return known


def encode(vocab: Vocab, text: str) -> list[int]:
    """encode(text); for SentencePiece vocabs, reuses the tokens of the text before its last line.

    A newline is never merged with its neighbours, so the tokens of `head + tail`, where `head`
    ends with a newline, are encode(head) + encode_infilling(tail)."""
    if not text:
        return []
    cut = text.rfind("\n") + 1
    if not vocab.adds_space_prefix or cut < 256 or cut == len(text) or not _newline_splits(vocab):
        return vocab.encode(text)
    key = (vocab.encode, text[:cut])
    head = _heads.get(key)
    if head is None:
        if len(_heads) >= 8:
            _heads.clear()
        head = _heads[key] = vocab.encode(text[:cut])
    return head + encode_infilling(vocab, text[cut:])


_suffixes: dict[tuple[object, str], list[int]] = {}


def _suffix_tokens(vocab: Vocab, suffix: str) -> list[int]:
    """encode_infilling(suffix), remembered: while the user types, the text after the cursor stays the same."""
    if len(suffix) < 256:
        return encode_infilling(vocab, suffix)
    key = (vocab.encode, suffix)
    tokens = _suffixes.get(key)
    if tokens is None:
        if len(_suffixes) >= 8:
            _suffixes.clear()
        tokens = _suffixes[key] = encode_infilling(vocab, suffix)
    return tokens


def build_prompt(vocab: Vocab, prefix: str, suffix: str, mode: PromptMode) -> list[int]:
    bos = [vocab.bos] if vocab.bos is not None else []
    if mode is PromptMode.PREFIX_ONLY or vocab.fim is None:
        return bos + encode(vocab, prefix)
    fim = vocab.fim
    if mode is PromptMode.PSM:
        return (
            bos + [fim.prefix] + encode(vocab, prefix) + [fim.suffix] + _suffix_tokens(vocab, suffix) + [fim.middle]
        )
    return bos + [fim.prefix, fim.suffix] + _suffix_tokens(vocab, suffix) + [fim.middle] + encode(vocab, prefix)


def at_token_boundary(prefix: str) -> bool:
    """The cursor is not inside a word, so the prefix's last token is one a model would also have produced."""
    return not prefix or not (prefix[-1].isalnum() or prefix[-1] == "_")


def choose_mode(fim_format: str, vocab: Vocab, prefix: str = "", healing: bool = True) -> PromptMode:
    """`auto` prefers suffix-first (SPM): it scores higher on single lines and makes typing append-only
    for the KV cache. Inside a word SPM needs token healing; without it, PSM is safe there."""
    if vocab.fim is None or fim_format == "none":
        return PromptMode.PREFIX_ONLY
    if fim_format in ("spm", "psm"):
        return PromptMode(fim_format)
    if at_token_boundary(prefix) or (healing and vocab.piece is not None):
        return PromptMode.SPM
    return PromptMode.PSM


def heal(vocab: Vocab, tokens: list[int], prefix: str, mode: PromptMode) -> tuple[list[int], str]:
    """Back off the prompt's last token when the prefix ends inside a word (SPM and prefix-only prompts
    end with the prefix); returns the prompt and the text the first generated token must start with."""
    if mode is PromptMode.PSM or at_token_boundary(prefix) or vocab.piece is None or len(tokens) < 2:
        return tokens, ""
    text = vocab.piece(tokens[-1])
    if not text or not prefix.endswith(text.lstrip(" ")):
        return tokens, ""
    return tokens[:-1], text
