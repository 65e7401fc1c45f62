"""A deterministic minified JavaScript file: one line, dense with functions.

Shaped like a bundler's output (short names, nested closures, object literals,
string and regex literals, arrow functions, no line breaks) so that the number
of syntax nodes per byte is what real minified code has: about one function
per 40 bytes. Used by the tests and by `benchmarks/context_bench.py`.
"""

from __future__ import annotations

import random

_NAMES = "abcdefghijklmnopqrstuvwxyz"


_KEYWORDS = frozenset({"do", "if", "in"})


def _name(rng: random.Random) -> str:
    while True:
        name = rng.choice(_NAMES) + rng.choice(_NAMES + "0123456789_$")
        if name not in _KEYWORDS:
            return name


def _expression(rng: random.Random, depth: int) -> str:
    a, b = _name(rng), _name(rng)
    choice = rng.randrange(9 if depth < 3 else 5)
    if choice == 0:
        return f"{a}+{b}*{rng.randrange(100)}"
    if choice == 1:
        return f'"{a}-{rng.randrange(1000)}"'
    if choice == 2:
        return f"{a}.{b}({_name(rng)},{rng.randrange(10)})"
    if choice == 3:
        return f"/^{a}[0-9]+$/.test({b})"
    if choice == 4:
        return f"{a}?{b}:null"
    if choice == 5:
        return f"function({a},{b}){{return {_expression(rng, depth + 1)}}}"
    if choice == 6:
        return f"({a})=>{{{_statement(rng, depth + 1)}}}"
    if choice == 7:
        return "{" + ",".join(f"{_name(rng)}:{_expression(rng, depth + 1)}" for _ in range(rng.randrange(1, 4))) + "}"
    return f"[{_expression(rng, depth + 1)},{_expression(rng, depth + 1)}]"


def _statement(rng: random.Random, depth: int) -> str:
    a = _name(rng)
    choice = rng.randrange(5)
    if choice == 0:
        return f"var {a}={_expression(rng, depth)};return {a}"
    if choice == 1:
        return f"if({a}){{{a}={_expression(rng, depth)}}}return {a}"
    if choice == 2:
        return f"for(var i=0;i<{a}.length;i++){a}[i]={_expression(rng, depth)};return {a}"
    if choice == 3:
        return f"return {_expression(rng, depth)}"
    return f"try{{return {_expression(rng, depth)}}}catch({a}){{return null}}"


def minified_js(size: int, seed: int = 0) -> str:
    """About ``size`` bytes (ASCII) of one-line minified JavaScript, the same for the same seed."""
    rng = random.Random(seed)
    parts = ['!function(){"use strict";']
    length = len(parts[0])
    n = 0
    while length < size:
        part = f"function {_name(rng)}{n}({_name(rng)},{_name(rng)}){{{_statement(rng, 0)}}}"
        if n % 7 == 3:
            part = f"var {_name(rng)}{n}={_expression(rng, 1)};"
        parts.append(part)
        length += len(part)
        n += 1
    parts.append("}();")
    return "".join(parts)
