from tests.cases import Case

LANGUAGE = "c"
CASES = [
    Case("int add(int a, int b) {\n    return █\n}\n", "a + b;\n}", "a + b;", id="line stops at newline"),
    Case(
        "#include <stdio.h>\n\nint report(const char *name, int n) {\n    █\n}\n",
        'printf("%s: %d\\n", name, n);\n    return n > 0 ? 0 : -1;\n}\n\nint main(void) {',
        'printf("%s: %d\\n", name, n);\n    return n > 0 ? 0 : -1;',
        id="block ends where the function closes",
    ),
    Case(
        "#include <stdio.h>\n\nvoid show(int n) {\n    printf(█);\n}\n",
        '"%d\\n", n);',
        '"%d\\n", n);',
        replace=2,
        id="auto-paired closers replaced",
    ),
    Case("#include <█>\n", "stdio.h>", "stdio.h>", replace=1, id="include angle bracket replaced"),
    Case(
        '#include <stdio.h>\n\nint count(const char *path) {\n    FILE *f = fopen(path, "r");\n    █\n'
        "    fclose(f);\n    return 0;\n}\n",
        "if (!f) {\n        return -1;\n    }\n    fclose(f);\n    return 0;",
        "if (!f) {\n        return -1;\n    }",
        id="does not repeat the lines below",
    ),
    Case(
        "static int probe(struct device *dev)\n{\n\tint ret;\n\n\t█\n}\n",
        "ret = init(dev);\n    if (ret)\n        return ret;\n    return 0;\n}",
        "ret = init(dev);\n\tif (ret)\n\t\treturn ret;\n\treturn 0;",
        id="spaces become the document's tabs",
    ),
    Case("void f(void) {\n    puts(█);\n}\n", '"unterminated);', "", id="unterminated string dropped"),
    Case(
        "void f(void) {\n    █\n}\n",
        "int x = 1;\n    g(x;\n}",
        "int x = 1;",
        id="block cut before the line that breaks syntax",
    ),
    Case("/* compute the █ */\nint x;\n", "sum", "", invoked=False, id="no automatic trigger in a block comment"),
    Case("// compute the █\nint x;\n", "sum", "", invoked=False, id="no automatic trigger in a line comment"),
    Case(
        'void f(void) {\n    puts("hello █");\n}\n', "world", "", invoked=False, id="no automatic trigger in a string"
    ),
    Case(
        "int f(const char *s) {\n    return str█len(s);\n}\n",
        "n",
        "",
        invoked=False,
        id="no automatic trigger before code",
    ),
    Case("int x; // count█\n", " of items", "", invoked=False, id="no automatic trigger at the end of a line comment"),
    Case(
        "int x = 1; /* count */█\n",
        " int y;",
        " int y;",
        invoked=False,
        id="automatic trigger right after a closed block comment",
    ),
]

# Correct expectations the pipeline does not meet yet (see the report); not run.
FIXED_ISSUES = [
    Case(
        "void f(void) {\n    █\n}\n",
        "init();\n#ifdef DEBUG\n    log_init();\n#endif\n    run();\n}",
        "init();\n#ifdef DEBUG\n    log_init();\n#endif\n    run();",
        id="block cut at a preprocessor line in column 0 (taken for a dedent)",
    ),
    Case(
        "#include <stddef.h>\n\nint sum(const int *xs, size_t n) {\n    █\n}\n",
        "int total = 0;\n    for (size_t i = 0; i < n; i++) {\n        total += xs[i];\n    }\n    return total;\n}\n\n"
        "int main(void) {",
        "int total = 0;\n    for (size_t i = 0; i < n; i++) {\n        total += xs[i];\n    }\n    return total;",
        id="nested block: inner } is taken for the function's closing } below",
    ),
    Case(
        "void f(void) {\n    char *s = █\n}\n",
        '"unterminated;',
        "",
        id="unterminated string kept: the document's own error at the cursor offsets it",
    ),
    Case(
        "#include <stdio.h>\n\nvoid show(int n) {\n    printf(█);\n}\n",
        '"%d\\n", n)',
        '"%d\\n", n)',
        replace=1,
        id="suggestion ending with part of the auto-paired closers is dropped instead of replacing them",
    ),
    Case(
        "int f(int a) {\n    while █\n    return a;\n}\n",
        "(a > 0) {\n",
        "(a > 0) {",
        id="a line that opens a block is kept",
    ),
    Case("int f(int a) {\n    return g(█\n}\n", "a, b", "", id="an unclosed call is dropped"),
]

CASES += FIXED_ISSUES
