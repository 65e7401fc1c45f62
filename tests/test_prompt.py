"""FIM prompts equal Meta's `infilling_prompt_tokens`, token for token, in both orders."""

from __future__ import annotations

import pytest

from codellama_ls.engine.base import vocab_of
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.prompt import PromptMode, Vocab, build_prompt, choose_mode, encode_infilling, heal
from tests.conftest import HAVE_LLAMA, needs_llama

CASES = [
    ("def f(x):\n    return ", "\n\nprint(f(1))\n"),
    ("", "suffix only\n"),
    ("prefix only ", ""),
    ("", ""),
    ("x = 1\n", "\ny = 2"),  # suffix starting with a newline
    ("if a:\n", "    pass\n"),  # suffix starting with spaces
    ("def g():\n    ", "  # trailing"),  # prefix ending in spaces
    ("s = '日本語 ", "😀 emoji'\n"),
    ("\tindent = True\n\t", "\tmore\n"),
    ("win = 1\r\n", "\r\nend\r\n"),
    (" leading space", " also here"),
]


def reference_prompt(vocab: Vocab, prefix: str, suffix: str, spm: bool) -> list[int]:
    """Meta's algorithm, written as in llama/generation.py, over the same sentencepiece-style encoder."""
    assert vocab.fim is not None and vocab.bos is not None

    def encode(s: str) -> list[int]:  # sp_model.encode(s): implicit leading space
        return vocab.encode(s) if s else []

    def encode_infilling_ref(s: str) -> list[int]:  # sp_model.encode("☺" + s)[2:]
        return vocab.encode("☺" + s)[2:]

    if spm:
        return (
            [vocab.bos, vocab.fim.prefix, vocab.fim.suffix]
            + encode_infilling_ref(suffix)
            + [vocab.fim.middle]
            + encode(prefix)
        )
    return (
        [vocab.bos, vocab.fim.prefix]
        + encode(prefix)
        + [vocab.fim.suffix]
        + encode_infilling_ref(suffix)
        + [vocab.fim.middle]
    )


@pytest.fixture(params=["scripted", "llama"])
def vocab(request: pytest.FixtureRequest) -> Vocab:
    if request.param == "scripted":
        return vocab_of(ScriptedEngine())
    if not HAVE_LLAMA:
        pytest.skip("llama-cpp-python is not installed")
    return vocab_of(request.getfixturevalue("llama_engine"))


@pytest.mark.parametrize("prefix,suffix", CASES)
@pytest.mark.parametrize("mode", [PromptMode.PSM, PromptMode.SPM])
def test_matches_reference(vocab: Vocab, prefix: str, suffix: str, mode: PromptMode) -> None:
    ours = build_prompt(vocab, prefix, suffix, mode)
    assert ours == reference_prompt(vocab, prefix, suffix, spm=mode is PromptMode.SPM)


def test_encode_infilling_drops_only_the_implicit_space(vocab: Vocab) -> None:
    assert encode_infilling(vocab, "") == []
    with_space = vocab.encode("x")
    assert encode_infilling(vocab, "x") != with_space or not vocab.adds_space_prefix


def test_prefix_only_mode_has_no_fim_tokens() -> None:
    vocab = vocab_of(ScriptedEngine(fim=False))
    assert choose_mode("auto", vocab) is PromptMode.PREFIX_ONLY
    assert choose_mode("spm", vocab) is PromptMode.PREFIX_ONLY
    tokens = build_prompt(vocab, "def f():", "ignored", PromptMode.PSM)
    assert tokens == [vocab.bos, *vocab.encode("def f():")]


@pytest.mark.parametrize(
    "setting,expected",
    [("auto", PromptMode.SPM), ("psm", PromptMode.PSM), ("spm", PromptMode.SPM), ("none", PromptMode.PREFIX_ONLY)],
)
def test_choose_mode(setting: str, expected: PromptMode) -> None:
    assert choose_mode(setting, vocab_of(ScriptedEngine())) is expected


@needs_llama
def test_codellama_fim_ids_come_from_the_gguf(llama_engine: object) -> None:
    from tests.gguf_models import EOT_ID, MID_ID, PRE_ID, SUF_ID

    info = vocab_of(llama_engine).fim  # type: ignore[arg-type]
    assert info is not None
    assert (info.prefix, info.suffix, info.middle, info.end) == (PRE_ID, SUF_ID, MID_ID, EOT_ID)


def test_auto_uses_psm_inside_a_word_without_healing() -> None:
    vocab = vocab_of(ScriptedEngine())
    assert choose_mode("auto", vocab, "x = valu", healing=False) is PromptMode.PSM
    assert choose_mode("auto", vocab, "x = valu", healing=True) is PromptMode.SPM
    assert choose_mode("auto", vocab, "x = ", healing=False) is PromptMode.SPM


@pytest.mark.parametrize("prefix", ["def f():\n    retu", "x = value_", "print(nam"])
def test_heal_backs_off_the_last_token(vocab: Vocab, prefix: str) -> None:
    tokens = build_prompt(vocab, prefix, "\n", PromptMode.SPM)
    healed, constraint = heal(vocab, tokens, prefix, PromptMode.SPM)
    assert healed == tokens[:-1] and constraint
    assert prefix.endswith(constraint.lstrip(" "))
    assert heal(vocab, tokens, prefix, PromptMode.PSM) == (tokens, "")
    at_space = build_prompt(vocab, prefix + " ", "", PromptMode.SPM)
    assert heal(vocab, at_space, prefix + " ", PromptMode.SPM) == (at_space, "")


@pytest.mark.parametrize("mode", [PromptMode.PSM, PromptMode.SPM])
def test_long_prefixes_match_the_reference_too(vocab: Vocab, mode: PromptMode) -> None:
    # Long prefixes reuse the tokens of their earlier lines; the result must not change.
    prefix = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30)) + "def g(y):\n    retu"
    for tail in ("", "r", "rn y", " \t"):
        ours = build_prompt(vocab, prefix + tail, "\n\nprint(g(1))\n", mode)
        assert ours == reference_prompt(vocab, prefix + tail, "\n\nprint(g(1))\n", spm=mode is PromptMode.SPM)


@pytest.mark.parametrize("mode", [PromptMode.PSM, PromptMode.SPM])
def test_long_suffixes_match_the_reference_too(vocab: Vocab, mode: PromptMode) -> None:
    suffix = "\n".join(f"    y{i} = call({i})" for i in range(40)) + "\n"
    for prefix in ("def g(y):\n    ", "def g(y):\n    ret"):
        for _ in range(2):  # the second time comes from the cache
            ours = build_prompt(vocab, prefix, suffix, mode)
            assert ours == reference_prompt(vocab, prefix, suffix, spm=mode is PromptMode.SPM)
