from tests.cases import Case

LANGUAGE = "lua"
CASES = [
    Case("local x = █\nprint(x)\n", "10\nprint(x)", "10", id="line stops at newline"),
    Case(
        "local function greet(name)\n  █\nend\n",
        'local msg = "Hello, " .. name\n  print(msg)\nend\n\nreturn greet',
        'local msg = "Hello, " .. name\n  print(msg)',
        id="block ends at end",
    ),
    Case("print(█)\n", '"hello")', '"hello")', replace=1, id="auto-paired paren replaced"),
    Case("print(█)\n", '"hello)', "", id="unterminated string dropped"),
    Case("-- compute the █\nlocal x = 1\n", "sum", "", invoked=False, id="no automatic trigger in a comment"),
    Case('local s = "hello █"\n', "world", "", invoked=False, id="no automatic trigger in a string"),
    Case("local n = string.l█en(s)\n", "ower", "", invoked=False, id="no automatic trigger before code"),
    Case("local s = [[long █]]\n", "text", "", invoked=False, id="no automatic trigger in a long string"),
    Case(
        "function f(a)\n  █\nend\n",
        "local b = a + 1\n  if b > 2 then",
        "local b = a + 1",
        id="a block never ends with an opener whose body is missing",
    ),
]

# Correct expectations the pipeline does not meet yet (see the report); not run.
FIXED_ISSUES = [
    Case(
        "local function sum(xs)\n  █\nend\n",
        "local total = 0\n  for _, x in ipairs(xs) do\n    total = total + x\n  end\n  return total\nend\n\nreturn sum",
        "local total = 0\n  for _, x in ipairs(xs) do\n    total = total + x\n  end\n  return total",
        id="nested block: inner end is taken for the function's end below",
    ),
    Case(
        "local t = █\n",
        "{ 1, 2, 3",
        "",
        id="unbalanced brace kept: the document's own error at the cursor offsets it",
    ),
]

CASES += FIXED_ISSUES
