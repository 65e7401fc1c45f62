from tests.cases import Case

LANGUAGE = "go"
CASES = [
    Case(
        "package main\n\nfunc add(a, b int) int {\n\treturn █\n}\n",
        "a + b\n}",
        "a + b",
        id="line stops at newline",
    ),
    Case(
        'package main\n\nimport "strings"\n\nfunc greet(name string) string {\n\t█\n}\n\n'
        'func main() {\n\tprintln(greet("go"))\n}\n',
        'upper := strings.ToUpper(name)\n\treturn "Hello, " + upper\n}\n\nfunc main() {\n\tprintln(greet("go"))',
        'upper := strings.ToUpper(name)\n\treturn "Hello, " + upper',
        id="block ends where the function closes",
    ),
    Case(
        "package main\n\nfunc sum(xs []int) int {\n\ttotal := 0\n\tfor _, x := range xs {\n█\n\t}\n\treturn total\n}\n",
        "        total += x\n\t}",
        "\t\ttotal += x",
        id="a first line at column 0 takes the file's tabs",
    ),
    Case(
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(█)\n}\n',
        '"hello")',
        '"hello")',
        replace=1,
        id="auto-paired paren replaced",
    ),
    Case(
        "package main\n\nfunc main() {\n\tnames := []string{█}\n\t_ = names\n}\n",
        '"ada", "alan"}',
        '"ada", "alan"}',
        replace=1,
        id="auto-paired brace of a composite literal replaced",
    ),
    Case('package main\n\nimport "█"\n', 'fmt"', 'fmt"', replace=1, id="auto-paired import quote replaced"),
    Case(
        "package main\n\nfunc run() error {\n\tcfg, err := load()\n\t█\n\treturn start(cfg)\n}\n",
        "if err != nil {\n\t\treturn err\n\t}\n\treturn start(cfg)\n}",
        "if err != nil {\n\t\treturn err\n\t}",
        id="does not repeat the line below",
    ),
    Case(
        "package main\n\nfunc run() error {\n\terr := load()\n\t█\n\treturn nil\n}\n",
        "if err != nil {\n        return err\n    }\n",
        "if err != nil {\n\t\treturn err\n\t}",
        id="spaces become the document's tabs",
    ),
    Case(
        'package main\n\nimport "fmt"\n\nfunc f(n int) string {\n\treturn fmt.Sprintf(█)\n}\n',
        '"%d items, n)',
        "",
        id="unterminated string dropped",
    ),
    Case(
        "package main\n\nfunc main() {\n\t█\n}\n",
        "x := compute()\n\tfmt.Println(x\n}",
        "x := compute()",
        id="block cut before the line that breaks syntax",
    ),
    Case(
        "package main\n\n// Sum returns the █\nfunc Sum(xs []int) int { return 0 }\n",
        "total",
        "",
        invoked=False,
        id="no automatic trigger in a comment",
    ),
    Case(
        'package main\n\nfunc main() {\n\ts := "hello █"\n\t_ = s\n}\n',
        "world",
        "",
        invoked=False,
        id="no automatic trigger in a string",
    ),
    Case(
        "package main\n\nfunc main() {\n\tq := `SELECT * FROM █`\n\t_ = q\n}\n",
        "users",
        "",
        invoked=False,
        id="no automatic trigger in a raw string",
    ),
    Case(
        'package main\n\nimport "strings"\n\nfunc f(s string) string {\n\treturn strings.Tr█im(s, " ")\n}\n',
        "imSpace",
        "",
        invoked=False,
        id="no automatic trigger before code",
    ),
    Case(
        'package main\n\nfunc f(name string) string {\n\ts := "hi"█\n\treturn s\n}\n',
        " + name",
        " + name",
        invoked=False,
        id="automatic trigger right after a closed string",
    ),
    Case(
        'package main\n\nfunc name(n int) string {\n\tswitch n {\n\tcase 1:\n\t\t█\n\t}\n\treturn ""\n}\n',
        'return "one"\n\tcase 2:\n\t\treturn "two"\n\t}',
        'return "one"',
        id="block in a switch ends at the next case",
    ),
    Case(
        "package main\n\nfunc f(a int) int {\n\t█\n}\n",
        "b := a + 1\n\tif b > 2 {",
        "b := a + 1",
        id="a block never ends with an open brace line",
    ),
]

# Correct expectations the pipeline does not meet yet (see the report); not run.
FIXED_ISSUES = [
    Case(
        'package main\n\nimport "strings"\n\nfunc greet(name string) string {\n\t█\n}\n',
        'upper := strings.ToUpper(name)\n\treturn "Hello, " + upper\n}\n\nfunc main() {',
        'upper := strings.ToUpper(name)\n\treturn "Hello, " + upper',
        id="tabs turned into spaces when no other line of the document is indented",
    ),
    Case(
        "package main\n\nfunc sum(xs []int) int {\n\t█\n}\n",
        "total := 0\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}\n\nfunc main() {",
        "total := 0\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total",
        id="nested block: inner } is taken for the function's closing } below",
    ),
    Case(
        "package main\n\nfunc f(a int) int {\n\tfor █\n\treturn a\n}\n",
        "i := 0; i < a; i++ {\n",
        "i := 0; i < a; i++ {",
        id="a line that opens a block is kept",
    ),
]

CASES += FIXED_ISSUES
