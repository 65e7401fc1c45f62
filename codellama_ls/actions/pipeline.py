"""One instruction action on the engine thread: chat prompt, generation, cleanup, syntax check.

Called through `EngineWorker.run`, like `completion.complete`, on the same loaded model.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from codellama_ls.actions.contract import breach
from codellama_ls.actions.instructions import (
    ActionKind,
    CommentRequest,
    Target,
    clean_code,
    clean_generated,
    comment_messages,
    messages_for,
    placement_of_tests,
)
from codellama_ls.completion.syntax_gate import replacement_errors
from codellama_ls.documents.languages import LanguageSpec
from codellama_ls.engine.base import (
    Cancelled,
    Engine,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    Sampling,
    vocab_of,
)
from codellama_ls.prompts.chat import ChatError, ChatStyle, ChatVocab, Message, chat_prompt, style_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionRequest:
    kind: ActionKind
    target: Target
    text: str
    """The document text the target's offsets are in."""
    language: str
    """The language's name (`languages.py`), or the client's languageId when we have no grammar."""
    spec: LanguageSpec | None
    instruction: str = ""
    key: str = ""
    """Names the engine's KV cache slot for this work."""
    source: bytes | None = None
    """`text`'s UTF-8 as the document held it (its snapshot): the syntax check encodes nothing again."""
    anchor: tuple[int, int] = (0, 0)
    """A str index of `text` near the target and its byte offset in `source`."""


@dataclass(frozen=True)
class ActionResult:
    kind: ActionKind
    start: int = 0
    end: int = 0
    new_text: str = ""
    """The replacement of text[start:end] (edit kinds)."""
    markdown: str = ""
    """The answer shown to the user (explain)."""
    error: str = ""
    """Why nothing is offered; empty on success."""
    cancelled: bool = False
    answer: str = ""
    """The model's raw answer, for the log."""
    generated_tokens: int = 0
    total_ms: float = 0.0


def chat_vocab_of(engine: Engine) -> ChatVocab:
    info = engine.info
    return ChatVocab(
        vocab=vocab_of(engine),
        eos=info.eos,
        encode_special=engine.tokenize_special,
        bos_text=engine.token_text(info.bos) if info.bos is not None else "",
        eos_text=engine.token_text(info.eos) if info.eos is not None else "",
    )


def instruct_style(info: ModelInfo) -> ChatStyle | None:
    """The chat format the model was trained on, read from its GGUF metadata; None if none."""
    return style_of(info.chat_template, info.metadata_name)


def not_instruct_message(info: ModelInfo) -> str:
    return (
        f"the loaded model ({info.metadata_name or info.name}) is not instruction-tuned, so it cannot do code "
        "actions: set `model` to Code Llama - Instruct (`codellama-7b-instruct`), which also completes code, "
        "or set `instruct_model` to load one beside it"
    )


def generate_chat(
    engine: Engine,
    messages: list[Message],
    sampling: Sampling,
    cancelled: Cancelled,
    on_text: Callable[[str], None] | None = None,
    key: str = "",
) -> tuple[str, str, GenerationStats]:
    """The model's answer to `messages`, an error message (empty when it answered), and the generation's stats."""
    info = engine.info
    style = instruct_style(info)
    if style is None:
        return "", not_instruct_message(info), GenerationStats()
    try:
        tokens = chat_prompt(chat_vocab_of(engine), style, info.chat_template, messages)
    except ChatError as exc:
        return "", str(exc), GenerationStats()
    if len(tokens) + sampling.max_tokens > info.n_ctx:
        return (
            "",
            (
                f"the code is too long for the model's context: {len(tokens)} prompt tokens and "
                f"{sampling.max_tokens} to generate exceed n_ctx={info.n_ctx}; select less code"
            ),
            GenerationStats(),
        )
    text = ""
    pieces = engine.generate(GenerationRequest(tokens, sampling, cancelled, key=key))
    try:
        for piece in pieces:
            text += piece
            if on_text is not None:
                on_text(text)
    finally:
        pieces.close()
    return text, "", pieces.stats


def run_action(
    engine: Engine,
    request: ActionRequest,
    sampling: Sampling,
    cancelled: Cancelled,
    on_text: Callable[[str], None] | None = None,
) -> ActionResult:
    started = time.perf_counter()
    kind, target = request.kind, request.target
    messages = messages_for(kind, target, request.language, request.instruction)
    answer, error, stats = generate_chat(engine, messages, sampling, cancelled, on_text, request.key)

    def result(**fields: object) -> ActionResult:
        elapsed = (time.perf_counter() - started) * 1000
        return ActionResult(
            kind,
            answer=answer,
            generated_tokens=stats.generated_tokens,
            total_ms=elapsed,
            **fields,  # type: ignore[arg-type]
        )

    if error:
        return result(error=error)
    if cancelled():
        return result(cancelled=True)
    if kind is ActionKind.EXPLAIN:
        markdown = answer.strip()
        return result(markdown=markdown) if markdown else result(error="the model gave no explanation")
    code = clean_code(answer, target, kind)
    if not code.strip():
        return result(error="the model's answer had no code in it; nothing was changed")
    if kind is ActionKind.TESTS:
        start, end, new_text = placement_of_tests(request.text, code, request.language)
    else:
        start, end, new_text = target.start, target.end, code
    if new_text == request.text[start:end]:
        return result(error="the model changed nothing")
    errors = (
        replacement_errors(
            request.spec, request.text, start, end, new_text, source=request.source, anchor=request.anchor
        )
        if request.spec is not None
        else 0
    )
    if errors > 0:
        log.info("action %s: answer with a syntax error dropped: %r", kind.value, answer)
        return result(error="the model's answer has a syntax error, so it was not applied; try again or select less")
    refused = breach(kind, request.spec, request.text, (target.start, target.end), start, end, new_text)
    if refused:
        log.info("action %s: answer refused (%s): %r", kind.value, refused, answer)
        return result(error=f"{refused}; nothing was changed")
    return result(start=start, end=end, new_text=new_text)


def run_comment(
    engine: Engine,
    request: CommentRequest,
    text: str,
    language: str,
    spec: LanguageSpec | None,
    sampling: Sampling,
    cancelled: Cancelled,
    key: str = "",
    source: bytes | None = None,
    anchor: tuple[int, int] = (0, 0),
) -> ActionResult:
    """Code for the comment above the cursor, to insert at the cursor (an EDIT-kind result).
    `source` and `anchor`: as in `ActionRequest`."""
    started = time.perf_counter()
    answer, error, stats = generate_chat(engine, comment_messages(request, language), sampling, cancelled, key=key)
    elapsed = (time.perf_counter() - started) * 1000
    base = ActionResult(ActionKind.EDIT, answer=answer, generated_tokens=stats.generated_tokens)
    if error or cancelled():
        return dataclasses.replace(base, error=error, cancelled=not error, total_ms=elapsed)
    offset = request.target.start
    line_start = text.rfind("\n", 0, offset) + 1
    code = clean_generated(answer, request, text[line_start:offset])
    if not code.strip():
        return dataclasses.replace(base, error="the model wrote no code for the comment", total_ms=elapsed)
    if spec is not None and replacement_errors(spec, text, offset, offset, code, source=source, anchor=anchor) > 0:
        log.info("code from a comment with a syntax error dropped: %r", answer)
        return dataclasses.replace(base, error="the code had a syntax error", total_ms=elapsed)
    return dataclasses.replace(base, start=offset, end=offset, new_text=code, total_ms=elapsed)
