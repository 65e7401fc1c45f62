from tests.cases import Case

LANGUAGE = "rust"
CASES = [
    Case(
        "fn add(a: i32, b: i32) -> i32 {\n    let s = █\n    s\n}\n",
        "a + b;\n    s",
        "a + b;",
        id="line stops at newline",
    ),
    Case(
        "fn greet(name: &str) -> String {\n    █\n}\n",
        'let upper = name.to_uppercase();\n    format!("Hello, {upper}!")\n}\n\nfn main() {',
        'let upper = name.to_uppercase();\n    format!("Hello, {upper}!")',
        id="block ends where the function closes",
    ),
    Case(
        'fn main() {\n    let name = "world";\n    println!("hello {}", █);\n}\n',
        "name);",
        "name);",
        replace=2,
        id="auto-paired closers of a macro replaced",
    ),
    Case("fn main() {\n    let v = vec![█];\n}\n", "1, 2, 3];", "1, 2, 3];", replace=2, id="vec! brackets replaced"),
    Case(
        "struct Point {\n    x: f64,\n    y: f64,\n}\n\nimpl Point {\n    fn new(x: f64, y: f64) -> Self {\n        █\n"
        "        Self { x, y }\n    }\n}\n",
        "let x = x.abs();\n        Self { x, y }\n    }",
        "let x = x.abs();",
        id="does not repeat the line below",
    ),
    Case(
        "fn twice(x: i32) -> i32 {\n    █\n}\n",
        "let y = x * 2;\n\ty\n}",
        "let y = x * 2;\n    y",
        id="tabs become the document's spaces",
    ),
    Case(
        "fn first<'a>(s: &'a str) -> &'a str {\n    █\n}\n",
        "s.split(' ').next().unwrap_or(\"\")\n}",
        "s.split(' ').next().unwrap_or(\"\")",
        id="lifetimes and char literals are not quotes",
    ),
    Case("fn main() {\n    let v: Vec<i32> = vec![█];\n}\n", "1, 2, (3];", "", id="unbalanced paren dropped"),
    Case(
        "fn main() {\n    █\n}\n",
        "let v = vec![1, 2, 3];\n    let s: i32 = v.iter().map(|x| x * 2).sum(;\n}",
        "let v = vec![1, 2, 3];",
        id="block cut before the line that breaks syntax",
    ),
    Case(
        "fn main() {\n    let v: Vec<i32> = █\n}\n",
        "vec![1, 2, 3;",
        "",
        id="unbalanced bracket after = dropped",
    ),
    Case("/// Returns the █\nfn f() {}\n", "sum", "", invoked=False, id="no automatic trigger in a doc comment"),
    Case('fn main() {\n    let s = "hello █";\n}\n', "world", "", invoked=False, id="no automatic trigger in a string"),
    Case(
        "fn f(s: &str) -> &str {\n    s.tri█m()\n}\n",
        "m_start",
        "",
        invoked=False,
        id="no automatic trigger before code",
    ),
    Case(
        "fn main() {\n    let c = 'a'█\n}\n", ";", ";", invoked=False, id="automatic trigger right after a char literal"
    ),
    Case(
        "fn f(a: i32) -> i32 {\n    █\n}\n",
        "let b = a + 1;\n    match b {",
        "let b = a + 1;",
        id="a block never ends with an open brace line",
    ),
]

# Correct expectations the pipeline does not meet yet (see the report); not run.
FIXED_ISSUES = [
    Case(
        "fn sum(xs: &[i32]) -> i32 {\n    █\n}\n",
        "let mut total = 0;\n    for x in xs {\n        total += x;\n    }\n    total\n}\n\nfn main() {",
        "let mut total = 0;\n    for x in xs {\n        total += x;\n    }\n    total",
        id="nested block: inner } is taken for the function's closing } below",
    ),
    Case(
        "fn get(x: Option<i32>) -> i32 {\n    █\n}\n",
        "match x {\n\t\tSome(v) => v,\n\t\tNone => 0,\n\t}\n}",
        "match x {\n        Some(v) => v,\n        None => 0,\n    }",
        id="match with tabs: cut at the inner }",
    ),
    Case(
        "fn f(a: i32) -> i32 {\n    if █\n    a\n}\n",
        "a > 1 {\n",
        "a > 1 {",
        id="a line that opens a block is kept",
    ),
]

CASES += FIXED_ISSUES
