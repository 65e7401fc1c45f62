"""Code actions without a server: targets, prompts, and the model's answer cleaned into an edit."""

from __future__ import annotations

import pytest

from codellama_ls.actions.instructions import (
    ActionKind,
    clean_code,
    clean_generated,
    comment_messages,
    comment_request,
    extract_code,
    messages_for,
    placement_of_tests,
    target_of,
)
from codellama_ls.actions.pipeline import ActionRequest, run_action
from codellama_ls.documents.languages import spec_by_name
from codellama_ls.engine.base import Sampling
from codellama_ls.engine.scripted import ScriptedEngine, ScriptedPrompt
from tests.support.gguf_models import CODELLAMA_INSTRUCT_TEMPLATE

SOURCE = """import math


class Circle:
    def __init__(self, r):
        self.r = r

    def area(self):
        return math.pi * self.r ** 2

    def grow(self, by):
        self.r += by
"""


def method_target(name: str = "area") -> tuple[int, int]:
    start = SOURCE.index(f"    def {name}")
    end = SOURCE.index("\n\n", start) if "\n\n" in SOURCE[start:] else len(SOURCE.rstrip("\n"))
    return start + 4, end  # a scope starts at `def`, ends before the line break


def test_empty_selection_takes_the_enclosing_function_as_whole_lines() -> None:
    start, end = method_target()
    cursor = SOURCE.index("math.pi")
    target = target_of(SOURCE, cursor, cursor, (start, end))
    assert target is not None
    assert target.text == "    def area(self):\n        return math.pi * self.r ** 2"
    assert target.indent == "    " and target.at_line_start
    assert target.before.strip().endswith("self.r = r")
    assert target.after.strip().startswith("def grow")


def test_no_selection_and_no_function_is_nothing() -> None:
    assert target_of(SOURCE, 0, 0, None) is None
    assert target_of("   \n", 0, 3, None) is None


def test_a_selection_inside_a_line_keeps_its_exact_range() -> None:
    start = SOURCE.index("math.pi")
    end = start + len("math.pi * self.r ** 2")
    target = target_of(SOURCE, start, end)
    assert target is not None and not target.at_line_start
    assert target.text == "math.pi * self.r ** 2" and target.indent == "        "


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("```python\nx = 1\n```", "x = 1"),
        ("Here it is:\n```py\nx = 1\n```\nThis sets x.", "x = 1"),
        ("```\nshort\n```\ntext\n```python\nlonger = True\n```", "longer = True"),
        ("Sure:\n```python\nx = 1\ny = 2", "x = 1\ny = 2"),  # the fence was never closed
        ("x = 1", "x = 1"),
        ("~~~rust\nfn f() {}\n~~~", "fn f() {}"),
    ],
)
def test_code_is_taken_out_of_the_answer(answer: str, code: str) -> None:
    assert extract_code(answer).strip("\n") == code


def test_fenced_answer_with_wrong_indentation_is_moved_to_the_target_and_its_step() -> None:
    start, end = method_target()
    target = target_of(SOURCE, start, start, (start, end))
    assert target is not None
    answer = (
        "Here is the method with a docstring:\n\n```python\n"
        "def area(self):\n"
        '  """The area of the circle."""\n'
        "  return math.pi * self.r ** 2\n"
        "```\n"
    )
    assert clean_code(answer, target, ActionKind.DOCSTRING) == (
        '    def area(self):\n        """The area of the circle."""\n        return math.pi * self.r ** 2'
    )


def test_repeated_context_is_dropped() -> None:
    start, end = method_target()
    target = target_of(SOURCE, start, start, (start, end))
    assert target is not None
    answer = (
        "```python\n"
        "        self.r = r\n"
        "\n"
        "    def area(self):\n"
        "        return math.pi * self.r * self.r\n"
        "\n"
        "    def grow(self, by):\n"
        "```"
    )
    assert clean_code(answer, target) == "    def area(self):\n        return math.pi * self.r * self.r"


