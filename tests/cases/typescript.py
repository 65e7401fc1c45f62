from tests.cases import Case

LANGUAGE = "typescript"
CASES = [
    Case(
        "function add(a: number, b: number): number {\n  const total: number = █\n  return total;\n}\n",
        "a + b;\n  return total;",
        "a + b;",
        id="line stops at newline",
    ),
    Case(
        "function greet(name: string): string {\n  █\n}\n",
        "const upper = name.toUpperCase();\n  return `Hello, ${upper}!`;\n}\n\nexport {};",
        "const upper = name.toUpperCase();\n  return `Hello, ${upper}!`;",
        id="block ends where the function closes",
    ),
    Case(
        "const names: string[] = [█];\n",
        "'ada', 'alan'];",
        "'ada', 'alan'];",
        replace=2,
        id="auto-paired closers replaced",
    ),
    Case("import { useState } from '█';\n", "react';", "react';", replace=2, id="auto-paired quote replaced"),
    Case("const cache = new Map<string, █>();\n", "number>();", "number", id="rest of line with parens trimmed"),
    Case("const r = clamp(█, 0, 10);\n", "value, 0, 10);", "value", id="rest of line not repeated"),
    Case(
        "interface User {\n  id: number;\n  █\n  email: string;\n}\n",
        "name: string;\n  email: string;\n}",
        "name: string;",
        id="does not repeat the line below",
    ),
    Case(
        "class Counter {\n    private count = 0;\n\n    increment(): void {\n        █\n    }\n}\n",
        "this.count++;\n\t\tthis.emit('change');\n\t}",
        "this.count++;\n        this.emit('change');",
        id="tabs become the document's spaces",
    ),
    Case(
        "const port = parseInt(█);\n",
        "process.env.PORT ?? '8080);",
        "",
        id="unterminated string dropped",
    ),
    Case(
        "function load(path: string): string[] {\n  █\n}\n",
        "const lines = readLines(path);\n  return lines.filter((l) => l.length > 0;\n}",
        "const lines = readLines(path);",
        id="block cut before the line that breaks syntax",
    ),
    Case("// fetch the █\nconst x = 1;\n", "user", "", invoked=False, id="no automatic trigger in a comment"),
    Case(
        "/**\n * Returns the █\n */\nexport function f(): void {}\n",
        "user",
        "",
        invoked=False,
        id="no automatic trigger in a doc comment",
    ),
    Case('const greeting: string = "hello █";\n', "world", "", invoked=False, id="no automatic trigger in a string"),
    Case("const s = `id: ${id} █`;\n", "ok", "", invoked=False, id="no automatic trigger in a template string"),
    Case("const n = parse█Int(s);\n", "Float", "", invoked=False, id="no automatic trigger before code"),
    Case("const n: number = █;\n", "42;", "42;", replace=1, invoked=False, id="automatic trigger before a semicolon"),
    Case(
        "const s = `total: ${█}`;\n",
        "n}`;",
        "n}`;",
        replace=3,
        invoked=False,
        id="automatic trigger in a template substitution",
    ),
]

# Correct expectations the pipeline does not meet yet (see the report); not run.
FIXED_ISSUES = [
    Case(
        "function sum(xs: number[]): number {\n  █\n}\n",
        "let total = 0;\n  for (const x of xs) {\n    total += x;\n  }\n  return total;\n}\n\nexport {};",
        "let total = 0;\n  for (const x of xs) {\n    total += x;\n  }\n  return total;",
        id="nested block: inner } is taken for the function's closing } below",
    ),
    Case(
        "class Counter {\n    private count = 0;\n\n    increment(): void {\n        █\n    }\n}\n",
        "if (this.count < 10) {\n\t\t\tthis.count++;\n\t\t}\n\t}",
        "if (this.count < 10) {\n            this.count++;\n        }",
        id="nested block with tabs: cut at the inner }",
    ),
    Case(
        "const config = {\n  port: █\n};\n",
        "parseInt(process.env.PORT ?? '8080'",
        "",
        id="unbalanced paren kept: the document's own error at the cursor offsets it",
    ),
    Case(
        "function f(a: number): number {\n  █\n  return a;\n}\n",
        "for (let i = 0; i < a; i++) {\n    a += i;\n    if (a > 10) {\n      a = ",
        "for (let i = 0; i < a; i++) {\n    a += i;\n    if (a > 10) {",
        id="a block cut by the token limit keeps its lines up to an opener",
    ),
]

CASES += FIXED_ISSUES
