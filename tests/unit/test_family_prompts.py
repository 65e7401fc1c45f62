"""Token-exact prompts per family, through llama.cpp's own tokenizer of a generated GGUF.

Each family's prompt is checked token for token against a builder written from its reference:
the model card's template text read by the tokenizer (special tokens parsed, each text between them
encoded whole; BOS where the reference tokenizer adds it) for Qwen2.5-Coder, DeepSeek-Coder,
StarCoder2 and CodeGemma; mistral-common's `encode_fim` for Codestral; llama-server's own `/infill`
for Qwen2.5-Coder's repository layout (llama.cpp builds it for models with FIM_REP/FIM_SEP tokens).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from codellama_ls.engine.llama import LlamaVocab
from codellama_ls.prompts.families import CODESTRAL, family_named
from codellama_ls.prompts.fim import (
    PromptMode,
    Repo,
    Vocab,
    build_prompt,
    choose_mode,
    encode_infilling,
    head_start,
    heal,
)
from tests.support.gguf_families import SPECS, write_family_gguf
from tests.support.llama_server import LlamaServer, missing_reason

FAMILY_KEYS = ("qwen2.5-coder", "deepseek-coder", "starcoder2", "codegemma", "codestral")

# (prefix, suffix): spaces and tabs at either edge, CRLF, non-ASCII, empty sides, words cut short.
CASES: list[tuple[str, str]] = [
    ("def f(x):\n    return ", "\n\nprint(f(1))\n"),
    ("", "return x\n"),
    ("x = 1\n", ""),
    ("", ""),
    (" leading space", "trailing space "),
    ("  two spaces", "  two spaces"),
    ("\tindented", "\t\tmore"),
    ("line\r\n", "\r\nnext"),
    ("crlf\r\n    ", "    \r\n"),
    ("é = 'ünïcödé'\n", "# 日本語\n"),
    ("emoji = '🙂'", " + '🙂'"),
    ("if x ==", " 1:\n    pass"),
    ("foo(", ")"),
    ("    ", "\n"),
    ("\n", "\n"),
    ("\n\n\n", ""),
    ("x  ", "  y"),
    (" ", " "),
    ("def", ""),
    ("", "def"),
    ("    retur", "\n"),
    ('s = "', '"\n'),
    ("1234567", "89"),
    ("tab\t", "\ttab"),
    ("class A:\n\tdef f(self):\n\t\treturn self.", "\n\nA().f()"),
]


@pytest.fixture(scope="module")
def vocabs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LlamaVocab]]:
    folder = tmp_path_factory.mktemp("families")
    loaded = {key: LlamaVocab(write_family_gguf(folder / f"{key}.gguf", key)) for key in FAMILY_KEYS}
    yield loaded
    for vocab in loaded.values():
        vocab.close()


def vocab_for(llama: LlamaVocab) -> Vocab:
    info = llama.info
    return Vocab(
        encode=llama.tokenize,
        bos=info.bos,
        fim=info.fim,
        adds_space_prefix=info.adds_space_prefix,
        piece=lambda t: llama.piece_bytes(t).decode("utf-8", "replace"),
        n_vocab=info.n_vocab,
    )


def template_reference(llama: LlamaVocab, key: str, prefix: str, suffix: str, middle_text: str = "") -> list[int]:
    """The model card's way: one template text through the tokenizer, special tokens parsed."""
    family = family_named(key)
    text = f"{family.prefix}{prefix}{family.suffix}{suffix}{family.middle}"
    bos = [llama.info.bos] if family.bos and llama.info.bos is not None else []
    return bos + llama.tokenize_special(text) + llama.tokenize(middle_text)


def mistral_reference(llama: LlamaVocab, prefix: str, suffix: str) -> list[int]:
    """mistral-common's InstructTokenizerV2.encode_fim: [BOS, SUFFIX] + encode_infilling(suffix) +
    [PREFIX] + encode(prefix), where encode_infilling drops the two tokens of a leading "☺"."""
    tokens = llama.tokenize
    suffix_tokens = tokens("☺" + suffix)[2:] if suffix else []
    suffix_id, prefix_id = tokens_special_one(llama, "[SUFFIX]"), tokens_special_one(llama, "[PREFIX]")
    bos = llama.info.bos
    assert bos is not None
    return [bos, suffix_id, *suffix_tokens, prefix_id, *tokens(prefix)]


def tokens_special_one(llama: LlamaVocab, text: str) -> int:
    ids = llama.tokenize_special(text)
    assert len(ids) == 1, (text, ids)
    return ids[0]


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_family_recognised_with_its_bos_and_space_rules(vocabs: dict[str, LlamaVocab], key: str) -> None:
    info = vocabs[key].info
    family = family_named(key)
    assert info.fim is not None and info.fim.family == key
    assert (info.bos is not None) == family.bos
    assert info.adds_space_prefix == family.space_prefix


