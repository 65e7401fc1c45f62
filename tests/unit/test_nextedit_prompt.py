"""Next-edit prompts token for token against their references, through llama.cpp's tokenizer of
generated GGUFs; and the model's answer back to edits.

The references are written here from the published texts, as template strings read by the tokenizer
with special tokens parsed (each text between two special tokens encoded whole):
- Zeta: zed-industries/zed `crates/zeta_prompt/src/zeta_prompt.rs` (`write_event`,
  `format_edit_history_within_budget`, `v0113_ordered::write_cursor_excerpt_section`);
- Sweep: the Sweep Next-Edit format (`<|file_sep|>{path}.diff` with `original:`/`updated:` blocks,
  then `original/`, `current/` and `updated/` sections, joined by newlines);
- FIM: Meta's `infilling_prompt_tokens` (PSM) with the history as a comment before the prefix;
- chat: Meta's `chat_completion` for Code Llama - Instruct.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from codellama_ls.engine.llama import LlamaVocab
from codellama_ls.engine.scripted import ScriptedEngine, render
from codellama_ls.nextedit.diff import RegionEdit
from codellama_ls.nextedit.history import EditKind, Hunk, hunks_between
from codellama_ls.nextedit.pipeline import next_edit_vocab
from codellama_ls.nextedit.prompt import (
    CHAT_SYSTEM,
    NextEditError,
    NextEditFormat,
    NextEditVocab,
    answer_complete,
    chat_messages,
    choose_format,
    edits_from_answer,
    formats_for,
    history_comment,
    new_region,
    next_edit_prompt,
)
from codellama_ls.nextedit.region import Region, editable_region
from codellama_ls.prompts.chat import ChatStyle, ChatVocab
from codellama_ls.prompts.families import family_named
from codellama_ls.prompts.fim import Vocab
from tests.support.cursor import split_cursor
from tests.support.gguf_families import write_family_gguf
from tests.support.gguf_models import CHATML_TEMPLATE, CODELLAMA_INSTRUCT_TEMPLATE, write_codellama_gguf

SEP_FAMILIES = ("qwen2.5-coder", "starcoder2")

BEFORE = (
    "import math\n\n\ndef total(prices, rate):\n    subtotal = sum(prices)\n    return subtotal * rate\n\n\n"
    "print(total([1, 2], 0.2))\n"
)
MARKED = BEFORE.replace("(prices, rate)", "(prices, tax_rate█)")

# (name, the file with the cursor, the history, related files)
SCENARIOS: list[tuple[str, str, list[Hunk], list[tuple[str, str]]]] = [
    ("a rename", MARKED, hunks_between("src/calc.py", BEFORE, split_cursor(MARKED)[0]), []),
    ("no history", MARKED, [], []),
    (
        "two files, an accepted edit, related files",
        MARKED,
        [
            Hunk("util/io.py", 4, ("def read(path):",), ("def read(path, encoding):",), ("import os",), ("    pass",)),
            *hunks_between("src/calc.py", BEFORE, split_cursor(MARKED)[0]),
            Hunk("src/calc.py", 8, (), ("# done",), ("",), (), EditKind.ACCEPTED),
        ],
        [("util/io.py", "def read(path, encoding):\n    pass\n"), ("README", "calc")],
    ),
    ("non-ASCII and CRLF", "x = 'é'\r\ny = █1\r\n\tz = 2\r\n", [Hunk("a.py", 0, ("x = 1\r",), ("x = 'é'\r",))], []),
    ("cursor at the end, no final newline", "a = 1\nb = 2█", [], []),
]
IDS = [s[0] for s in SCENARIOS]


def _vocab(llama: LlamaVocab) -> Vocab:
    info = llama.info
    return Vocab(encode=llama.tokenize, bos=info.bos, fim=info.fim, adds_space_prefix=info.adds_space_prefix)


@pytest.fixture(scope="module")
def llamas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LlamaVocab]]:
    folder = tmp_path_factory.mktemp("nextedit")
    loaded = {key: LlamaVocab(write_family_gguf(folder / f"{key}.gguf", key)) for key in SEP_FAMILIES}
    loaded["codellama"] = LlamaVocab(
        write_codellama_gguf(
            folder / "instruct.gguf", name="CodeLlama Instruct Test", chat_template=CODELLAMA_INSTRUCT_TEMPLATE
        )
    )
    yield loaded
    for llama in loaded.values():
        llama.close()


def _sections(text: str, region: Region, lines: int = 40) -> tuple[str, str, str]:
    """Up to `lines` whole lines above the region, the region, and up to `lines` below it."""
    head = text[: region.start].split("\n")[:-1]
    tail = text[region.end :]
    above = "".join(line + "\n" for line in head[-lines:]) if head else ""
    below = "".join(tail.splitlines(keepends=True)[:lines])
    return above, region.of(text), below


def zeta_reference(
    key: str, hunks: list[Hunk], text: str, cursor: int, region: Region, related: list[tuple[str, str]]
) -> str:
    family = family_named(key)
    sep, pre, suf, mid = family.file_sep, family.prefix, family.suffix, family.middle

    def newline(prompt: str) -> str:
        return prompt if prompt.endswith("\n") else prompt + "\n"

    prompt = ""
    for path, body in related:  # write_related_files
        prompt = newline(prompt + f"{sep}{path}\n" + body)
    if hunks:  # format_edit_history_within_budget, write_event
        prompt += f"{sep}edit history\n"
        for hunk in hunks:
            if hunk.kind is EditKind.ACCEPTED:
                prompt += "// User accepted prediction:\n"
            prompt += f"--- a/{hunk.path}\n+++ b/{hunk.path}\n{hunk.unified()}"
    above, _, below = _sections(text, region)
    prompt += f"{sep}src/calc.py\n"  # v0113_ordered::write_cursor_excerpt_section
    prompt = newline(prompt + f"{pre}\n" + above)
    prompt = newline(
        prompt + f"{mid}current\n" + text[region.start : cursor] + "<|user_cursor|>" + text[cursor : region.end]
    )
    prompt = newline(prompt + f"{suf}\n" + below)
    return prompt + f"{mid}updated\n"


def sweep_reference(
    key: str, hunks: list[Hunk], text: str, region: Region, related: list[tuple[str, str]], original: str
) -> str:
    sep = family_named(key).file_sep
    parts: list[str] = []
    for path, body in related:
        parts += [f"{sep}{path}", body.removesuffix("\n")]
    for hunk in hunks:
        parts += [f"{sep}{hunk.path}.diff", "original:", hunk.before_text(), "updated:", hunk.after_text()]
    parts += [
        f"{sep}original/src/calc.py",
        original.removesuffix("\n"),
        f"{sep}current/src/calc.py",
        region.of(text).removesuffix("\n"),
        f"{sep}updated/src/calc.py",
    ]
    return "\n".join(parts) + "\n"


@pytest.mark.parametrize("key", SEP_FAMILIES)
@pytest.mark.parametrize(("name", "marked", "hunks", "related"), SCENARIOS, ids=IDS)
def test_zeta_prompt_equals_zeds_template(
    llamas: dict[str, LlamaVocab], key: str, name: str, marked: str, hunks: list[Hunk], related: list[tuple[str, str]]
) -> None:
    llama = llamas[key]
    text, cursor = split_cursor(marked)
    prompt = next_edit_prompt(
        hunks,
        text,
        cursor,
        NextEditVocab(_vocab(llama)),
        NextEditFormat.ZETA,
        path="src/calc.py",
        region_lines=3,
        related=related,
    )
    expected = zeta_reference(key, hunks, text, cursor, prompt.region, related)
    assert prompt.tokens == llama.tokenize_special(expected)
    assert prompt.old_region == prompt.region.of(text) and prompt.hunks == len(hunks)


@pytest.mark.parametrize("key", SEP_FAMILIES)
@pytest.mark.parametrize(("name", "marked", "hunks", "related"), SCENARIOS, ids=IDS)
def test_sweep_prompt_equals_its_format(
    llamas: dict[str, LlamaVocab], key: str, name: str, marked: str, hunks: list[Hunk], related: list[tuple[str, str]]
) -> None:
    llama = llamas[key]
    text, cursor = split_cursor(marked)
    prompt = next_edit_prompt(
        hunks,
        text,
        cursor,
        NextEditVocab(_vocab(llama)),
        NextEditFormat.SWEEP,
        path="src/calc.py",
        region_lines=3,
        related=related,
    )
    region_text = prompt.region.of(text)
    # `original/`: the region before the file's last edit, where that edit lies inside it.
    original = region_text.replace("tax_rate", "rate") if name == "a rename" else region_text
    expected = sweep_reference(key, hunks, text, prompt.region, related, original)
    assert prompt.tokens == llama.tokenize_special(expected)


def test_sweep_original_section_undoes_the_last_edit(llamas: dict[str, LlamaVocab]) -> None:
    llama = llamas["qwen2.5-coder"]
    text, cursor = split_cursor(MARKED)
    hunks = hunks_between("src/calc.py", BEFORE, text)
    prompt = next_edit_prompt(
        hunks, text, cursor, NextEditVocab(_vocab(llama)), NextEditFormat.SWEEP, path="src/calc.py", region_lines=3
    )
    rendered = "".join(llama.token_text(t) for t in prompt.tokens)
    assert "original/src/calc.py\n\ndef total(prices, rate):\n" in rendered.replace("Ċ", "\n").replace("Ġ", " ")


@pytest.mark.parametrize(("name", "marked", "hunks", "related"), SCENARIOS, ids=IDS)
def test_fim_prompt_is_meta_psm_with_the_history_as_a_comment(
    llamas: dict[str, LlamaVocab], name: str, marked: str, hunks: list[Hunk], related: list[tuple[str, str]]
) -> None:
    llama = llamas["codellama"]
    vocab = _vocab(llama)
    text, cursor = split_cursor(marked)
    prompt = next_edit_prompt(
        hunks, text, cursor, NextEditVocab(vocab), NextEditFormat.FIM, path="src/calc.py", region_lines=3
    )
    above, _, below = _sections(text, prompt.region)
    fim = vocab.fim
    assert fim is not None and vocab.bos is not None
    prefix = history_comment(hunks, "#") + above

    def encode_infilling(s: str) -> list[int]:  # Meta's sp_model.encode("☺" + s)[2:]
        return llama.tokenize("☺" + s)[2:] if s else []

    expected = [
        vocab.bos,
        fim.prefix,
        *(llama.tokenize(prefix) if prefix else []),
        fim.suffix,
        *encode_infilling(below),
        fim.middle,
    ]
    assert prompt.tokens == expected


def test_history_comment() -> None:
    hunk = Hunk("a.py", 0, ("x = 1",), ("x = 2",), (), ("y = x",))
    assert history_comment([hunk], "//") == (
        "// Recent edits:\n// --- a/a.py\n// +++ b/a.py\n// @@ -1,2 +1,2 @@\n// -x = 1\n// +x = 2\n//  y = x\n"
    )
    assert history_comment([hunk], None) == history_comment([], "#") == ""


def reference_llama2(encode: Callable[[str], list[int]], bos: int, system: str, user: str) -> list[int]:
    """Meta's chat_completion for one system and one user message."""
    return [bos, *encode(f"[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user.strip()} [/INST]")]


