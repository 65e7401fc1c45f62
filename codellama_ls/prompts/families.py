"""Fill-in-the-middle model families: what a model is, read from its vocabulary alone (pure).

One row per family, each naming the published reference its tokens and layout were checked
against. A GGUF is recognised by the token texts its vocabulary holds (and the FIM ids its metadata
declares: `tokenizer.ggml.fim_{pre,suf,mid,pad,rep,sep}_token_id`, or the older
`tokenizer.ggml.{prefix,suffix,middle}_token_id`), never by its file name: a name is what users
and other tools guess from, and wrongly.

Whether a tokenizer adds a leading space (SentencePiece) or not (byte-level BPE, Gemma's
SentencePiece) is asked of the tokenizer itself, as the prompt builder always has; `space_prefix`
below is what the reference does, checked by the tests against the tokenizer's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum


class Order(str, Enum):
    PREFIX_FIRST = "prefix-suffix-middle"
    """[PRE] prefix [SUF] suffix [MID]: what every family here was trained on but Codestral."""
    SUFFIX_FIRST = "suffix-prefix"
    """Codestral: [SUFFIX] suffix [PREFIX] prefix, and no middle token: the prefix runs on into it."""


class RepoLayout(str, Enum):
    COMMENTS = "comments"
    """Other files' chunks as text before the prefix, each headed by a comment naming its file."""
    LINES = "repo-lines"
    """Qwen2.5-Coder: <|repo_name|>name\\n, then <|file_sep|>path\\ntext\\n per file, then
    <|file_sep|>path\\n of the current file before <|fim_prefix|>."""
    INLINE = "repo-inline"
    """StarCoder2: <repo_name>name, then <file_sep>path\\ntext per file, then <file_sep><fim_prefix>
    and the current file's path\\n inside the prefix."""


@dataclass(frozen=True)
class Family:
    key: str
    name: str
    prefix: str
    """The FIM token texts as the vocabulary spells them."""
    suffix: str
    middle: str
    """Empty where the layout has no middle token (Codestral)."""
    reference: str
    """What the row was checked against."""
    order: Order = Order.PREFIX_FIRST
    spm: bool = False
    """Also trained suffix-prefix-middle with these tokens (Code Llama's SPM)."""
    repo_name: str = ""
    file_sep: str = ""
    layout: RepoLayout = RepoLayout.COMMENTS
    stops: tuple[str, ...] = ()
    """Tokens that end the middle besides EOS/EOT: the family's other markers never belong in code."""
    marks: tuple[str, ...] = ()
    """Tokens that tell this family apart from another with the same FIM texts."""
    bos: bool = True
    """The reference prompt starts with BOS (when the vocabulary has one)."""
    space_prefix: bool = False
    """The reference tokenizer adds SentencePiece's leading space to a text (documentation: the
    prompt builder asks the tokenizer)."""
    end_texts: tuple[str, ...] = field(default=())
    """End-of-middle tokens looked up by text when the metadata names none."""

    @property
    def texts(self) -> tuple[str, ...]:
        """Every special token text of the family."""
        named = (self.prefix, self.suffix, self.middle, self.repo_name, self.file_sep)
        return tuple(t for t in (*named, *self.stops, *self.marks, *self.end_texts) if t)


