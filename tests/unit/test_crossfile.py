"""Cross-file chunks: relevant, budgeted, deduplicated, in a stable order."""

from __future__ import annotations

from codellama_ls.completion.crossfile import OtherDocument, select


def count(text: str) -> int:
    return len(text.split())


HELPERS = OtherDocument(
    "file:///p/helpers.py",
    "def parse_config(path):\n    return load_toml(path)\n\n" + "\n".join(f"x{i} = {i}" for i in range(60)),
)
UNRELATED = OtherDocument("file:///p/other.py", "def draw_circle(radius):\n    return radius\n")


def test_picks_chunks_sharing_identifiers_and_labels_them() -> None:
    text = select([UNRELATED, HELPERS], "config = parse_config(path)\n", 200, count, "#")
    assert text.startswith("# helpers.py\ndef parse_config(path):")
    assert "draw_circle" not in text


def test_budget_and_empty_cases() -> None:
    assert select([HELPERS], "parse_config(path)", 3, count, "#") == ""
    assert select([], "parse_config(path)", 300, count, "#") == ""
    assert select([HELPERS], "  ", 300, count, "#") == ""


def test_order_is_stable_whatever_the_scores() -> None:
    a = OtherDocument("file:///p/a.py", "def alpha_one(value):\n    return value\n")
    b = OtherDocument("file:///p/b.py", "def beta_two(value):\n    return alpha_one(value)\n")
    first = select([b, a], "alpha_one(value)", 500, count, "#")
    second = select([a, b], "beta_two(alpha_one(value))", 500, count, "#")
    assert first.index("a.py") < first.index("b.py")
    assert second.index("a.py") < second.index("b.py")
