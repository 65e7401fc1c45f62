"""Each action's contract, checked on the answer before anything is applied: scripted answers
that break it are refused with what they tried to do; answers that keep it pass."""

from __future__ import annotations

import pytest

from codellama_ls.actions.contract import breach
from codellama_ls.actions.instructions import ActionKind, target_of
from codellama_ls.actions.pipeline import ActionRequest, ActionResult, run_action
from codellama_ls.documents.languages import spec_by_name
from codellama_ls.engine.base import Sampling
from codellama_ls.engine.scripted import ScriptedEngine
from tests.support.gguf_models import CODELLAMA_INSTRUCT_TEMPLATE

PATH = """import math


def distance(a, b):
    return math.hypot(a[0] - b[0], a[1] - b[1])


def path_length(points):
    total = 0.0
    for i in range(len(points) - 1):
        total += distance(points[i], points[i + 1])
    return total
"""

JS = """function add(a, b) {
  const sum = a + b;
  return sum;
}
"""


def _run(kind: ActionKind, answer: str, source: str = PATH, language: str = "python") -> ActionResult:
    engine = ScriptedEngine(lambda _p: answer, chat_template=CODELLAMA_INSTRUCT_TEMPLATE)
    name = "path_length" if language == "python" else "add"
    start = source.index(f"def {name}" if language == "python" else f"function {name}")
    target = target_of(source, start, start, (start, len(source.rstrip("\n"))))
    assert target is not None
    request = ActionRequest(kind, target, source, language, spec_by_name(language), "do it")
    return run_action(engine, request, Sampling(max_tokens=2000), lambda: False)


def _fenced(code: str, language: str = "python") -> str:
    return f"Here it is:\n```{language}\n{code}```\n"


DOCUMENTED = '''def path_length(points):
    """The length of the path through `points`, in order."""
    total = 0.0
    for i in range(len(points) - 1):
        total += distance(points[i], points[i + 1])
    return total
'''


def test_a_docstring_that_leaves_the_code_alone_is_applied() -> None:
    result = _run(ActionKind.DOCSTRING, _fenced(DOCUMENTED))
    assert result.error == ""
    assert '"""The length of the path' in result.new_text


def test_a_doc_comment_answer_that_rewrites_a_line_of_the_body_is_refused() -> None:
    # Seen with SmolLM2: no docstring, and a line of the body rewritten.
    rewritten = DOCUMENTED.replace('    """The length of the path through `points`, in order."""\n', "").replace(
        "distance(points[i], points[i + 1])", "points[i] * points[i + 1]"
    )
    result = _run(ActionKind.DOCSTRING, _fenced(rewritten))
    assert result.new_text == ""
    assert "changed the code" in result.error
    assert "`total += distance(points[i], points[i + 1])` became `total += points[i] * points[i + 1]`" in result.error
    assert result.error.endswith("nothing was changed")


def test_a_doc_comment_answer_with_a_docstring_and_a_changed_body_is_refused() -> None:
    changed = DOCUMENTED.replace("total = 0.0", "total = 0")
    result = _run(ActionKind.DOCSTRING, _fenced(changed))
    assert result.new_text == "" and "`total = 0.0` became `total = 0`" in result.error


def test_a_doc_comment_answer_that_adds_code_is_refused() -> None:
    result = _run(ActionKind.DOCSTRING, _fenced(DOCUMENTED + "\n\nprint(path_length([]))\n"))
    assert result.new_text == "" and "it added code: `print(path_length([]))`" in result.error


def test_a_doc_comment_answer_without_a_docstring_is_refused() -> None:
    commented = DOCUMENTED.replace('"""The length of the path through `points`, in order."""', "# walk the path")
    result = _run(ActionKind.DOCSTRING, _fenced(commented))
    assert result.new_text == "" and "no docstring" in result.error


def test_a_string_statement_in_the_middle_of_the_body_is_code_not_a_docstring() -> None:
    moved = DOCUMENTED.replace('    """The length of the path through `points`, in order."""\n', "").replace(
        "    return total", '    """The length."""\n    return total'
    )
    result = _run(ActionKind.DOCSTRING, _fenced(moved))
    assert result.new_text == "" and "it added code" in result.error