CODE_LLAMA = Family(
    "codellama",
    "Code Llama",
    "▁<PRE>",
    "▁<SUF>",
    "▁<MID>",
    "facebookresearch/codellama llama/generation.py (infilling_prompt_tokens) and llama/tokenizer.py",
    spm=True,
    end_texts=("▁<EOT>", "<EOT>"),
    space_prefix=True,
)
QWEN_CODER = Family(
    "qwen2.5-coder",
    "Qwen2.5-Coder",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "QwenLM/Qwen2.5-Coder examples/Qwen2.5-Coder-fim.py and Qwen2.5-Coder-repolevel-fim.py "
    "(template text through the HF tokenizer; their eos_token_ids are the stops)",
    repo_name="<|repo_name|>",
    file_sep="<|file_sep|>",
    layout=RepoLayout.LINES,
    stops=("<|endoftext|>", "<|fim_pad|>", "<|im_end|>"),
    bos=False,
)
DEEPSEEK_CODER = Family(
    "deepseek-coder",
    "DeepSeek-Coder",
    "<｜fim▁begin｜>",
    "<｜fim▁hole｜>",
    "<｜fim▁end｜>",
    "deepseek-ai/DeepSeek-Coder README, code insertion (template text through the HF tokenizer, "
    "which adds <｜begin▁of▁sentence｜>)",
    stops=("<｜end▁of▁sentence｜>", "<|EOT|>"),
)
STARCODER2 = Family(
    "starcoder2",
    "StarCoder2",
    "<fim_prefix>",
    "<fim_suffix>",
    "<fim_middle>",
    "StarCoder2 paper (arXiv 2402.19173) section 5.1, repository-context FIM format; "
    "bigcode/starcoder2 tokenizer (no BOS added)",
    repo_name="<repo_name>",
    file_sep="<file_sep>",
    layout=RepoLayout.INLINE,
    stops=("<|endoftext|>", "<fim_pad>"),
    bos=False,
)
CODEGEMMA = Family(
    "codegemma",
    "CodeGemma",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "Google's CodeGemma prompt structure (ai.google.dev gemma/docs/codegemma/prompt-structure) and "
    "model card: FIM tokens, <|file_separator|> ends the middle, the tokenizer adds <bos>",
    stops=("<|file_separator|>", "<eos>", "<end_of_turn>"),
    marks=("<|file_separator|>",),
)
CODESTRAL = Family(
    "codestral",
    "Codestral",
    "[PREFIX]",
    "[SUFFIX]",
    "",
    "mistralai/mistral-common InstructTokenizerV2.encode_fim: [BOS, SUFFIX] + encode_infilling(suffix) "
    "+ [PREFIX] + encode(prefix)",
    order=Order.SUFFIX_FIRST,
    stops=("[MIDDLE]",),
    space_prefix=True,
)

FAMILIES: tuple[Family, ...] = (CODE_LLAMA, CODEGEMMA, QWEN_CODER, DEEPSEEK_CODER, STARCODER2, CODESTRAL)
"""In the order they are tried: a family with `marks` before one sharing its FIM texts. StarCoder
(1), SantaCoder and Granite share StarCoder2's FIM texts without its repository tokens: they get its
prompts without the repository layout."""

GENERIC = Family(
    "fim",
    "fill-in-the-middle (tokens from the GGUF metadata)",
    "",
    "",
    "",
    "the GGUF's tokenizer.ggml.fim_*_token_id metadata, laid out as llama.cpp's /infill does",
)
"""A model whose metadata names FIM tokens that no row knows: prefix-suffix-middle with them."""

_BY_KEY = {family.key: family for family in (*FAMILIES, GENERIC)}


def family_named(key: str) -> Family:
    """The row for a key (`FimTokens.family`); Code Llama's for the empty key of older callers."""
    return _BY_KEY.get(key, CODE_LLAMA if not key else GENERIC)


# The metadata keys naming FIM tokens: llama.cpp's current ones, then the older names.
METADATA_IDS: Mapping[str, tuple[str, ...]] = {
    "prefix": ("tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"),
    "suffix": ("tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"),
    "middle": ("tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"),
    "pad": ("tokenizer.ggml.fim_pad_token_id",),
    "repo_name": ("tokenizer.ggml.fim_rep_token_id",),
    "file_sep": ("tokenizer.ggml.fim_sep_token_id",),
    "end": ("tokenizer.ggml.eot_token_id",),
}


def declared_ids(metadata: Mapping[str, object]) -> dict[str, int]:
    """The FIM token ids a GGUF's metadata declares, by role (the newer key wins)."""
    found: dict[str, int] = {}
    for role, keys in METADATA_IDS.items():
        for key in keys:
            value = metadata.get(key)
            try:
                token = int(str(value)) if value is not None else -1
            except ValueError:
                token = -1
            if token >= 0:
                found[role] = token
                break
    return found