@pytest.mark.parametrize(("name", "marked", "hunks", "related"), SCENARIOS, ids=IDS)
def test_chat_prompt_is_meta_chat_completion(
    llamas: dict[str, LlamaVocab], name: str, marked: str, hunks: list[Hunk], related: list[tuple[str, str]]
) -> None:
    llama = llamas["codellama"]
    vocab = _vocab(llama)
    assert vocab.bos is not None
    chat = ChatVocab(vocab, llama.info.eos, llama.tokenize_special)
    text, cursor = split_cursor(marked)
    nv = NextEditVocab(vocab, chat, ChatStyle.LLAMA2, CODELLAMA_INSTRUCT_TEMPLATE)
    prompt = next_edit_prompt(
        hunks, text, cursor, nv, NextEditFormat.CHAT, path="src/calc.py", region_lines=3, language="python"
    )
    system, user = chat_messages(hunks, text, cursor, "src/calc.py", prompt.region, "python")
    assert system.content == CHAT_SYSTEM
    region = prompt.region.of(text)
    at = cursor - prompt.region.start
    assert f"```python\n{region[:at]}<|user_cursor|>{region[at:]}" in user.content
    assert ("```diff\n" + "".join(f"--- a/{h.path}\n+++ b/{h.path}\n" for h in hunks[:1])) in user.content
    assert prompt.tokens == reference_llama2(llama.tokenize, vocab.bos, system.content, user.content)


