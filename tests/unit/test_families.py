"""The family table: each vocabulary recognised from its own tokens and metadata (pure)."""

from __future__ import annotations

import pytest

from codellama_ls.prompts.families import (
    CODE_LLAMA,
    CODEGEMMA,
    CODESTRAL,
    DEEPSEEK_CODER,
    FAMILIES,
    GENERIC,
    QWEN_CODER,
    STARCODER2,
    Family,
    Order,
    RepoLayout,
    declared_ids,
    family_named,
    recognise,
    spelled_as,
)

# Each family's special tokens with the ids of its real vocabulary (from the published tokenizers).
REAL_IDS: dict[str, dict[str, int]] = {
    "codellama": {"▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009, "▁<EOT>": 32010},
    "qwen2.5-coder": {
        "<|endoftext|>": 151643,
        "<|im_end|>": 151645,
        "<|fim_prefix|>": 151659,
        "<|fim_middle|>": 151660,
        "<|fim_suffix|>": 151661,
        "<|fim_pad|>": 151662,
        "<|repo_name|>": 151663,
        "<|file_sep|>": 151664,
    },
    "deepseek-coder": {
        "<｜begin▁of▁sentence｜>": 32013,
        "<｜end▁of▁sentence｜>": 32014,
        "<｜fim▁hole｜>": 32015,
        "<｜fim▁begin｜>": 32016,
        "<｜fim▁end｜>": 32017,
        "<|EOT|>": 32021,
    },
    "starcoder2": {
        "<|endoftext|>": 0,
        "<fim_prefix>": 1,
        "<fim_middle>": 2,
        "<fim_suffix>": 3,
        "<fim_pad>": 4,
        "<repo_name>": 5,
        "<file_sep>": 6,
    },
    "codegemma": {
        "<bos>": 2,
        "<eos>": 1,
        "<|fim_prefix|>": 67,
        "<|fim_middle|>": 68,
        "<|fim_suffix|>": 69,
        "<|file_separator|>": 70,
        "<end_of_turn>": 107,
    },
    "codestral": {"[PREFIX]": 21, "[SUFFIX]": 20, "[MIDDLE]": 22},
}


def lookup_of(ids: dict[str, int]):  # type: ignore[no-untyped-def]
    return ids.get


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_each_family_is_recognised_by_its_own_token_texts(family: Family) -> None:
    ids = REAL_IDS[family.key]
    found = recognise(lookup_of(ids))
    assert found is not None and found.family is family
    assert found.prefix == ids[family.prefix] and found.suffix == ids[family.suffix]
    if family.middle:
        assert found.middle == ids[family.middle]
    else:
        assert found.middle == found.prefix  # Codestral: the prefix runs on into the middle
    # Every special token of the family ends a middle: none of them is ever code.
    assert {ids[text] for text in family.texts if text in ids} <= found.stops


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        (CODE_LLAMA, (Order.PREFIX_FIRST, True, RepoLayout.COMMENTS, True, True)),
        (QWEN_CODER, (Order.PREFIX_FIRST, False, RepoLayout.LINES, False, False)),
        (DEEPSEEK_CODER, (Order.PREFIX_FIRST, False, RepoLayout.COMMENTS, True, False)),
        (STARCODER2, (Order.PREFIX_FIRST, False, RepoLayout.INLINE, False, False)),
        (CODEGEMMA, (Order.PREFIX_FIRST, False, RepoLayout.COMMENTS, True, False)),
        (CODESTRAL, (Order.SUFFIX_FIRST, False, RepoLayout.COMMENTS, True, True)),
    ],
    ids=lambda v: v.key if isinstance(v, Family) else "",
)
def test_the_rows_say_what_their_references_do(family: Family, expected: tuple[object, ...]) -> None:
    assert (family.order, family.spm, family.layout, family.bos, family.space_prefix) == expected
    assert family.reference


def test_codegemma_and_qwen_share_fim_texts_and_are_told_apart() -> None:
    assert recognise(lookup_of(REAL_IDS["codegemma"])).family is CODEGEMMA  # type: ignore[union-attr]
    assert recognise(lookup_of(REAL_IDS["qwen2.5-coder"])).family is QWEN_CODER  # type: ignore[union-attr]


