"""Tiny GGUFs of each fill-in-the-middle family, for tests through real llama.cpp.

Qwen2.5-Coder, DeepSeek-Coder and StarCoder2 get a small byte-level BPE vocabulary (GPT-2's byte
alphabet, merges learned here from a few hundred code words) with the family's `tokenizer.ggml.pre`,
so llama.cpp splits and merges text with the family's own pre-tokenizer; CodeGemma and Codestral
get a SentencePiece vocabulary shaped like Code Llama's (CodeGemma's adds no leading space,
Codestral's does). Each carries the family's special tokens, and optionally its FIM metadata ids.

The weights make greedy decoding follow a table of next tokens (by token text), as in
`gguf_models.py`: every projection is zero, so the logits depend on the last token alone.
"""

from __future__ import annotations

import functools
import itertools
import shutil
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
import numpy.typing as npt

from tests.support.gguf_models import LOGIT_WEIGHT, _cache_dir, codellama_vocab

_N_HEAD = 2
_N_FF = 64


@functools.cache
def byte_alphabet() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters (space is "Ġ", newline "Ċ")."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = dict(zip(printable, printable, strict=True))
    extra = 0
    for byte in range(256):
        if byte not in chars:
            chars[byte] = 256 + extra
            extra += 1
    return {byte: chr(code) for byte, code in sorted(chars.items())}


def as_bpe(text: str) -> str:
    """How a byte-level BPE vocabulary spells `text`."""
    alphabet = byte_alphabet()
    return "".join(alphabet[b] for b in text.encode("utf-8"))


# Words a code tokenizer learns whole, as the pre-tokenizers split them: a word with its space,
# runs of spaces, newlines with the indentation after them, operators.
_WORDS = """
    def return if elif else for while in range import from class self print None True False and or
    not is lambda with as try except pass break continue len str int list dict append items value
    result name data path line text node key x y z i j n a b foo bar total count const let function
    var new this null console log fn pub use mut Vec String main value_of
""".split()
_SYMBOLS = [
    "():", "()", "(", ")", ":", "=", "==", "!=", "+=", "->", "=>", "{", "}", "[", "]", ",", ".", ";",
    "\n", "\n\n", "\t", "\t\t", "  ", "   ", "    ", "       ", "        ", "\r\n", "#", "//", '"', "'",
]  # fmt: skip


def _learn_merges(words: Sequence[str]) -> list[tuple[str, str]]:
    """BPE merges learned from `words` (each one pre-token, in the byte alphabet) until every word is
    one token: encoding any of them with these merges, by rank, gives the word back whole."""
    sequences = [list(word) for word in words if len(word) > 1]
    merges: list[tuple[str, str]] = []
    while True:
        pairs: Counter[tuple[str, str]] = Counter()
        for seq in sequences:
            pairs.update(itertools.pairwise(seq))
        if not pairs:
            return merges
        best = max(pairs.items(), key=lambda item: (item[1], -len(item[0][0] + item[0][1]), item[0]))[0]
        merges.append(best)
        joined = best[0] + best[1]
        for seq in sequences:
            i = 0
            while i < len(seq) - 1:
                if (seq[i], seq[i + 1]) == best:
                    seq[i : i + 2] = [joined]
                i += 1
        sequences = [seq for seq in sequences if len(seq) > 1]