def test_chat_prompt_through_a_chatml_template() -> None:
    engine = ScriptedEngine(fim=False, adds_space_prefix=False, chat_template=CHATML_TEMPLATE)
    nv = next_edit_vocab(engine)
    assert formats_for(nv) == (NextEditFormat.CHAT,)
    text, cursor = split_cursor(MARKED)
    prompt = next_edit_prompt([], text, cursor, nv, NextEditFormat.CHAT, path="a.py", region_lines=3)
    system, user = chat_messages([], text, cursor, "a.py", prompt.region, "")
    assert render(prompt.tokens) == (
        f"<s><|im_start|>system\n{system.content}<|im_end|>\n<|im_start|>user\n{user.content}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


@pytest.mark.parametrize(
    ("engine", "setting", "expected"),
    [
        (ScriptedEngine(), "auto", NextEditFormat.FIM),
        (ScriptedEngine(), "zeta", None),  # no file separator token
        (ScriptedEngine(chat_template=CODELLAMA_INSTRUCT_TEMPLATE), "auto", NextEditFormat.CHAT),
        (ScriptedEngine(chat_template=CODELLAMA_INSTRUCT_TEMPLATE), "fim", NextEditFormat.FIM),
        (ScriptedEngine(fim=False), "auto", None),
    ],
)
def test_choose_format(engine: ScriptedEngine, setting: str, expected: NextEditFormat | None) -> None:
    assert choose_format(setting, next_edit_vocab(engine)) is expected


def test_the_families_with_file_separators_default_to_sweep(llamas: dict[str, LlamaVocab]) -> None:
    for key in SEP_FAMILIES:
        assert formats_for(NextEditVocab(_vocab(llamas[key]))) == (
            NextEditFormat.SWEEP,
            NextEditFormat.ZETA,
            NextEditFormat.FIM,
        )
    assert choose_format("auto", NextEditVocab(_vocab(llamas["codellama"]))) is NextEditFormat.FIM


def test_a_format_the_vocab_cannot_take_is_refused() -> None:
    nv = next_edit_vocab(ScriptedEngine())
    with pytest.raises(NextEditError):
        next_edit_prompt([], "x\n", 0, nv, NextEditFormat.SWEEP)


def test_the_prompt_fits_n_ctx_oldest_hunks_first_out() -> None:
    nv = next_edit_vocab(ScriptedEngine())
    text = "".join(f"line{i}\n" for i in range(200))
    hunks = [Hunk("a.py", i, (f"old{i}",), (f"line{i}",)) for i in range(0, 200, 20)]
    full = next_edit_prompt(hunks, text, text.index("line100"), nv, NextEditFormat.FIM, region_lines=5)
    assert full.hunks == len(hunks)
    fitted = next_edit_prompt(
        hunks,
        text,
        text.index("line100"),
        nv,
        NextEditFormat.FIM,
        region_lines=5,
        n_ctx=len(full.tokens) - 50 + full.max_tokens,
    )
    assert (
        0 < fitted.hunks < len(hunks)
        and len(fitted.tokens) + fitted.max_tokens <= len(full.tokens) - 50 + full.max_tokens
    )
    with pytest.raises(NextEditError):
        next_edit_prompt(hunks, text, 0, nv, NextEditFormat.FIM, region_lines=5, n_ctx=10)


OLD = "def total(prices, tax_rate):\n    subtotal = sum(prices)\n    return subtotal * rate\n"
NEW = OLD.replace("* rate", "* tax_rate")
AT = OLD.index("rate\n")
ANSWERS: list[tuple[str, NextEditFormat, str, list[RegionEdit]]] = [
    (
        "zeta, with the cursor marker",
        NextEditFormat.ZETA,
        NEW.replace("tax_rate)", "tax_rate<|user_cursor|>)"),
        [RegionEdit(AT, AT, "tax_")],
    ),
    ("sweep, without the final newline", NextEditFormat.SWEEP, NEW[:-1], [RegionEdit(AT, AT, "tax_")]),
    ("fim", NextEditFormat.FIM, NEW, [RegionEdit(AT, AT, "tax_")]),
    ("chat, one fenced block", NextEditFormat.CHAT, f"Here:\n```python\n{NEW}```\nDone.", [RegionEdit(AT, AT, "tax_")]),
    ("chat, an unclosed fence", NextEditFormat.CHAT, f"```\n{NEW}", [RegionEdit(AT, AT, "tax_")]),
    ("chat, no fence", NextEditFormat.CHAT, NEW, []),
    ("nothing changed", NextEditFormat.ZETA, OLD, []),
    ("an empty answer", NextEditFormat.FIM, "", []),
]


@pytest.mark.parametrize(("fmt", "answer", "expected"), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS])
def test_edits_from_answer(fmt: NextEditFormat, answer: str, expected: list[RegionEdit]) -> None:
    assert edits_from_answer(OLD, answer, fmt) == expected


