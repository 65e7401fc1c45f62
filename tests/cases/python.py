from tests.cases import Case

LANGUAGE = "python"
CASES = [
    Case("def add(a, b):\n    return █\n", "a + b\nprint()", "a + b", id="line stops at newline"),
    Case(
        "def add(a, b):\n    █\n\nprint(add(1, 2))\n",
        " total = a + b\n    return total\n\nprint(add(1, 2))",
        "total = a + b\n    return total",
        id="block after opener ends at dedent",
    ),
    Case(
        "def add(a, b):\n    █\n",
        "return a + b\n\n# Example usage:\nprint(add(1, 2))",
        "return a + b",
        id="block ends at a comment in column 0 after the function",
    ),
    Case("print(█)\n", "'hello')", "'hello')", replace=1, id="auto-paired paren replaced"),
    Case("x = compute(█, y)\n", "a, y)", "a", id="rest of line not repeated"),
    Case(
        "def f(x):\n    y = x * 2\n    █\n    return y\n",
        "y += 1\n    return y\n",
        "y += 1",
        id="does not repeat the line below",
    ),
    Case(
        "class A:\n\tdef f(self):\n\t\t█\n",
        "if self.x:\n            return 1",
        "if self.x:\n\t\t\treturn 1",
        id="indentation follows the document's tabs",
    ),
    Case("def f(x):\n    return █\n", "(x + 1", "", id="suggestion adding a syntax error is dropped"),
    Case(
        "def f(x):\n    █\n",
        "if x:\n        return 1\n    return (2",
        "if x:\n        return 1",
        id="block cut before the line that breaks syntax",
    ),
    Case("# compute the █\nx = 1\n", "sum", "", invoked=False, id="no automatic trigger in a comment"),
    Case("s = 'hello █'\n", "world", "", invoked=False, id="no automatic trigger in a string"),
    Case("x = foo█bar\n", "_", "", invoked=False, id="no automatic trigger before code"),
    Case("# compute the █\n", "sum", "sum", id="explicit invocation completes in a comment"),
    Case(
        "def f(a):\n    result = compute(█\n    return result\n",
        "\n",
        "",
        id="nothing to add is no suggestion",
    ),
    Case("def f(a):\n    values = █\n", "sorted(\n        a,", "sorted(", id="a line that opens a call is kept"),
    Case("def f(a):\n    values = █\n", "sorted(a, key=len,\n", "", id="a line left open elsewhere is dropped"),
    Case(
        "class Shape:\n    def area(self):\n        return 0\n\n    █\n",
        "def perimeter(self):\n        return 0\n\n    def contains(self, point):",
        "def perimeter(self):\n        return 0",
        id="a block never ends with a header whose body is missing",
    ),
    Case(
        "def f(xs):\n    █\n",
        "for x in xs:\n        if x:",
        "",
        id="nested headers without a body: nothing is left",
    ),
    Case(
        "def f(xs):\n    █\n        print(x)\n",
        "for x in xs:",
        "for x in xs:",
        id="a header whose body is already below stays",
    ),
    Case(
        "def f(xs):\n    █\n",
        "for x in xs:\n        if x:\n            print(x)\n    for x in xs:\n        if x:\n            print(x)\n",
        "for x in xs:\n        if x:\n            print(x)",
        id="a block written twice stops at the first copy",
    ),
]