def test_a_doc_comment_above_a_javascript_function_is_applied_one_inside_it_refused() -> None:
    above = "/**\n * Adds a and b.\n */\n" + JS
    assert _run(ActionKind.DOCSTRING, _fenced(above, "javascript"), JS, "javascript").error == ""
    inside = JS.replace("  return sum;", "  // the sum\n  return sum;")
    result = _run(ActionKind.DOCSTRING, _fenced(inside, "javascript"), JS, "javascript")
    assert result.new_text == "" and "inside the code instead of right above it" in result.error
    renamed = "/** Adds. */\n" + JS.replace("sum", "total")
    result = _run(ActionKind.DOCSTRING, _fenced(renamed, "javascript"), JS, "javascript")
    assert result.new_text == "" and "`const sum = a + b;` became `const total = a + b;`" in result.error


TESTS = """import pytest


def test_path_length_of_two_points():
    assert path_length([(0, 0), (3, 4)]) == 5
"""


def test_generated_tests_are_added_below_the_document() -> None:
    result = _run(ActionKind.TESTS, _fenced(TESTS))
    assert result.error == "" and result.start == len(PATH.rstrip("\n"))
    assert "def test_path_length_of_two_points" in result.new_text


def test_tests_that_define_the_function_again_are_refused() -> None:
    # Seen with SmolLM2: a second copy of the function with a changed body, and no test.
    copy = "def path_length(points):\n    return sum(points)\n"
    result = _run(ActionKind.TESTS, _fenced(copy))
    assert result.new_text == ""
    assert "defines `path_length` again" in result.error and "nothing was changed" in result.error


def test_tests_without_a_test_are_refused() -> None:
    result = _run(ActionKind.TESTS, _fenced("points = [(0, 0), (3, 4)]\nprint(path_length(points))\n"))
    assert result.new_text == "" and "no test in it" in result.error


def test_an_explanation_never_edits_even_when_the_answer_is_code() -> None:
    result = _run(ActionKind.EXPLAIN, _fenced(DOCUMENTED))
    assert result.new_text == "" and result.start == result.end == 0 and result.markdown


@pytest.mark.parametrize("kind", [ActionKind.EDIT, ActionKind.DOCSTRING])
def test_an_edit_outside_its_target_is_refused(kind: ActionKind) -> None:
    spec = spec_by_name("python")
    target = (PATH.index("def path_length"), len(PATH) - 1)
    outside = PATH.index("def distance")
    said = breach(kind, spec, PATH, target, outside, target[1], "pass")
    assert "outside the code it was asked to work on" in said
    assert breach(ActionKind.EDIT, spec, PATH, target, target[0], target[1], "def path_length(p):\n    pass") == ""


def test_explain_with_an_edit_and_tests_over_the_target_are_refused() -> None:
    spec = spec_by_name("python")
    target = (PATH.index("def path_length"), len(PATH) - 1)
    assert "never changes the document" in breach(ActionKind.EXPLAIN, spec, PATH, target, 0, 0, "x")
    said = breach(ActionKind.TESTS, spec, PATH, target, target[0], target[1], TESTS)
    assert "replace existing code" in said


def test_without_a_grammar_a_doc_comment_may_only_add_lines() -> None:
    text = "proc f {} {\n  puts 1\n}\n"
    assert breach(ActionKind.DOCSTRING, None, text, (0, len(text)), 0, len(text), "# Prints 1.\n" + text) == ""
    changed = "# Prints.\n" + text.replace("1", "2")
    said = breach(ActionKind.DOCSTRING, None, text, (0, len(text)), 0, len(text), changed)
    assert "changed the code" in said


def test_a_python_selection_without_a_definition_takes_a_comment_above_it() -> None:
    spec = spec_by_name("python")
    start = PATH.index("    total = 0.0")
    end = PATH.index("    return total")
    lines = PATH[start:end]
    said = breach(ActionKind.DOCSTRING, spec, PATH, (start, end), start, end, "    # Sum the legs.\n" + lines)
    assert said == ""


def test_tests_that_copy_the_class_around_the_tested_method_are_refused() -> None:
    source = "class Circle:\n    def area(self):\n        return 3 * self.r\n"
    target = (source.index("def area"), len(source) - 1)
    copy = "\n\nclass Circle:\n    def area(self):\n        return 0\n"
    said = breach(ActionKind.TESTS, spec_by_name("python"), source, target, len(source) - 1, len(source), copy)
    assert "defines `area` again" in said