@pytest.mark.parametrize(
    ("answer", "fmt", "complete"),
    [
        ("```python\nx = 1\n", NextEditFormat.CHAT, False),
        ("```python\nx = 1\n```", NextEditFormat.CHAT, True),
        ("Sure:\n~~~\nx\n~~~\nmore", NextEditFormat.CHAT, True),
        ("x = 1\n```", NextEditFormat.CHAT, False),
        ("```\nx\n```", NextEditFormat.ZETA, False),  # the others end at the model's end token
    ],
)
def test_answer_complete(answer: str, fmt: NextEditFormat, complete: bool) -> None:
    assert answer_complete(answer, fmt) is complete


def test_new_region_keeps_the_old_regions_final_newline() -> None:
    assert new_region("a\n", "b", NextEditFormat.ZETA) == "b\n"
    assert new_region("a", "b\n", NextEditFormat.ZETA) == "b"
    assert new_region("a\n", "no fence", NextEditFormat.CHAT) is None


def test_default_region_is_the_plain_window() -> None:
    nv = next_edit_vocab(ScriptedEngine())
    text, cursor = split_cursor(MARKED)
    prompt = next_edit_prompt([], text, cursor, nv, NextEditFormat.FIM, region_lines=3)
    assert prompt.region == editable_region(text, cursor, 3)