@functools.cache
def bpe_vocab(specials: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """(tokens, types, merges): 256 bytes, the learned words, then `specials` (CONTROL)."""
    words = {as_bpe(w) for w in _WORDS} | {as_bpe(" " + w) for w in _WORDS} | {as_bpe(s) for s in _SYMBOLS}
    words |= {as_bpe(" " + s) for s in ("=", "==", "+", "-", "*", "/", "(", "{", "->", ":")}
    merges = _learn_merges(sorted(words, key=lambda w: (len(w), w)))
    tokens = list(byte_alphabet().values())
    known = set(tokens)
    for left, right in merges:
        if left + right not in known:
            known.add(left + right)
            tokens.append(left + right)
    types = [gguf.TokenType.NORMAL] * len(tokens)
    tokens += specials
    types += [gguf.TokenType.CONTROL] * len(specials)
    return tuple(tokens), tuple(int(t) for t in types), tuple(f"{a} {b}" for a, b in merges)


@dataclass(frozen=True)
class FamilySpec:
    """What a test GGUF of one family holds."""

    key: str
    specials: tuple[str, ...]
    """Special tokens after the normal ones (BPE), or written over filler ids (SentencePiece)."""
    bos: str
    eos: str
    add_bos: bool
    pre: str = ""
    """`tokenizer.ggml.pre`; empty for a SentencePiece vocabulary."""
    space_prefix: bool = False
    """SentencePiece only: whether it adds a leading space (Codestral's does, CodeGemma's not)."""
    fim_ids: tuple[str, str, str] = ("", "", "")
    """The prefix/suffix/middle texts the metadata ids name."""
    pad: str = ""
    repo: str = ""
    sep: str = ""


SPECS: dict[str, FamilySpec] = {
    spec.key: spec
    for spec in (
        FamilySpec(
            "qwen2.5-coder",
            (
                "<|endoftext|>",
                "<|im_start|>",
                "<|im_end|>",
                "<|fim_prefix|>",
                "<|fim_middle|>",
                "<|fim_suffix|>",
                "<|fim_pad|>",
                "<|repo_name|>",
                "<|file_sep|>",
            ),
            bos="<|endoftext|>",
            eos="<|endoftext|>",
            add_bos=False,
            pre="qwen2",
            fim_ids=("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
            pad="<|fim_pad|>",
            repo="<|repo_name|>",
            sep="<|file_sep|>",
        ),
        FamilySpec(
            "deepseek-coder",
            (
                "<｜begin▁of▁sentence｜>",
                "<｜end▁of▁sentence｜>",
                "<｜fim▁hole｜>",
                "<｜fim▁begin｜>",
                "<｜fim▁end｜>",
                "<|EOT|>",
            ),
            bos="<｜begin▁of▁sentence｜>",
            eos="<｜end▁of▁sentence｜>",
            add_bos=True,
            pre="deepseek-coder",
            fim_ids=("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
        ),
        FamilySpec(
            "starcoder2",
            ("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<repo_name>", "<file_sep>"),
            bos="<|endoftext|>",
            eos="<|endoftext|>",
            add_bos=False,
            pre="starcoder",
            fim_ids=("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
            pad="<fim_pad>",
            repo="<repo_name>",
            sep="<file_sep>",
        ),
        FamilySpec(
            "codegemma",
            ("<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|file_separator|>", "<end_of_turn>"),
            bos="<bos>",
            eos="<eos>",
            add_bos=True,
            fim_ids=("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
        ),
        FamilySpec(
            "codestral",
            ("[SUFFIX]", "[PREFIX]", "[MIDDLE]"),
            bos="<s>",
            eos="</s>",
            add_bos=True,
            space_prefix=True,
        ),
    )
}

# The first filler id of the SentencePiece test vocab that family tokens may take.
_SPM_SPECIALS_AT = 31000


@functools.cache
def spm_vocab(key: str) -> tuple[tuple[str, ...], tuple[float, ...], tuple[int, ...]]:
    """Code Llama's shape without its FIM tokens, the family's BOS/EOS texts and special tokens."""
    spec = SPECS[key]
    tokens, scores, types = (list(part) for part in codellama_vocab(False))
    tokens[1], tokens[2] = spec.bos, spec.eos
    for offset, text in enumerate(spec.specials):
        tokens[_SPM_SPECIALS_AT + offset] = text
        types[_SPM_SPECIALS_AT + offset] = int(gguf.TokenType.CONTROL)
    return tuple(tokens), tuple(scores), tuple(int(t) for t in types)


def tokens_of(key: str) -> tuple[str, ...]:
    return bpe_vocab(SPECS[key].specials)[0] if SPECS[key].pre else spm_vocab(key)[0]


def token_id(key: str, text: str) -> int:
    """The id of a token, by its text as the vocabulary stores it."""
    return tokens_of(key).index(text)


def stored(key: str, text: str) -> str:
    """A normal word as the family's vocabulary stores it (BPE's byte alphabet, or ▁ for spaces)."""
    return as_bpe(text) if SPECS[key].pre else text.replace(" ", "▁")


def _add_tokenizer(writer: gguf.GGUFWriter, spec: FamilySpec, metadata: str) -> None:
    tokens = tokens_of(spec.key)
    if spec.pre:
        _, types, merges = bpe_vocab(spec.specials)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(spec.pre)
        writer.add_token_list(tokens)
        writer.add_token_types(list(types))
        writer.add_token_merges(list(merges))
    else:
        _, scores, types = spm_vocab(spec.key)
        writer.add_tokenizer_model("llama")
        writer.add_token_list(tokens)
        writer.add_token_scores(list(scores))
        writer.add_token_types(list(types))
        writer.add_add_space_prefix(spec.space_prefix)
        writer.add_unk_token_id(0)
    writer.add_bos_token_id(tokens.index(spec.bos))
    writer.add_eos_token_id(tokens.index(spec.eos))
    writer.add_add_bos_token(spec.add_bos)
    writer.add_add_eos_token(False)
    if metadata == "none" or not spec.fim_ids[0]:
        return
    keys = gguf.Keys.Tokenizer
    if metadata == "old":
        names = ("tokenizer.ggml.prefix_token_id", "tokenizer.ggml.suffix_token_id", "tokenizer.ggml.middle_token_id")
    else:
        names = (keys.FIM_PRE_ID, keys.FIM_SUF_ID, keys.FIM_MID_ID)
    for name, text in zip(names, spec.fim_ids, strict=True):
        writer.add_uint32(name, tokens.index(text))
    if metadata == "new":
        for name, text in ((keys.FIM_PAD_ID, spec.pad), (keys.FIM_REP_ID, spec.repo), (keys.FIM_SEP_ID, spec.sep)):
            if text:
                writer.add_uint32(name, tokens.index(text))


_written: dict[tuple[object, ...], Path] = {}


def write_family_gguf(
    path: Path,
    key: str,
    *,
    transitions: Mapping[str, str] | None = None,
    default_next: str | None = None,
    metadata: str = "new",
    chat_template: str | None = None,
) -> Path:
    """A tiny model of family `key` at `path`.

    transitions: the next token after each listed token under greedy decoding, by token text as the
        vocabulary stores it (`stored`); any other token is followed by `default_next` (default: the
        family's EOS).
    metadata: "new" writes the fim_{pre,suf,mid,pad,rep,sep}_token_id keys, "old" the older
        prefix/suffix/middle ones, "none" none (the token texts alone say what the model is).
    """
    spec = SPECS[key]
    transitions = dict(transitions or {})
    default = default_next or spec.eos
    cache_key = (key, tuple(transitions.items()), default, metadata, chat_template)
    pristine = _written.get(cache_key)
    if pristine is None:
        pristine = _cache_dir() / f"family{len(_written)}.gguf"
        _write(pristine, spec, transitions, default, metadata, chat_template)
        _written[cache_key] = pristine
    shutil.copyfile(pristine, path)
    return path


def _write(
    path: Path,
    spec: FamilySpec,
    transitions: Mapping[str, str],
    default_next: str,
    metadata: str,
    chat_template: str | None,
) -> None:
    tokens = tokens_of(spec.key)
    index = {text: i for i, text in enumerate(tokens)}
    unknown = [t for t in [*transitions, *transitions.values(), default_next] if t not in index]
    if unknown:
        raise ValueError(f"not tokens of the {spec.key} test vocab: {sorted(set(unknown))}")
    keys = list(transitions)
    default_dim = len(keys)
    n_embd = max(64, -(-(default_dim + 1) // 32) * 32)
    n_vocab = len(tokens)
    embd: npt.NDArray[np.float16] = np.zeros((n_vocab, n_embd), dtype=np.float16)
    embd[:, default_dim] = 1.0
    out: npt.NDArray[np.float16] = np.zeros((n_vocab, n_embd), dtype=np.float16)
    out[index[default_next], default_dim] = LOGIT_WEIGHT
    for dim, key in enumerate(keys):
        embd[index[key], default_dim] = 0.0
        embd[index[key], dim] = 1.0
        out[index[transitions[key]], dim] = LOGIT_WEIGHT

    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_name(f"{spec.key} test")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_vocab_size(n_vocab)
    writer.add_context_length(8192)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(1)
    writer.add_feed_forward_length(_N_FF)
    writer.add_head_count(_N_HEAD)
    writer.add_head_count_kv(_N_HEAD)
    writer.add_rope_dimension_count(n_embd // _N_HEAD)
    writer.add_rope_freq_base(10_000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    _add_tokenizer(writer, spec, metadata)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    def zeros(*shape: int) -> npt.NDArray[np.float16]:
        return np.zeros(shape, dtype=np.float16)

    ones = np.ones(n_embd, dtype=np.float32)
    writer.add_tensor("token_embd.weight", embd)
    writer.add_tensor("blk.0.attn_norm.weight", ones)
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        writer.add_tensor(f"blk.0.{name}.weight", zeros(n_embd, n_embd))
    writer.add_tensor("blk.0.ffn_norm.weight", ones)
    writer.add_tensor("blk.0.ffn_gate.weight", zeros(_N_FF, n_embd))
    writer.add_tensor("blk.0.ffn_up.weight", zeros(_N_FF, n_embd))
    writer.add_tensor("blk.0.ffn_down.weight", zeros(n_embd, _N_FF))
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", out)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


Reference = Callable[[str, str], list[int]]
