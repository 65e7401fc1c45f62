"""What the code around the cursor binds itself, per language: a call to a parameter or a local is
never resolved to another file's namesake."""

from __future__ import annotations

from pathlib import Path

import pytest

from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.workspace.index import WorkspaceIndex
from codellama_ls.workspace.locals import bound_locally
from codellama_ls.workspace.retrieval import retrieve

# (language, the text, the cursor's place: after the first "<|>", which is removed), bound, not bound
CASES = [
    (
        "python",
        '@app.route("/x")\ndef f(self, callback, *args, key: int = g(a, b), **kw):\n'
        "    total = 0\n    if total:\n        with open(p) as fh:\n            y = callback(<|>\n",
        {"self", "callback", "args", "key", "kw", "total", "fh"},
        {"app", "route", "g", "a", "b", "open", "p", "y"},
    ),
    ("python", "class A(Base):\n    def f(self):\n        g = lambda q: q(<|>\n", {"self", "q"}, {"Base", "A"}),
    ("python", "def top(z):\n    q = 1\n\n\nx = go(<|>\n", set(), {"z", "q", "x"}),
    (
        "typescript",
        "export function getLoad(\n  parse: P,\n  render: (d: A) => string,\n) {\n"
        "  return class L extends C {\n    _render(dom: A): string {\n      return render(<|>\n    }\n  }\n}\n",
        {"parse", "render", "dom"},
        {"P", "A", "C", "L"},
    ),
    (
        "typescript",
        "class A {\n  private async m(a: number, ...rest: X[]): Promise<void> {\n    const g = 1\n    if (ready) {\n"
        "      go(<|>\n    }\n  }\n}\n",
        {"a", "rest", "g"},
        {"X", "ready", "number"},
    ),
    ("typescript", "const def = {\n  code: (cxt) => dynamicRef(<|>\n}\n", {"cxt"}, {"dynamicRef"}),
    ("javascript", "items.forEach(function (item, i) {\n  show(<|>\n})\n", {"item", "i"}, {"items", "show"}),
    (
        "javascript",
        "function f() {\n  const { a, b } = load()\n  let c\n  use(<|>\n}\n",
        {"a", "b", "c"},
        {"load", "use"},
    ),
    (
        "go",
        "package m\n\nfunc (s *Server) Handle(w http.ResponseWriter, r *Request) {\n\tx, err := do()\n"
        "\tif ok {\n\t\ts.run(<|>\n\t}\n}\n",
        {"s", "w", "r", "x", "err"},
        {"Server", "http", "Request", "ok", "do"},
    ),
    (
        "go",
        "func main() {\n\tgo func(done chan bool, n int) {\n\t\twork(<|>\n\t}()\n}\n",
        {"done", "n"},
        {"bool", "work"},
    ),
    (
        "rust",
        "impl A {\n    pub fn run<T: Into<u32>>(&self, mut x: T) -> u32 {\n"
        "        let mut y = 2;\n        go(<|>\n    }\n}\n",
        {"self", "x", "y"},
        {"T", "Into", "u32", "A"},
    ),
    # Where the type comes first, the first word is no parameter: nothing is read.
    ("java", "class A {\n  void m(Widget widget) {\n    paint(<|>\n  }\n}\n", set(), {"Widget", "widget"}),
]


@pytest.mark.parametrize(("language", "marked", "bound", "unbound"), CASES, ids=[c[0] for c in CASES])
def test_names_bound_around_the_cursor(language: str, marked: str, bound: set[str], unbound: set[str]) -> None:
    offset = marked.index("<|>")
    names = bound_locally(marked.replace("<|>", "", 1), offset, language)
    assert bound <= names
    assert not unbound & names


def test_a_parameter_named_like_a_workspace_function_is_not_retrieved(tmp_path: Path) -> None:
    (tmp_path / "render.ts").write_text("export function render(that: Api, dom: Node, options: Options): string {\n}\n")
    (tmp_path / "format.ts").write_text("export function format(value: number, digits: number): string {\n}\n")
    text = (
        "import { render } from './render'\nimport { format } from './format'\n\n"
        "export function view(render: (dom: Node) => string, dom: Node) {\n  return render("
    )
    index = WorkspaceIndex()
    try:
        index.set_folders([tmp_path])
        assert index.wait_idle(30)
        chunks = retrieve(
            index, snapshot_of(Document((tmp_path / "view.ts").as_uri(), "typescript", 1, text), len(text))
        )
        assert not any("function render(" in c.text for c in chunks)
        # The same call outside the function that binds it is the imported one.
        outside = text.replace("export function view(render: (dom: Node) => string, dom: Node) {\n  return ", "")
        doc = Document((tmp_path / "view.ts").as_uri(), "typescript", 1, outside)
        chunks = retrieve(index, snapshot_of(doc, len(outside)))
        assert chunks and "function render(" in chunks[0].text
    finally:
        index.close()


def test_a_minified_line_reads_as_nothing_and_a_long_line_above_bounds_the_reach() -> None:
    minified = "function f(a){return g(a)};" * 40_000
    assert bound_locally(minified + "h(", len(minified) + 2, "javascript") == frozenset()
    text = minified + "\nfunction k(b) {\n  return m(\n}\n"
    offset = text.index("m(") + 2
    assert bound_locally(text, offset, "javascript") == {"b"}