def test_repository_tokens_only_for_families_with_that_layout() -> None:
    qwen = recognise(lookup_of(REAL_IDS["qwen2.5-coder"]))
    assert qwen is not None and (qwen.repo_name, qwen.file_sep) == (151663, 151664)
    starcoder = recognise(lookup_of(REAL_IDS["starcoder2"]))
    assert starcoder is not None and (starcoder.repo_name, starcoder.file_sep) == (5, 6)
    gemma = recognise(lookup_of(REAL_IDS["codegemma"]))
    assert gemma is not None and gemma.repo_name is None and gemma.file_sep is None


def test_starcoder_without_repository_tokens_keeps_its_fim() -> None:
    ids = {k: v for k, v in REAL_IDS["starcoder2"].items() if k not in ("<repo_name>", "<file_sep>")}
    found = recognise(lookup_of(ids))
    assert found is not None and found.family is STARCODER2 and found.repo_name is None


def test_no_fim_tokens_is_no_family() -> None:
    assert recognise(lookup_of({"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2})) is None


def test_declared_ids_win_over_the_texts() -> None:
    ids = REAL_IDS["qwen2.5-coder"]
    found = recognise(lookup_of(ids), {"prefix": 7, "suffix": 8, "middle": 9})
    assert found is not None and (found.prefix, found.suffix, found.middle) == (7, 8, 9)
    assert found.family is QWEN_CODER


def test_metadata_ids_of_an_unknown_family_give_plain_prefix_suffix_middle() -> None:
    found = recognise(lookup_of({}), {"prefix": 10, "suffix": 11, "middle": 12, "end": 13, "pad": 14})
    assert found is not None and found.family is GENERIC
    assert found.stops >= {10, 11, 12, 13, 14}


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (
            {
                "tokenizer.ggml.fim_pre_token_id": "151659",
                "tokenizer.ggml.fim_suf_token_id": "151661",
                "tokenizer.ggml.fim_mid_token_id": "151660",
                "tokenizer.ggml.fim_pad_token_id": "151662",
                "tokenizer.ggml.fim_rep_token_id": "151663",
                "tokenizer.ggml.fim_sep_token_id": "151664",
            },
            {
                "prefix": 151659,
                "suffix": 151661,
                "middle": 151660,
                "pad": 151662,
                "repo_name": 151663,
                "file_sep": 151664,
            },
        ),
        (
            # Older converters: prefix/suffix/middle, and EOT.
            {
                "tokenizer.ggml.prefix_token_id": 32007,
                "tokenizer.ggml.suffix_token_id": 32008,
                "tokenizer.ggml.middle_token_id": 32009,
                "tokenizer.ggml.eot_token_id": 32010,
            },
            {"prefix": 32007, "suffix": 32008, "middle": 32009, "end": 32010},
        ),
        ({"tokenizer.ggml.fim_pre_token_id": "1", "tokenizer.ggml.prefix_token_id": "2"}, {"prefix": 1}),
        ({"tokenizer.ggml.fim_pre_token_id": "-1", "tokenizer.ggml.fim_suf_token_id": "x"}, {}),
    ],
)
def test_declared_ids_read_from_metadata(metadata: dict[str, object], expected: dict[str, int]) -> None:
    assert declared_ids(metadata) == expected


def test_family_keys_round_trip_and_old_callers_are_code_llama() -> None:
    for family in FAMILIES:
        assert family_named(family.key) is family
    assert family_named("") is CODE_LLAMA
    assert family_named("something new") is GENERIC


@pytest.mark.parametrize(
    ("spelled", "text", "same"),
    [("▁<PRE>", "▁<PRE>", True), (" <PRE>", "▁<PRE>", True), ("<PRE>", "▁<PRE>", True), ("<MID>", "▁<PRE>", False)],
)
def test_a_rendered_token_may_write_its_space_differently(spelled: str, text: str, same: bool) -> None:
    assert spelled_as(spelled, text) is same
