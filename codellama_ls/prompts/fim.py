"""Fill-in-the-middle prompts at token level (pure).

Meta's reference (facebookresearch/codellama, `infilling_prompt_tokens`) builds
  PSM: [BOS, PRE] + encode(prefix) + [SUF] + encode_infilling(suffix) + [MID]
  SPM: [BOS, PRE, SUF] + encode_infilling(suffix) + [MID] + encode(prefix)
where `encode` adds SentencePiece's implicit leading space and `encode_infilling`
does not.  Ours adds LINE, the PSM of the lines above the head, with the head (from
a line start to the cursor) begun as the middle, as llama.vim sends it to llama-server:
  LINE: [BOS, PRE] + encode(lines) + [SUF] + encode_infilling(suffix) + [MID] + encode_infilling(head)
Building the list ourselves avoids llama-cpp-python's `suffix=` path,
which in 0.3.36 emits token id 0 where the FIM tokens belong.

Other families (`families.py`) put their own tokens in the same places, with their BOS rule; their
byte-level BPE tokenizers add no leading space, so `encode` and `encode_infilling` agree there.
Codestral alone is suffix-first, with no middle token (mistral-common's `encode_fim`):
  [BOS, SUFFIX] + encode_infilling(suffix) + [PREFIX] + encode(prefix)
which is SPM for everything downstream (its [PREFIX] stands where <MID> does). Qwen2.5-Coder and
StarCoder2 put the other files before the FIM prefix as a repository (`Repo`, `_repo_header`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from codellama_ls.prompts.families import Order, Recognised, RepoLayout, family_named

Encode = Callable[[str], list[int]]


class PromptMode(str, Enum):
    PSM = "psm"
    SPM = "spm"
    LINE = "line"
    """Prefix-first with the text from the head's start (a line start) to the cursor after <MID>:
    typing appends to the prompt, as with SPM, and a cursor move keeps the KV cache of every line
    above the new one (see docs/prompt-layout.md)."""
    PREFIX_ONLY = "none"


@dataclass(frozen=True)
class FimTokens:
    prefix: int
    suffix: int
    middle: int
    """Codestral has no middle token: there it is its [PREFIX], after which prefix and middle run on."""
    end: int | None
    """The end-of-middle token (Code Llama's ▁<EOT>); None when the vocab lacks one."""
    family: str = ""
    """The `families` row the vocabulary was recognised as (its key; empty: Code Llama)."""
    repo_name: int | None = None
    """The repository-level layout's tokens, for the families that have one (`families.RepoLayout`)."""
    file_sep: int | None = None


def fim_tokens_of(found: Recognised | None) -> FimTokens | None:
    if found is None:
        return None
    return FimTokens(
        prefix=found.prefix,
        suffix=found.suffix,
        middle=found.middle,
        end=found.end,
        family=found.family.key,
        repo_name=found.repo_name,
        file_sep=found.file_sep,
    )


@dataclass(frozen=True)
class Repo:
    """The other files' chunks for a repository-level prompt, and the current file's path."""

    name: str
    files: tuple[tuple[str, str], ...]
    """(path, text) per other file, in a stable order."""
    current: str


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
    piece: Callable[[int], str] | None = None
    """A token's output text, for token healing; None disables healing."""
    n_vocab: int = 0
    """Token ids are 0..n_vocab-1; lets healing look up the longer pieces a token could grow into."""
    healing: bool = True
    """The engine can constrain the first tokens (token healing); a remote engine without the whole
    vocabulary cannot, and `auto` then uses PSM where the prefix's last token could merge."""


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
    head = tuple(vocab.encode(SENTINEL))
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
_lines: dict[tuple[object, str], list[int]] = {}


def _remembered(
    cache: dict[tuple[object, str], list[int]], encoder: Callable[[Vocab, str], list[int]], vocab: Vocab, text: str
) -> list[int]:
    """`encoder(vocab, text)`, the last few long texts remembered (per keystroke, they rarely change)."""
    if len(text) < 256:
        return encoder(vocab, text)
    key = (vocab.encode, text)
    tokens = cache.get(key)
    if tokens is None:
        if len(cache) >= 8:
            cache.clear()
        tokens = cache[key] = encoder(vocab, text)
    return tokens


def _suffix_tokens(vocab: Vocab, suffix: str) -> list[int]:
    """encode_infilling(suffix), remembered: while the user types, the text after the cursor stays the same."""
    return _remembered(_suffixes, encode_infilling, vocab, suffix)


def _lines_tokens(vocab: Vocab, text: str) -> list[int]:
    """encode(text) for the whole lines before a LINE prompt's head, remembered: they stay the same
    while the user types on the line below them."""
    return _remembered(_lines, encode, vocab, text)


def head_start(prefix: str) -> int:
    """Where a LINE prompt's head begins by default: the start of the cursor line."""
    return prefix.rfind("\n") + 1


def uses_repo_layout(fim: FimTokens | None) -> bool:
    """Whether other files go in the family's repository-level layout rather than as comments."""
    return (
        fim is not None
        and fim.repo_name is not None
        and fim.file_sep is not None
        and family_named(fim.family).layout is not RepoLayout.COMMENTS
    )


_segments: dict[tuple[object, str], list[int]] = {}


def _segment_tokens(vocab: Vocab, text: str) -> list[int]:
    """encode(text) for a repository-level header's segment, remembered: the chunks stay the same
    from keystroke to keystroke."""
    if len(text) < 256:
        return encode(vocab, text)
    key = (vocab.encode, text)
    tokens = _segments.get(key)
    if tokens is None:
        if len(_segments) >= 16:
            _segments.clear()
        tokens = _segments[key] = encode(vocab, text)
    return tokens


def _repo_header(vocab: Vocab, fim: FimTokens, repo: Repo) -> tuple[list[int], str]:
    """The tokens before the FIM prefix token, and the text the prefix starts with (StarCoder2
    puts the current file's path there). Each text between two special tokens is encoded whole,
    as a tokenizer reading the reference's template text does."""
    assert fim.repo_name is not None and fim.file_sep is not None
    if family_named(fim.family).layout is RepoLayout.INLINE:
        tokens = [fim.repo_name] + _segment_tokens(vocab, repo.name)
        for path, text in repo.files:
            tokens += [fim.file_sep] + _segment_tokens(vocab, f"{path}\n{text}")
        return tokens + [fim.file_sep], f"{repo.current}\n"
    tokens = [fim.repo_name] + _segment_tokens(vocab, f"{repo.name}\n")
    for path, text in repo.files:
        tokens += [fim.file_sep] + _segment_tokens(vocab, f"{path}\n{text}\n")
    return tokens + [fim.file_sep] + _segment_tokens(vocab, f"{repo.current}\n"), ""


def build_prompt(
    vocab: Vocab, prefix: str, suffix: str, mode: PromptMode, head: int | None = None, repo: Repo | None = None
) -> list[int]:
    """`head`: for LINE prompts, the index in `prefix` (a line start) where the text put after <MID>
    begins; the start of the cursor line when None. `repo`: the other files, for a family with a
    repository-level layout (`uses_repo_layout`); the caller puts them in `prefix` otherwise."""
    bos = [vocab.bos] if vocab.bos is not None else []
    if mode is PromptMode.PREFIX_ONLY or vocab.fim is None:
        return bos + encode(vocab, prefix)
    fim = vocab.fim
    if family_named(fim.family).order is Order.SUFFIX_FIRST:
        # Codestral (mistral-common's encode_fim): the prefix last, and the middle runs on from it.
        return bos + [fim.suffix] + _suffix_tokens(vocab, suffix) + [fim.prefix] + encode(vocab, prefix)
    header: list[int] = []
    if repo is not None and uses_repo_layout(fim):
        header, lead = _repo_header(vocab, fim, repo)
        if lead:
            head = None if head is None else head + len(lead)
            prefix = lead + prefix
    if mode is PromptMode.LINE:
        cut = head_start(prefix) if head is None else head
        return (
            bos
            + header
            + [fim.prefix]
            + _lines_tokens(vocab, prefix[:cut])
            + [fim.suffix]
            + _suffix_tokens(vocab, suffix)
            + [fim.middle]
            + encode_infilling(vocab, prefix[cut:])
        )
    if mode is PromptMode.PSM:
        return (
            bos
            + header
            + [fim.prefix]
            + encode(vocab, prefix)
            + [fim.suffix]
            + _suffix_tokens(vocab, suffix)
            + [fim.middle]
        )
    suffix_first = [fim.prefix, fim.suffix] + _suffix_tokens(vocab, suffix) + [fim.middle]
    return bos + header + suffix_first + encode(vocab, prefix)


def describe(fim: FimTokens | None, mode: PromptMode, tokens: list[int]) -> tuple[str, str]:
    """The family a prompt was built for and its layout, in words (`complete --show-prompt`)."""
    if fim is None or mode is PromptMode.PREFIX_ONLY:
        named = family_named(fim.family).name if fim is not None else "no fill-in-the-middle tokens"
        return named, "prefix only"
    family = family_named(fim.family)
    if family.order is Order.SUFFIX_FIRST:
        layout = f"{family.suffix} suffix {family.prefix} prefix (suffix first)"
    elif mode is PromptMode.SPM:
        layout = f"{family.prefix}{family.suffix} suffix {family.middle} prefix (spm)"
    elif mode is PromptMode.LINE:
        layout = f"{family.prefix} lines above {family.suffix} suffix {family.middle} cursor line (line)"
    else:
        layout = f"{family.prefix} prefix {family.suffix} suffix {family.middle} (psm)"
    if fim.repo_name is not None and fim.repo_name in tokens:
        layout += f", other files as a repository ({family.repo_name} name, {family.file_sep} path per file)"
    return family.name, layout


# One character of each kind a program goes on with. They only ask the question; the tokenizer
# answers it: the prompt's last tokens are backed off where it spells `text + probe` differently.
_PROBES = tuple("aZ_0 \t\n") + tuple("!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~")
# Longer words the vocab knows that start with the last tokens (" ret" -> " return", " ret" + "u"
# -> " return"): merges that one more character does not reveal.
_EXTENSIONS_PER_PIECE = 4
_LARGEST_VOCAB_INDEXED = 1 << 19
# Tail sizes, in tokens, tried until re-encoding the tail alone gives the same tokens.
_TAILS = (6, 12, 24)
MAX_BACKOFF = 3

_extensions: dict[object, dict[str, list[str]]] = {}


def _extension_index(vocab: Vocab) -> dict[str, list[str]]:
    """For each proper prefix of a vocab piece, the shortest remainders that complete a piece."""
    index = _extensions.get(vocab.encode)
    if index is None:
        index = {}
        if vocab.piece is not None and 0 < vocab.n_vocab <= _LARGEST_VOCAB_INDEXED:
            pieces = sorted({vocab.piece(t) for t in range(vocab.n_vocab)}, key=len)
            for piece in pieces:
                for cut in range(1, len(piece)):
                    rests = index.setdefault(piece[:cut], [])
                    if len(rests) < _EXTENSIONS_PER_PIECE:
                        rests.append(piece[cut:])
        if len(_extensions) >= 4:
            _extensions.clear()
        _extensions[vocab.encode] = index
    return index


def prepare_healing(vocab: Vocab) -> None:
    """Build token healing's index now (a fraction of a second for a 50k vocab), not in a first request."""
    _extension_index(vocab)


def _common_length(a: list[int], b: list[int]) -> int:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return size


def mergeable_tail(vocab: Vocab, tokens: list[int], text: str, available: int | None = None) -> int:
    """How many of the last `tokens` (which encode a text ending with `text`) the tokenizer would
    spell differently if the text went on; 0 when what follows can only start a new token.

    Only a tail is re-encoded, the size at which encoding it alone reproduces the same tokens."""
    piece = vocab.piece
    if piece is None or not tokens or not text:
        return 0
    available = len(tokens) if available is None else min(available, len(tokens))
    for size in _TAILS:
        size = min(size, available)
        tail = tokens[len(tokens) - size :]
        spelled = "".join(piece(t) for t in tail)
        if spelled and (text.endswith(spelled) or (" " + text).endswith(spelled)):
            if encode_infilling(vocab, spelled) == tail:
                index = _extension_index(vocab)
                ends = ("".join(piece(t) for t in tail[-back:]) for back in range(1, min(MAX_BACKOFF, size) + 1))
                probes = _PROBES + tuple(rest for end in ends for rest in index.get(end, ()))
                keep = size
                for probe in probes:
                    keep = min(keep, _common_length(encode_infilling(vocab, spelled + probe), tail))
                    if keep == 0:
                        break
                return size - keep
        if size == available:
            break
    return 0


_CODE_PROBES = tuple(probe for probe in _PROBES if not probe.isspace())
# A line of code starts with a word or punctuation; a digit there is rare, and SmolLM2's tokenizer
# does end a whole indentation's token before one.
_LINE_START_PROBES = tuple(probe for probe in _CODE_PROBES if not probe.isdigit())


def ends_before_code(vocab: Vocab, token: int, rest: str = "") -> bool:
    """Whether the tokenizer ends a token as `token` does when code follows it: `token`'s text, then
    `rest` (what token healing still has to re-spell after it), then a word or punctuation.

    Only a token ending in whitespace can fail: BPE and SentencePiece tokenizers put the last space
    of a run in the next word's token (`"\n    x"` is `"\n   "` + `" x"`), so a token that takes the
    whole indentation is only ever followed by more whitespace. Chosen to re-spell an indentation,
    it leads the model to a blank line or to a word without its space. (After a space alone a
    digit can follow: SmolLM2 spells `" 0"` as `" "` + `"0"`.)"""
    if vocab.piece is None:
        return True
    text = vocab.piece(token) + rest
    if not text or not text[-1].isspace():
        return True
    probes = _LINE_START_PROBES if "\n" in text else _CODE_PROBES
    return any(encode_infilling(vocab, text + probe)[:1] == [token] for probe in probes)


def respells_naturally(vocab: Vocab, token: int, piece: bytes, pending: bytes) -> bool:
    """Whether `token` (its text `piece`), chosen to re-spell `pending`, the text token healing backed
    off, is one the tokenizer would write there before code.

    Ending within the user's text, it must end where the tokenizer ends such a token
    (`ends_before_code`). Going past it, after a space or tab the user typed, it must add more than
    whitespace: more is an indentation deeper than the one the user (or the editor) chose, or a
    blank line. After a newline, the new line's indentation is the model's to choose."""
    if len(piece) > len(pending):
        return not (pending.endswith((b" ", b"\t")) and not piece[len(pending) :].strip())
    return ends_before_code(vocab, token, pending[len(piece) :].decode("utf-8", errors="ignore"))


def choose_mode(fim_format: str, vocab: Vocab, prefix: str = "", healing: bool = True) -> PromptMode:
    """`auto` prefers LINE: like suffix-first (SPM) it makes typing append-only for the KV cache, and
    unlike SPM a cursor move keeps the cached lines above the cursor. Both end with the text typed:
    where the prefix's last token could merge with what follows, they need token healing; without it
    PSM is safe there (`prefix`: the text before the cursor on its line)."""
    if vocab.fim is None or fim_format == "none":
        return PromptMode.PREFIX_ONLY
    family = family_named(vocab.fim.family)
    if family.order is Order.SUFFIX_FIRST:
        return PromptMode.SPM  # the one layout Codestral knows; it ends with the prefix, as SPM does
    if fim_format == "spm" and not family.spm:
        return PromptMode.LINE  # not trained suffix-first: LINE also makes typing append-only
    if fim_format in ("spm", "psm", "line"):
        return PromptMode(fim_format)
    if healing and vocab.piece is not None:
        return PromptMode.LINE
    if vocab.piece is not None and mergeable_tail(vocab, encode_infilling(vocab, prefix), prefix):
        return PromptMode.PSM
    return PromptMode.LINE


def _prefix_token_count(vocab: Vocab, tokens: list[int], mode: PromptMode) -> int:
    if mode in (PromptMode.SPM, PromptMode.LINE) and vocab.fim is not None and vocab.fim.middle in tokens:
        return tokens[::-1].index(vocab.fim.middle)  # the tokens after the last <MID>
    return len(tokens) - (1 if vocab.bos is not None and tokens[:1] == [vocab.bos] else 0)


def heal(vocab: Vocab, tokens: list[int], prefix: str, mode: PromptMode) -> tuple[list[int], str]:
    """Token healing for prompts that end with the prefix (SPM, prefix-only): back off the last
    tokens that the tokenizer would have merged with what the user types next (a word's start, the
    space before a word, an indentation, a partial operator); returns the prompt and the text the
    first generated tokens must spell out again."""
    if mode is PromptMode.PSM or vocab.piece is None or not prefix:
        return tokens, ""
    available = _prefix_token_count(vocab, tokens, mode)
    # One prefix token always stays: the prompt is never empty, and the implicit space never backed off.
    # A LINE head has no implicit space, and the lines and <MID> stay before it.
    keep = 0 if mode is PromptMode.LINE else 1
    back = min(mergeable_tail(vocab, tokens, prefix, available), available - keep, MAX_BACKOFF)
    if back <= 0:
        return tokens, ""
    constraint = "".join(vocab.piece(t) for t in tokens[-back:])
    if not prefix.endswith(constraint):
        return tokens, ""
    return tokens[:-back], constraint