def test_a_lone_closer_that_matches_the_next_line_is_kept() -> None:
    text = "int f() {\n    if (x) {\n        y();\n    }\n}\n"
    start = text.index("    if")
    end = text.index("    }\n") + len("    }\n")
    target = target_of(text, start, end)
    assert target is not None and target.after.startswith("}")
    cleaned = clean_code("```c\nif (x) {\n    z();\n}\n```", target)
    assert cleaned == "    if (x) {\n        z();\n    }\n"


def test_tabs_in_the_document_turn_the_answer_to_tabs() -> None:
    text = "func f() {\n\tif x {\n\t\ty()\n\t}\n}\n"
    start, end = text.index("\tif"), text.index("\t}\n") + 3
    target = target_of(text, start, end)
    assert target is not None
    assert clean_code("```go\nif x {\n    z()\n}\n```", target) == "\tif x {\n\t\tz()\n\t}\n"


def test_tests_go_below_the_last_line() -> None:
    start, end, text = placement_of_tests("x = 1\n\n", "def test_x():\n    assert x == 1\n", "python")
    assert (start, end) == (5, 7)
    assert text == "\n\n\ndef test_x():\n    assert x == 1\n"


def test_prompt_names_the_language_convention_and_the_instruction() -> None:
    start, end = method_target()
    target = target_of(SOURCE, start, start, (start, end))
    assert target is not None
    doc = messages_for(ActionKind.DOCSTRING, target, "python")
    assert doc[0].role == "system" and "PEP 257" in doc[1].content
    assert "```python\ndef area(self):\n    return" in doc[1].content  # sent dedented
    edit = messages_for(ActionKind.EDIT, target, "python", "  use self.r * self.r  ")
    assert edit[1].content.startswith("use self.r * self.r\n")
    assert "pytest" in messages_for(ActionKind.TESTS, target, "python")[1].content


def _run(answer: str, kind: ActionKind, instruction: str = "") -> tuple[object, ScriptedEngine]:
    engine = ScriptedEngine(lambda _p: answer, chat_template=CODELLAMA_INSTRUCT_TEMPLATE)
    start, end = method_target()
    target = target_of(SOURCE, start, start, (start, end))
    assert target is not None
    request = ActionRequest(kind, target, SOURCE, "python", spec_by_name("python"), instruction)
    return run_action(engine, request, Sampling(max_tokens=2000), lambda: False), engine


def test_pipeline_prompt_is_code_llama_instruct_format_and_edit_replaces_the_function() -> None:
    answer = '```python\ndef area(self):\n    """Area."""\n    return math.pi * self.r ** 2\n```'
    result, engine = _run(answer, ActionKind.DOCSTRING)
    prompt: ScriptedPrompt = engine.prompts[0]
    assert prompt.mode == "chat"
    assert prompt.chat.startswith("<s> [INST] <<SYS>>\nYou are an expert python programmer")
    assert prompt.chat.endswith("```python\ndef area(self):\n    return math.pi * self.r ** 2\n``` [/INST]")
    assert result.error == ""  # type: ignore[attr-defined]
    new = SOURCE[: result.start] + result.new_text + SOURCE[result.end :]  # type: ignore[attr-defined]
    assert '    def area(self):\n        """Area."""\n        return math.pi' in new


def test_pipeline_drops_an_answer_with_a_syntax_error() -> None:
    result, _ = _run("```python\ndef area(self:\n    return math.pi *\n```", ActionKind.EDIT, "simplify")
    assert "syntax error" in result.error  # type: ignore[attr-defined]
    assert result.new_text == ""  # type: ignore[attr-defined]


def test_pipeline_explain_returns_markdown() -> None:
    result, _ = _run("  It computes **the area**.\n", ActionKind.EXPLAIN)
    assert result.markdown == "It computes **the area**."  # type: ignore[attr-defined]