@pytest.mark.parametrize("key", [k for k in FAMILY_KEYS if k != "codestral"])
@pytest.mark.parametrize(("prefix", "suffix"), CASES)
def test_psm_prompt_equals_the_template_read_by_the_tokenizer(
    vocabs: dict[str, LlamaVocab], key: str, prefix: str, suffix: str
) -> None:
    llama = vocabs[key]
    vocab = vocab_for(llama)
    assert build_prompt(vocab, prefix, suffix, PromptMode.PSM) == template_reference(llama, key, prefix, suffix)


@pytest.mark.parametrize("key", [k for k in FAMILY_KEYS if k != "codestral"])
@pytest.mark.parametrize(("prefix", "suffix"), CASES)
def test_line_prompt_is_the_template_with_the_head_after_the_middle(
    vocabs: dict[str, LlamaVocab], key: str, prefix: str, suffix: str
) -> None:
    """LINE: the template of the lines above the cursor line, then the cursor line's head after the
    middle token, encoded on its own (the text after a special token, as a tokenizer reads it)."""
    llama = vocabs[key]
    cut = head_start(prefix)
    expected = template_reference(llama, key, prefix[:cut], suffix, prefix[cut:])
    assert build_prompt(vocab_for(llama), prefix, suffix, PromptMode.LINE) == expected


@pytest.mark.parametrize(("prefix", "suffix"), CASES)
def test_codestral_prompt_equals_mistral_common_encode_fim(
    vocabs: dict[str, LlamaVocab], prefix: str, suffix: str
) -> None:
    llama = vocabs["codestral"]
    vocab = vocab_for(llama)
    mode = choose_mode("auto", vocab, prefix)
    assert mode is PromptMode.SPM
    assert build_prompt(vocab, prefix, suffix, mode) == mistral_reference(llama, prefix, suffix)
    # Whatever layout the settings ask for, Codestral gets the one it was trained on.
    for asked in ("psm", "line", "spm"):
        assert choose_mode(asked, vocab, prefix) is PromptMode.SPM


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_auto_mode_per_family(vocabs: dict[str, LlamaVocab], key: str) -> None:
    vocab = vocab_for(vocabs[key])
    expected = PromptMode.SPM if family_named(key) is CODESTRAL else PromptMode.LINE
    assert choose_mode("auto", vocab, "x") is expected
    # Families not trained suffix-first get LINE for `spm`: also append-only while typing.
    if family_named(key) is not CODESTRAL:
        assert choose_mode("spm", vocab, "x") is PromptMode.LINE
        assert choose_mode("psm", vocab, "x") is PromptMode.PSM


@pytest.mark.parametrize("key", FAMILY_KEYS)
@pytest.mark.parametrize("prefix", ["def f(x):\n    retur", "x = foo.ap", "    value_o", "if a =", "    valu"])
def test_token_healing_backs_off_a_word_being_typed(vocabs: dict[str, LlamaVocab], key: str, prefix: str) -> None:
    """Byte-level BPE too: what is backed off is the prompt's tail that the tokenizer would spell
    otherwise once the word goes on, decided by the tokenizer itself."""
    vocab = vocab_for(vocabs[key])
    mode = choose_mode("auto", vocab, prefix)
    tokens = build_prompt(vocab, prefix, "\n", mode)
    healed, constraint = heal(vocab, tokens, prefix, mode)
    assert constraint and prefix.endswith(constraint)
    assert healed == tokens[: len(healed)]
    assert encode_infilling(vocab, constraint) == tokens[len(healed) :]


def _repo() -> Repo:
    return Repo(
        "library-system",
        (("library.py", "class Book:\n    pass\n"), ("util/student.py", "class Student:\n\tpass")),
        "main.py",
    )


@pytest.mark.parametrize(("prefix", "suffix"), CASES[:12])
def test_qwen_repository_layout_equals_its_example(vocabs: dict[str, LlamaVocab], prefix: str, suffix: str) -> None:
    """QwenLM/Qwen2.5-Coder examples/Qwen2.5-Coder-repolevel-fim.py: <|repo_name|>name, then each file
    after <|file_sep|> with its path on the first line, the current file's path last, then FIM."""
    llama = vocabs["qwen2.5-coder"]
    repo = _repo()
    text = "<|repo_name|>library-system\n"
    text += "".join(f"<|file_sep|>{path}\n{body}\n" for path, body in repo.files)
    text += f"<|file_sep|>main.py\n<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"
    assert build_prompt(vocab_for(llama), prefix, suffix, PromptMode.PSM, repo=repo) == llama.tokenize_special(text)


