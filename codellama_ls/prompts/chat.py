"""Chat prompts for instruction-tuned models, at token level (pure).

Code Llama - Instruct is trained on Meta's Llama 2 chat format (facebookresearch/codellama,
`chat_completion`): every finished turn is
  [BOS] + encode("[INST] {user} [/INST] {answer} ") + [EOS]
and the open turn is [BOS] + encode("[INST] {user} [/INST]"), the system prompt folded into the
first user message between "<<SYS>>\\n" and "\\n<</SYS>>\\n\\n". The markers are plain text in Code
Llama's vocab; BOS and EOS are tokens, never text, so code that contains "</s>" stays text.

Other instruct models (SmolLM2's ChatML, say) bring their format as the GGUF's Jinja chat template:
it is rendered with a placeholder for each message, and only the template's own text is
tokenized with special tokens parsed; the messages are tokenized as plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from codellama_ls.prompts.fim import Vocab, encode_infilling

Role = Literal["system", "user", "assistant"]
Encode = Callable[[str], list[int]]

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"


class ChatError(ValueError):
    """A conversation the format cannot express, or a template that does not render."""


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


class ChatStyle(str, Enum):
    LLAMA2 = "llama2"
    """Code Llama - Instruct (and Llama 2 chat): built here, token by token."""
    TEMPLATE = "template"
    """Any other format, from the GGUF's `tokenizer.chat_template`."""


def style_of(template: str | None, name: str = "") -> ChatStyle | None:
    """The chat format a model was trained on, from its GGUF metadata; None for a model that was
    not instruction-tuned. Code Llama - Instruct GGUFs converted before chat templates existed
    carry only their name ("codellama_codellama-7b-instruct-hf")."""
    if template:
        if B_INST in template and "<<SYS>>" in template:
            return ChatStyle.LLAMA2
        return ChatStyle.TEMPLATE
    lowered = name.lower()
    if "instruct" in lowered and ("codellama" in lowered or "code llama" in lowered or "llama" in lowered):
        return ChatStyle.LLAMA2
    return None


@dataclass(frozen=True)
class ChatVocab:
    """What a chat prompt needs of a tokenizer besides `Vocab`."""

    vocab: Vocab
    eos: int | None
    encode_special: Encode | None = None
    """Text to tokens with special-token texts ("<|im_start|>") parsed; for template styles."""
    bos_text: str = "<s>"
    eos_text: str = "</s>"


def _fold_system(messages: Sequence[Message]) -> list[Message]:
    if messages and messages[0].role == "system":
        if len(messages) < 2:
            raise ChatError("a system prompt needs a user message after it")
        first = messages[1]
        merged = Message(first.role, B_SYS + messages[0].content + E_SYS + first.content)
        return [merged, *messages[2:]]
    return list(messages)


def llama2_prompt(chat: ChatVocab, messages: Sequence[Message]) -> list[int]:
    """Meta's `chat_completion` prompt, token for token."""
    turns = _fold_system(messages)
    if not turns or turns[-1].role != "user":
        raise ChatError("the conversation must end with a user message")
    for index, message in enumerate(turns):
        if message.role != ("user" if index % 2 == 0 else "assistant"):
            raise ChatError("after the system prompt, messages must alternate user, assistant, user, ...")
    vocab = chat.vocab
    bos = [vocab.bos] if vocab.bos is not None else []
    eos = [chat.eos] if chat.eos is not None else []
    tokens: list[int] = []
    for user, answer in zip(turns[:-1:2], turns[1::2], strict=True):
        text = f"{B_INST} {user.content.strip()} {E_INST} {answer.content.strip()} "
        tokens += bos + vocab.encode(text) + eos
    return tokens + bos + vocab.encode(f"{B_INST} {turns[-1].content.strip()} {E_INST}")


_MARK = "\ue000{}\ue001"  # private-use code points: a template has no reason to emit them


def _render(template: str, messages: Sequence[Message], bos_text: str, eos_text: str) -> str:
    # Imported here: only template-style models need Jinja (a dependency of llama-cpp-python).
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> Any:
        raise ChatError(f"the model's chat template refused the conversation: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    try:
        compiled = env.from_string(template)
        marked = [{"role": m.role, "content": _MARK.format(i)} for i, m in enumerate(messages)]
        return compiled.render(messages=marked, bos_token=bos_text, eos_token=eos_text, add_generation_prompt=True)
    except TemplateError as exc:
        raise ChatError(f"the model's chat template does not render: {exc}") from exc


def template_prompt(chat: ChatVocab, template: str, messages: Sequence[Message]) -> list[int]:
    """The template's text with special tokens parsed; each message's text as plain text."""
    if chat.encode_special is None:
        raise ChatError("this engine cannot tokenize a chat template")
    rendered = _render(template, messages, chat.bos_text, chat.eos_text)
    tokens: list[int] = []
    rest = rendered
    for index, message in enumerate(messages):
        mark = _MARK.format(index)
        head, found, rest = rest.partition(mark)
        if not found:
            raise ChatError("the model's chat template leaves out a message")
        if head:
            tokens += chat.encode_special(head) if not tokens else _no_space(chat, head, special=True)
        content = message.content.strip()
        if content:
            tokens += _no_space(chat, content, special=False) if tokens else chat.vocab.encode(content)
    if rest:
        tokens += _no_space(chat, rest, special=True)
    bos = chat.vocab.bos
    if bos is not None and tokens[:1] != [bos]:
        tokens.insert(0, bos)  # as llama.cpp does for a model that asks for BOS
    return tokens


def _no_space(chat: ChatVocab, text: str, *, special: bool) -> list[int]:
    """Tokens of text that continues a prompt: without SentencePiece's implicit leading space."""
    if not special:
        return encode_infilling(chat.vocab, text)
    assert chat.encode_special is not None
    if not chat.vocab.adds_space_prefix:
        return chat.encode_special(text)
    # A newline never merges with what follows it, so it absorbs the implicit space.
    head = chat.encode_special("\n")
    tokens = chat.encode_special("\n" + text)
    return tokens[len(head) :] if tokens[: len(head)] == head else chat.encode_special(text)


def chat_prompt(chat: ChatVocab, style: ChatStyle, template: str | None, messages: Sequence[Message]) -> list[int]:
    if style is ChatStyle.LLAMA2:
        return llama2_prompt(chat, messages)
    if not template:
        raise ChatError("the model has no chat template")
    return template_prompt(chat, template, messages)