def test_pipeline_without_an_instruct_model_says_what_to_do() -> None:
    engine = ScriptedEngine("x")
    target = target_of(SOURCE, 0, 11)
    assert target is not None
    request = ActionRequest(ActionKind.EXPLAIN, target, SOURCE, "python", None)
    result = run_action(engine, request, Sampling(), lambda: False)
    assert "not instruction-tuned" in result.error and "instruct_model" in result.error
    assert engine.prompts == []


def test_pipeline_cancelled_offers_nothing() -> None:
    engine = ScriptedEngine("```python\nx = 2\n```", chat_template=CODELLAMA_INSTRUCT_TEMPLATE)
    target = target_of(SOURCE, 0, 11)
    assert target is not None
    request = ActionRequest(ActionKind.EDIT, target, SOURCE, "python", spec_by_name("python"), "x")
    result = run_action(engine, request, Sampling(), lambda: True)
    assert result.cancelled and result.new_text == ""


COMMENTED = "import os\n\n\ndef main():\n    # list the files in the current folder, sorted\n    \n"


def test_a_blank_line_below_a_comment_asks_for_code() -> None:
    offset = len(COMMENTED) - 1  # after the 4 spaces of the blank line
    request = comment_request(COMMENTED, offset, "#", None)
    assert request is not None
    assert request.comment == "# list the files in the current folder, sorted"
    assert request.target.indent == "    " and "def main():" in request.context
    messages = comment_messages(request, "python")
    assert messages[1].content.endswith("without the comment.\n\n# list the files in the current folder, sorted")


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("x = 1\n\n", 6),  # no comment above
        ("# a comment\nx = 1\n", 12),  # not a blank line
        ("#\n\n", 2),  # a bare marker says nothing
        ("", 0),
    ],
)
def test_other_places_are_not_comment_requests(text: str, offset: int) -> None:
    assert comment_request(text, offset, "#", None) is None


def test_block_comment_above_counts() -> None:
    text = "/*\n * Return the larger of a and b.\n */\n\n"
    request = comment_request(text, len(text) - 1, "//", "*/")
    assert request is not None and "larger of a and b" in request.comment


def test_generated_code_is_indented_below_the_comment_and_drops_the_repeated_comment() -> None:
    offset = len(COMMENTED) - 1
    request = comment_request(COMMENTED, offset, "#", None)
    assert request is not None
    answer = (
        "```python\n# list the files in the current folder, sorted\nfor name in sorted(os.listdir()):\n"
        "  print(name)\n```"
    )
    assert clean_generated(answer, request, "    ") == "for name in sorted(os.listdir()):\n        print(name)"
    # A cursor at column 0 of the blank line gets the comment's indentation on the first line too.
    assert clean_generated(answer, request, "").startswith("    for name")


def test_whole_lines_selected_up_to_the_next_line_start_keep_their_newline() -> None:
    start = SOURCE.index("    def area")
    end = SOURCE.index("\n\n    def grow") + 1  # the editor's selection ends at the start of the next line
    target = target_of(SOURCE, start, end)
    assert target is not None and target.at_line_start and target.text.endswith("\n")
    assert target.after.strip().startswith("def grow")
    cleaned = clean_code("```python\ndef area(self):\n    return 3.14 * self.r ** 2\n```", target)
    assert cleaned == "    def area(self):\n        return 3.14 * self.r ** 2\n"


def test_code_from_a_comment_that_writes_its_nested_block_twice_keeps_the_first_copy() -> None:
    # Seen in Neovim: the same nested block, whole, a second time right after the first.
    offset = len(COMMENTED) - 1
    request = comment_request(COMMENTED, offset, "#", None)
    assert request is not None
    block = "for name in sorted(os.listdir()):\n    if name.endswith('.py'):\n        print(name)\n"
    answer = f"```python\n{block}{block}```"
    assert clean_generated(answer, request, "    ") == (
        "for name in sorted(os.listdir()):\n        if name.endswith('.py'):\n            print(name)"
    )
