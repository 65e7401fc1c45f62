"""The definitions a cursor needs, from the workspace index (runs on the event loop, bounded).

What is wanted comes from what the user has finished writing: the call being written, the other
whole names on the cursor line, the names on the lines above it in the same scope, and a receiver
whose class an annotation or an assignment in scope names; never a name the enclosing functions
bind themselves (`locals.py`). Each is resolved through the current file's imports (`resolve.py`),
else by a name defined in few places of the workspace. The name
being typed is left out on purpose: it changes at every keystroke, and so would the prompt's
beginning and the KV cache behind it; the set changes only when a name is finished.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from codellama_ls.completion.crossfile import Chunk
from codellama_ls.completion.snapshot import Snapshot
from codellama_ls.documents.languages import language_for
from codellama_ls.workspace.definitions import Definition, ImportRef, extract
from codellama_ls.workspace.index import WorkspaceIndex
from codellama_ls.workspace.locals import bound_locally
from codellama_ls.workspace.resolve import Resolved, resolve

MAX_CANDIDATES = 12
# Lines above the cursor (in its scope) whose names are wanted, and the characters read for them.
_ABOVE_LINES = 30
_REACH = 4096
# A name defined in more places than this, none of them imported, is too ambiguous to show.
_AMBIGUOUS = 3
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_CHAIN = re.compile(rf"({_NAME}(?:\s*(?:\.|::|->)\s*{_NAME})*)\s*$")
_CALL = re.compile(rf"({_NAME})\s*(?:\.|::|->)\s*({_NAME})\s*\(|(?<![.\w])({_NAME})\s*\(")
_WORD = re.compile(rf"(?<![.\w]){_NAME}")
_QUALIFIED = re.compile(rf"({_NAME})\s*(?:\.|::|->)\s*({_NAME})")
_RECEIVER_PATTERNS = (
    # `x: Foo`, `x: &Foo` (Python, TypeScript, Rust annotations and parameters)
    re.compile(rf"\b({_NAME})\s*:\s*&?(?:mut\s+)?([A-Z]\w*)"),
    # `x = Foo(`, `x := Foo{`, `x = new Foo(`, `x := &Foo{`, `let x = Foo::new(`
    re.compile(rf"\b({_NAME})\s*:?=\s*(?:new\s+|&)?([A-Z]\w*)\s*(?:\(|\{{|::)"),
    # `Foo x = ...`, `Foo<T> x;` (Java, C++, C#)
    re.compile(r"\b([A-Z]\w*)(?:<[^<>]*>)?\s+([a-z_]\w*)\s*[=;,)]"),
)
_SKIP = frozenset(
    "self cls this super None True False def class return import from not and or for while with try except finally "
    "raise pass lambda yield await async const let var function new func package struct interface type impl pub use "
    "mod mut match else elif print len str int float bool list dict set tuple range isinstance super object void "
    "static public private protected final null undefined true false string number".split()
)


@dataclass(frozen=True)
class Want:
    name: str
    qualifier: str
    weight: float
    reason: str


def _path_of(uri: str) -> str:
    return unquote(urlsplit(uri).path) if "://" in uri else uri


def _unclosed_call(line: str) -> tuple[str, str] | None:
    """The callee of the innermost bracket left open on the line: (qualifier, name)."""
    opened: list[int] = []
    for i, ch in enumerate(line):
        if ch == "(":
            opened.append(i)
        elif ch == ")" and opened:
            opened.pop()
    if not opened:
        return None
    match = _CHAIN.search(line[: opened[-1]])
    if match is None:
        return None
    parts = re.split(r"\s*(?:\.|::|->)\s*", match.group(1))
    return (parts[-2] if len(parts) > 1 else "", parts[-1])


def receivers(text: str) -> dict[str, str]:
    """Variables whose class the text names (annotations, assignments, declarations)."""
    found: dict[str, str] = {}
    for pattern in _RECEIVER_PATTERNS[:2]:
        for name, kind in pattern.findall(text):
            found[name] = kind
    for kind, name in _RECEIVER_PATTERNS[2].findall(text):
        found.setdefault(name, kind)
    return found


def wanted(text: str, offset: int, scope_start: int | None) -> list[Want]:
    """What the cursor needs, strongest first; never the name being typed."""
    line_start = text.rfind("\n", max(offset - _REACH, 0), offset) + 1
    line = re.sub(rf"{_NAME}$", "", text[line_start:offset])
    floor = max(scope_start if scope_start is not None else 0, line_start - _REACH, 0)
    above_lines = text[floor:line_start].split("\n")[-_ABOVE_LINES - 1 :]
    above = "\n".join(above_lines)
    types = receivers(above + "\n" + line)
    wants: list[Want] = []

    def want(qualifier: str, name: str, weight: float, reason: str) -> None:
        if name in _SKIP or len(name) < 2:
            return
        if qualifier in types:
            # `client.fetch(` with `client: Client`: the class, and its method.
            kind = types[qualifier]
            wants.append(Want(kind, "", weight - 0.05, f"{reason}: {qualifier} is a {kind}"))
            wants.append(Want(name, kind, weight, f"{reason}: {kind}.{name}"))
            return
        wants.append(Want(name, qualifier, weight, reason))

    call = _unclosed_call(line)
    if call is not None:
        want(call[0], call[1], 1.0, "the call being written")
    chain = _CHAIN.search(line)
    if chain is not None and line.rstrip().endswith((".", "::", "->")):
        receiver = re.split(r"\s*(?:\.|::|->)\s*", chain.group(1))[-1]
        if receiver in types:
            wants.append(Want(types[receiver], "", 0.9, f"the receiver {receiver} is a {types[receiver]}"))
        else:
            want("", receiver, 0.85, "the receiver on the cursor line")
    for source, weight, reason in ((line, 0.8, "named on the cursor line"), (above, 0.5, "named above in this scope")):
        for qualifier, name in _QUALIFIED.findall(source):
            want(qualifier, name, weight + 0.05, reason)
        for name in _WORD.findall(source):
            want("", name, weight, reason)
    best: dict[tuple[str, str], Want] = {}
    for item in wants:
        key = (item.qualifier, item.name)
        if key not in best or best[key].weight < item.weight:
            best[key] = item
    return sorted(best.values(), key=lambda w: (-w.weight, w.qualifier, w.name))


@dataclass(frozen=True)
class _Imports:
    modules: dict[str, tuple[str, ...]]
    """A module's local name -> its files."""
    names: dict[str, tuple[tuple[str, ...], str]]
    """An imported name -> (the files it may be defined in, its name there)."""
    files: tuple[str, ...]


