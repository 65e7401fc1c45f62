from tests.cases import Case

LANGUAGE = "javascript"
CASES = [
    Case("const total = █\n", "a + b;\nconsole.log(total);", "a + b;", id="line stops at newline"),
    Case(
        "function add(a, b) {\n  █\n}\n",
        "const sum = a + b;\n  return sum;\n}\n\nfunction sub() {",
        "const sum = a + b;\n  return sum;",
        id="block ends where the function closes",
    ),
    Case("console.log(█);\n", "'hi');", "'hi');", replace=2, id="auto-paired closers replaced"),
    Case("const xs = [█];\n", "1, 2, 3", "1, 2, 3", id="inside brackets"),
    Case(
        "function f(x) {\n  █\n  return y;\n}\n",
        "const y = x * 2;\n  return y;",
        "const y = x * 2;",
        id="does not repeat the line below",
    ),
    Case(
        "const f = () => {\n    █\n};\n",
        "return 1;\n\treturn 2;",
        "return 1;\n    return 2;",
        id="tabs become the document's spaces",
    ),
    Case("const x = █;\n", "{ a: 1", "", id="unbalanced brace dropped"),
    Case("// add the █\n", "numbers", "", invoked=False, id="no automatic trigger in a comment"),
    Case("const s = `hello █`;\n", "world", "", invoked=False, id="no automatic trigger in a template string"),
    Case("foo(█bar);\n", "x, ", "", invoked=False, id="no automatic trigger before code"),
    Case(
        "function f(a) {\n  if █\n  return a;\n}\n",
        "(a > 1) {\n    a = 1;",
        "(a > 1) {",
        id="a line that opens a block is kept",
    ),
    Case(
        "function f(a) {\n  if █\n    return 2;\n  }\n  return 3;\n}\n",
        "(a > 1) {\n",
        "(a > 1) {",
        id="a block the suffix closes, in a document broken at the cursor",
    ),
    Case(
        "function f(a) {\n  █\n}\n",
        "const b = a + 1;\n  if (b > 2) {",
        "const b = a + 1;",
        id="a block never ends with an open brace line",
    ),
    Case(
        "function f(xs) {\n  █\n}\n",
        "for (const x of xs) {\n    log(x);\n  }\n  for (const x of xs) {\n    log(x);\n  }\n}",
        "for (const x of xs) {\n    log(x);\n  }",
        id="a block written twice stops at the first copy",
    ),
]