@dataclass(frozen=True)
class Recognised:
    """A model's family and the ids of its special tokens in this vocabulary."""

    family: Family
    prefix: int
    suffix: int
    middle: int
    """Codestral has none: its [PREFIX] token, after which the prefix and then the middle run on."""
    end: int | None
    repo_name: int | None = None
    file_sep: int | None = None
    stops: frozenset[int] = frozenset()
    """Every id that ends the middle: the end token, the stops, the FIM and repository markers."""


Lookup = Callable[[str], "int | None"]
"""The id of the one special token spelled exactly so; None if the vocabulary has none."""


def recognise(lookup: Lookup, declared: Mapping[str, int] | None = None) -> Recognised | None:
    """The family whose tokens this vocabulary holds; None for a model without FIM tokens.

    Ids the metadata declares win over the ones found by text (a converter may have renumbered
    them), so a GGUF naming FIM tokens that no row knows still gets prefix-suffix-middle prompts."""
    declared = declared or {}
    family = next((f for f in FAMILIES if _holds(f, lookup)), None)
    if family is None:
        if not all(role in declared for role in ("prefix", "suffix", "middle")):
            return None
        family = GENERIC
    prefix = declared.get("prefix", _id(lookup, family.prefix))
    suffix = declared.get("suffix", _id(lookup, family.suffix))
    middle = declared.get("middle", _id(lookup, family.middle) if family.middle else prefix)
    if min(prefix, suffix, middle) < 0:
        return None
    end = declared.get("end")
    if end is None:
        end = next((t for t in (lookup(text) for text in family.end_texts) if t is not None), None)
    repo_name = declared.get("repo_name", _id(lookup, family.repo_name) if family.repo_name else -1)
    file_sep = declared.get("file_sep", _id(lookup, family.file_sep) if family.file_sep else -1)
    stops = {t for t in (lookup(text) for text in family.texts) if t is not None}
    stops |= {t for t in (end, repo_name, file_sep, declared.get("pad")) if t is not None and t >= 0}
    stops |= {prefix, suffix, middle}
    return Recognised(
        family,
        prefix,
        suffix,
        middle,
        end,
        repo_name if repo_name >= 0 and family.layout is not RepoLayout.COMMENTS else None,
        file_sep if file_sep >= 0 and family.layout is not RepoLayout.COMMENTS else None,
        frozenset(stops),
    )


def spelled_as(spelled: str, text: str) -> bool:
    """Whether a token that a tokenizer read `text` as, rendering as `spelled`, is that token: a
    renderer may write SentencePiece's ▁ as a space, or drop it at the start."""

    def plain(value: str) -> str:
        return value.replace("▁", " ").strip()

    return spelled == text or plain(spelled) == plain(text)


def _holds(family: Family, lookup: Lookup) -> bool:
    needed = (family.prefix, family.suffix, *((family.middle,) if family.middle else ()), *family.marks)
    return all(lookup(text) is not None for text in needed)


def _id(lookup: Lookup, text: str) -> int:
    found = lookup(text) if text else None
    return -1 if found is None else found


# Base models trained for fill-in-the-middle, as `models` presets, named where a model cannot complete.
SUGGESTED_BASE_MODELS = ("qwen2.5-coder-1.5b", "deepseek-coder-1.3b", "codellama-7b")


def without_fim_message(name: str, chat: bool) -> str:
    """What to tell a user whose model has no FIM tokens: completions see the prefix only."""
    if not chat:
        return f"{name} has no fill-in-the-middle tokens; completing from the text before the cursor only."
    presets = ", ".join(f"`{preset}`" for preset in SUGGESTED_BASE_MODELS)
    return (
        f"{name} is a chat model without fill-in-the-middle tokens: it serves code actions, but completions see "
        f"only the text before the cursor. For completions set `model` to a base model trained for "
        f"fill-in-the-middle ({presets}) and keep this one as `instruct_model`."
    )