@pytest.mark.parametrize(("prefix", "suffix"), CASES[:12])
def test_starcoder2_repository_layout_equals_its_paper(vocabs: dict[str, LlamaVocab], prefix: str, suffix: str) -> None:
    """StarCoder2 (arXiv 2402.19173, 5.1): <repo_name>name<file_sep>path\\ncode ... <file_sep><fim_prefix>
    path\\nprefix<fim_suffix>suffix<fim_middle>: the current file's path inside the FIM prefix."""
    llama = vocabs["starcoder2"]
    repo = _repo()
    text = "<repo_name>library-system" + "".join(f"<file_sep>{path}\n{body}" for path, body in repo.files)
    text += f"<file_sep><fim_prefix>main.py\n{prefix}<fim_suffix>{suffix}<fim_middle>"
    assert build_prompt(vocab_for(llama), prefix, suffix, PromptMode.PSM, repo=repo) == llama.tokenize_special(text)
    # LINE: the head after <fim_middle>, the path and the lines above it in the prefix.
    cut = head_start(prefix)
    line_text = text.replace(f"{prefix}<fim_suffix>", f"{prefix[:cut]}<fim_suffix>")
    expected = llama.tokenize_special(line_text) + llama.tokenize(prefix[cut:])
    assert build_prompt(vocab_for(llama), prefix, suffix, PromptMode.LINE, repo=repo) == expected


@pytest.mark.parametrize("key", ["deepseek-coder", "codegemma"])
def test_families_without_a_repository_layout_ignore_it(vocabs: dict[str, LlamaVocab], key: str) -> None:
    vocab = vocab_for(vocabs[key])
    assert build_prompt(vocab, "a", "b", PromptMode.PSM, repo=_repo()) == build_prompt(vocab, "a", "b", PromptMode.PSM)


@pytest.mark.parametrize("metadata", ["new", "old", "none"])
@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_recognised_with_any_metadata(tmp_path: Path, key: str, metadata: str) -> None:
    """FIM ids in the current metadata keys, the older ones, or none at all: the same prompt."""
    llama = LlamaVocab(write_family_gguf(tmp_path / "m.gguf", key, metadata=metadata))
    try:
        info = llama.info
        assert info.fim is not None and info.fim.family == key
        spec = SPECS[key]
        if spec.fim_ids[0]:
            assert info.fim.prefix == tokens_special_one(llama, spec.fim_ids[0])
    finally:
        llama.close()


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_plan_puts_other_files_in_the_family_layout(vocabs: dict[str, LlamaVocab], key: str) -> None:
    """Through `completion.plan`: Qwen2.5-Coder and StarCoder2 get the other files as a repository,
    path by path, the current file last; the others keep the comment-headed chunks in the prefix."""
    from codellama_ls.completion.crossfile import OtherDocument
    from codellama_ls.completion.pipeline import plan
    from codellama_ls.completion.snapshot import snapshot_of
    from codellama_ls.documents.document import Document
    from codellama_ls.settings.config import Settings

    llama = vocabs[key]
    other = OtherDocument("file:///w/shop/cart.py", "def add_item(cart, item):\n    cart.append(item)\n")
    text = "from cart import add_item\n\ndef fill(cart):\n    add_item(cart, 1)\n    "
    snap = snapshot_of(Document("file:///w/shop/main.py", "python", 1, text), len(text), others=[other])
    the_plan = plan(vocab_for(llama), 2048, snap, Settings(token_healing=False))
    shown = "".join(llama.token_text(t) for t in the_plan.tokens)
    family = family_named(key)
    if family.layout.value == "repo-lines":
        assert shown.startswith("<|repo_name|>shop\n<|file_sep|>cart.py\ndef add_item")
        assert "<|file_sep|>main.py\n<|fim_prefix|>from cart import" in shown
    elif family.layout.value == "repo-inline":
        assert shown.startswith("<repo_name>shop<file_sep>cart.py\ndef add_item")
        assert "<file_sep><fim_prefix>main.py\nfrom cart import" in shown
    else:
        assert "# cart.py\ndef add_item" in shown
        assert "<|repo_name|>" not in shown and "<repo_name>" not in shown


@pytest.mark.skipif(bool(missing_reason()), reason=missing_reason() or "llama-server present")
def test_qwen_repository_prompt_equals_llama_servers_infill(tmp_path: Path) -> None:
    """llama-server's /infill builds the repository layout itself for a model with FIM_REP and FIM_SEP
    tokens, naming the repository "myproject" and the current file "filename": the same prompt, shown as
    the same text and evaluated as the same number of tokens."""
    import json
    import urllib.request

    model = write_family_gguf(tmp_path / "qwen.gguf", "qwen2.5-coder")
    llama = LlamaVocab(model)
    try:
        with LlamaServer(model, n_ctx=4096) as server:
            # ASCII only: the server shows each token's bytes on their own, a character split in two as "��".
            for prefix, suffix in [case for case in CASES if (case[0] + case[1]).isascii()]:
                files = (("lib/a.py", "x = 1\n\ndef a():\n    return x"), ("b.py", "\ty = 2"))
                body = {
                    "input_prefix": prefix,
                    "input_suffix": suffix,
                    "input_extra": [{"filename": path, "text": text + "\n"} for path, text in files],
                    "n_predict": 1,
                }
                request = urllib.request.Request(
                    f"{server.url}/infill", json.dumps(body).encode(), {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.loads(response.read())
                ours = build_prompt(
                    vocab_for(llama), prefix, suffix, PromptMode.PSM, repo=Repo("myproject", files, "filename")
                )
                assert "".join(llama.token_text(t) for t in ours) == answer["prompt"]
                assert len(ours) == answer["tokens_evaluated"]
    finally:
        llama.close()