def _imports(index: WorkspaceIndex, language: str, path: str, refs: Iterable[ImportRef]) -> _Imports:
    modules: dict[str, tuple[str, ...]] = {}
    names: dict[str, tuple[tuple[str, ...], str]] = {}
    files: list[str] = []
    for ref in refs:
        resolved: Resolved = resolve(index, language, path, ref)
        if not resolved.paths:
            continue
        files += resolved.paths
        if resolved.alias:
            modules[resolved.alias] = resolved.paths
        for local, original in resolved.names:
            names[local] = (resolved.paths, original)
            # `from pkg import mod`: the name may be a module too.
            module_files = tuple(p for p in resolved.paths if p.rsplit("/", 1)[-1].split(".")[0] == original)
            if module_files:
                modules.setdefault(local, module_files)
    return _Imports(modules, names, tuple(dict.fromkeys(files)))


# Resolved imports per document, while the index and the imports are the same: requests on one
# line must not resolve them again. Only the event loop retrieves.
_import_cache: dict[str, tuple[int, tuple[ImportRef, ...], _Imports]] = {}


def _imports_of(index: WorkspaceIndex, language: str, path: str, refs: tuple[ImportRef, ...]) -> _Imports:
    known = _import_cache.get(path)
    if known is not None and known[0] == index.generation and known[1] == refs:
        return known[2]
    found = _imports(index, language, path, refs)
    if len(_import_cache) > 64:
        _import_cache.clear()
    _import_cache[path] = (index.generation, refs, found)
    return found


def _candidates(
    index: WorkspaceIndex, want: Want, imports: _Imports, path: str
) -> list[tuple[str, Definition, float, str]]:
    out: list[tuple[str, Definition, float, str]] = []
    if want.qualifier and want.qualifier in imports.modules:
        for where, definition in index.named_in(want.name, imports.modules[want.qualifier]):
            # A module's function, or a static member of a class imported by name (`Widget.of(`).
            if definition.container in ("", want.qualifier):
                out.append((where, definition, want.weight, f"{want.reason}: {want.qualifier}.{want.name}"))
        return out
    if want.qualifier:
        # A class's member: `Client.fetch` (its receiver's class known), or a static call.
        for where, definition in index.named(want.name):
            if definition.container == want.qualifier and where != path:
                out.append((where, definition, want.weight, want.reason))
        return out
    if want.name in imports.names:
        files, original = imports.names[want.name]
        for where, definition in index.named_in(original, files):
            if not definition.container:
                out.append((where, definition, want.weight, f"{want.reason}: imported {want.name}"))
        if out:
            return out
    imported = [(w, d) for w, d in index.named_in(want.name, imports.files) if not d.container]
    if imported:
        return [(w, d, want.weight, f"{want.reason}: from an imported file") for w, d in imported]
    if not 0 < index.named_count(want.name) <= _AMBIGUOUS + 1:
        return out  # defined nowhere, or in too many places to choose
    everywhere = [(w, d) for w, d in index.named(want.name) if w != path and not d.container]
    if 0 < len(everywhere) <= _AMBIGUOUS:
        near = str(Path(path).parent)
        return [
            (w, d, want.weight * (0.7 if w.startswith(near + "/") else 0.6), f"{want.reason}: defined in the workspace")
            for w, d in everywhere
        ]
    return out


def retrieve(index: WorkspaceIndex, snapshot: Snapshot, limit: int = MAX_CANDIDATES) -> tuple[Chunk, ...]:
    """The definitions the cursor needs, as chunks scored by how much it needs them, best first."""
    path = _path_of(snapshot.uri)
    spec = snapshot.language or language_for(snapshot.language_id, snapshot.uri)
    if spec is None or not path:
        return ()
    facts = index.facts(path)
    if facts is not None:
        refs = facts.imports
    else:
        # Not indexed yet (just opened): the imports of its header are enough.
        end = snapshot.header[1] if snapshot.header else min(len(snapshot.text), _REACH)
        refs = extract(spec, path, snapshot.text[:end]).imports
    imports = _imports_of(index, spec.name, path, refs)
    scope_start = snapshot.scopes[0][0] if snapshot.scopes else None
    local = bound_locally(snapshot.text, snapshot.offset, spec.name)
    chosen: dict[tuple[str, int], tuple[str, Definition, float, str]] = {}
    for want in wanted(snapshot.text, snapshot.offset, scope_start):
        if not want.qualifier and want.name in local:
            continue  # a parameter or a variable of this scope: another file's namesake is not it
        for where, definition, score, reason in _candidates(index, want, imports, path):
            key = (where, definition.line)
            if where != path and (key not in chosen or chosen[key][2] < score):
                chosen[key] = (where, definition, score, reason)
        if len(chosen) >= limit * 2:
            break
    ranked = sorted(chosen.values(), key=lambda c: (-c[2], c[0], c[1].line))[:limit]
    return tuple(
        Chunk(Path(where).as_uri(), definition.line, definition.excerpt, round(score, 3), reason)
        for where, definition, score, reason in ranked
    )
