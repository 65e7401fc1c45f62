"""What one file defines and imports, read with `grammars/<language>/definitions.scm` (pure but for
compiling the queries once).

A definition keeps what a prompt shows of it, computed once per file version: its signature lines, the
first line of its doc comment and a bounded excerpt (a function's first lines, a class's header with
its members' signatures), so a request renders nothing and the file's text is not kept. The files that
changed last keep their tree (`Trees`), so their next version is parsed incrementally.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import tree_sitter

from codellama_ls.documents.languages import LanguageSpec, new_parser
from codellama_ls.documents.syntax import load_query

QUERY_FILE = "definitions.scm"
# An excerpt's lines: a signature and the start of its body, or a class and its members' signatures.
EXCERPT_LINES = 14
SIGNATURE_LINES = 6
MAX_LINE = 240
# Definitions kept per file: a generated table of thousands of constants is no context.
MAX_DEFINITIONS = 400
# Kinds that hold members: a function inside one is a method, named `Container.name`.
_CONTAINERS = frozenset({"class", "interface", "struct", "trait", "impl", "enum"})


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str
    """function, method, class, interface, struct, enum, trait, impl, type, constant, macro."""
    container: str
    """The enclosing class/impl's name, or empty."""
    line: int
    """0-based first line."""
    end_line: int
    signature: str
    doc: str
    """The first line of its doc comment or docstring."""
    excerpt: str
    """What a prompt shows: the signature, the doc and a bounded part of the body."""


@dataclass(frozen=True)
class ImportRef:
    module: str
    """As written: `.a.b`, `a.b`, `./x`, `fmt`, `crate::a::{B, C}`, `com.x.Y`, `a/b.h`."""
    names: tuple[str, ...] = ()
    """Names it brings in (`from m import a, b`, `import { a } from`)."""
    alias: str = ""
    """The local name of the module itself (`import x as y`, `import * as ns`, a Go package alias)."""
    submodule: bool = False
    """Rust `mod foo;`: a file beside this one."""


@dataclass(frozen=True)
class FileFacts:
    path: str
    language: str
    definitions: tuple[Definition, ...]
    imports: tuple[ImportRef, ...]
    digest: int = 0
    """The text's hash: a file notified again with the same text is not read again."""


_local = threading.local()


# Compiled once (a query is read-only; each use gets its own cursor). Two threads may both compile
# on first use: equal results, the last write wins.
_queries: dict[str, tree_sitter.Query | None] = {}


def _query(spec: LanguageSpec) -> tree_sitter.Query | None:
    if spec.name not in _queries:
        _queries[spec.name] = load_query(spec, QUERY_FILE)
    return _queries[spec.name]


def _last_line(node: tree_sitter.Node) -> int:
    """A node's last line, not the next one where it ends at column 0 (`#define` takes its newline)."""
    row, column = node.end_point
    return int(row - 1 if column == 0 and row > node.start_point[0] else row)


def _parser(spec: LanguageSpec) -> tree_sitter.Parser | None:
    # A parser is not safe to share between threads: one per thread and language.
    cache: dict[str, tree_sitter.Parser | None] = _local.__dict__.setdefault("parsers", {})
    if spec.name not in cache:
        cache[spec.name] = new_parser(spec)
    return cache[spec.name]


def supported(spec: LanguageSpec) -> bool:
    return _query(spec) is not None


def digest_of(text: str) -> int:
    return hash(text)


def _common_prefix(old: bytes, new: bytes) -> int:
    low, high = 0, min(len(old), len(new))
    while low < high:  # compared in C, a slice at a time
        middle = (low + high + 1) // 2
        if old[low:middle] == new[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(old: bytes, new: bytes, limit: int) -> int:
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if old[len(old) - middle : len(old) - low] == new[len(new) - middle : len(new) - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _point(source: bytes, at: int) -> tuple[int, int]:
    return source.count(b"\n", 0, at), at - (source.rfind(b"\n", 0, at) + 1)


def _edit(tree: tree_sitter.Tree, old: bytes, new: bytes) -> None:
    """Tell `tree` (parsed from `old`) how `new` differs: one replaced span, between the common
    prefix and the common suffix."""
    start = _common_prefix(old, new)
    tail = _common_suffix(old, new, min(len(old), len(new)) - start)
    old_end, new_end = len(old) - tail, len(new) - tail
    tree.edit(
        start_byte=start,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=_point(old, start),
        old_end_point=_point(old, old_end),
        new_end_point=_point(new, new_end),
    )


class Trees:
    """The source and tree of the files parsed last through it, so that a file's next version (a save,
    an edit another document's request takes, a change on disk) is parsed incrementally: a tree
    costs about 25 times its source in memory, so only a few are kept. One thread uses it."""

    def __init__(self, max_files: int = 8, max_bytes: int = 1 << 20) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._held: dict[tuple[str, str], tuple[bytes, tree_sitter.Tree]] = {}
        self.reused = 0
        """Parses that started from a kept tree."""

    def parse(self, parser: tree_sitter.Parser, key: tuple[str, str], source: bytes) -> tree_sitter.Tree:
        held = self._held.pop(key, None)
        if held is None:
            tree = parser.parse(source)
        else:
            old, tree = held
            _edit(tree, old, source)
            tree = parser.parse(source, tree)
            self.reused += 1
        if len(source) <= self.max_bytes // 2:
            self._held[key] = (source, tree)
            total = sum(len(s) for s, _ in self._held.values())
            while len(self._held) > self.max_files or total > self.max_bytes:
                oldest = next(iter(self._held))
                total -= len(self._held.pop(oldest)[0])
        return tree


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _first_doc_line(text: str) -> str:
    for raw in text.splitlines():
        line = raw.strip().lstrip("/*!#").removesuffix("*/").strip().strip("\"'").strip()
        if line and line not in ('"""', "'''"):
            return line[:MAX_LINE]
    return ""


def _doc(node: tree_sitter.Node, body: tree_sitter.Node | None, language: str) -> str:
    if language == "python":
        if body is not None and body.named_child_count:
            # named_child(0), not named_children[0]: a class body's every member would become a Node.
            first = body.named_child(0)
            string = first.named_child(0) if first is not None and first.type == "expression_statement" else None
            if string is not None and string.type == "string":
                return _first_doc_line(_text(string))
        return ""
    # Comments right above (an `export`/decorator wrapper's, when there is one).
    target = (
        node.parent
        if node.parent is not None and node.parent.type in ("export_statement", "decorated_definition")
        else node
    )
    comments: list[tree_sitter.Node] = []
    sibling = target.prev_sibling
    line = target.start_point[0]
    while sibling is not None and sibling.type in ("comment", "line_comment", "block_comment"):
        if sibling.end_point[0] < line - 1:
            break
        comments.append(sibling)
        line = sibling.start_point[0]
        sibling = sibling.prev_sibling
    return _first_doc_line("\n".join(_text(c) for c in reversed(comments))) if comments else ""


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[:MAX_LINE] + " …"


@dataclass
class _Found:
    node: tree_sitter.Node
    name: str
    kind: str
    body: tree_sitter.Node | None
    container: str = ""
    signature: tuple[str, int] | None = None
    """`_signature`'s answer, once computed (a member's serves its class's excerpt too)."""


def _signature(lines: list[str], found: _Found) -> tuple[str, int]:
    """The definition's lines up to its body (at most `SIGNATURE_LINES`), and the first line after them."""
    if found.signature is not None:
        return found.signature
    first = found.node.start_point[0]
    last = _last_line(found.node)
    if found.body is not None:
        # A body on a later line (Python's block, an Allman brace) starts after the signature;
        # one on the same line (`{`, Go's `struct {`) leaves the signature that line.
        last = max(first, found.body.start_point[0] - 1) if found.body.start_point[0] > first else first
    last = min(last, first + SIGNATURE_LINES - 1)
    found.signature = "\n".join(_clip(line) for line in lines[first : last + 1]).rstrip(), last + 1
    return found.signature


def _ellipsis(lines: list[str], at: int, comment: str) -> str:
    indent = ""
    for line in lines[at : at + 3]:
        if line.strip():
            indent = line[: len(line) - len(line.lstrip())]
            break
    return f"{indent}{comment} ..."


def _excerpt(lines: list[str], found: _Found, members: list[_Found], doc: str, language: str, comment: str) -> str:
    last = _last_line(found.node)
    if found.kind in _CONTAINERS and members:
        # A class: its header and doc line, then its members' signatures.
        signature, after = _signature(lines, found)
        out = [signature]
        if doc and language == "python":
            out.append(f'{_ellipsis(lines, after, "")[:-4]}"""{doc}"""')
        elif doc:
            out.insert(0, f"{comment} {doc}")
        for member in members:
            out.append(_signature(lines, member)[0])
            if len(out) >= EXCERPT_LINES * 2:
                out.append(_ellipsis(lines, member.node.start_point[0], comment))
                break
        return "\n".join(out)
    # A function: its signature, its doc's first line, then the start of its body.
    signature, after = _signature(lines, found)
    out = [signature]
    if doc and language == "python":
        out.append(f'{_ellipsis(lines, after, "")[:-4]}"""{doc}"""')
        after = _after_docstring(found, after)
    elif doc:
        out.insert(0, f"{comment} {doc}")
    end = min(last, after + EXCERPT_LINES - len(out))
    out += [line if len(line) <= MAX_LINE else _clip(line) for line in lines[after : end + 1]]
    if end < last:
        out.append(_ellipsis(lines, end + 1, comment))
    return "\n".join(line for line in out if line.strip())


def _after_docstring(found: _Found, fallback: int) -> int:
    body = found.body
    if body is not None and body.named_child_count:
        first = body.named_child(0)
        if first is not None:
            return int(first.end_point[0]) + 1
    return fallback


def _collect(query: tree_sitter.Query, root: tree_sitter.Node) -> tuple[list[_Found], list[ImportRef]]:
    found: list[_Found] = []
    imports: dict[int, ImportRef] = {}
    for _, captures in tree_sitter.QueryCursor(query).matches(root):
        kinds = [key for key in captures if key.startswith("definition.")]
        if kinds:
            node = captures[kinds[0]][0]
            name = captures.get("name")
            if not name:
                continue
            body = captures.get("body")
            container = captures.get("container")
            found.append(
                _Found(
                    node,
                    _text(name[0]),
                    kinds[0].removeprefix("definition."),
                    body[0] if body else None,
                    _text(container[0]).lstrip("*") if container else "",
                )
            )
        elif "import" in captures:
            node = captures["import"][0]
            module = captures.get("import.module") or captures.get("import.mod")
            if not module:
                continue
            key = node.start_byte * 7919 + module[0].start_byte
            written = _text(module[0]).strip("\"`'")
            known = imports.get(key, ImportRef(written, submodule="import.mod" in captures))
            names = tuple(_text(n) for n in captures.get("import.name", ()))
            alias = captures.get("import.alias")
            if names and alias:
                # `from m import a as b`: the name as `a as b`, the module keeps no alias.
                names, alias = tuple(f"{n} as {_text(alias[0])}" for n in names), None
            imports[key] = ImportRef(
                known.module,
                known.names + tuple(n for n in names if n not in known.names),
                known.alias or (_text(alias[0]).removeprefix("* as ").strip() if alias else ""),
                known.submodule,
            )
    return found, list(imports.values())


def extract(spec: LanguageSpec, path: str, text: str, trees: Trees | None = None) -> FileFacts:
    """The definitions and imports of one file's text (parsed from its last tree in `trees`, if any)."""
    parser, query = _parser(spec), _query(spec)
    if parser is None or query is None:
        return FileFacts(path, spec.name, (), (), digest_of(text))
    source = text.encode("utf-8", errors="replace")
    tree = trees.parse(parser, (path, spec.name), source) if trees is not None else parser.parse(source)
    found, imports = _collect(query, tree.root_node)
    found.sort(key=lambda f: (f.node.start_byte, -f.node.end_byte))
    # Containers by span: the innermost definition holding each one.
    stack: list[_Found] = []
    members: dict[int, list[_Found]] = {}
    parents: dict[int, _Found | None] = {}
    unique: list[_Found] = []
    seen: set[tuple[int, int]] = set()
    for item in found:
        span = (item.node.start_byte, item.node.end_byte)
        if span in seen:
            continue  # two patterns matched one node
        seen.add(span)
        while stack and stack[-1].node.end_byte < item.node.end_byte:
            stack.pop()
        parent = stack[-1] if stack else None
        parents[id(item)] = parent
        if parent is not None:
            members.setdefault(id(parent), []).append(item)
        stack.append(item)
        unique.append(item)
    lines = text.split("\n")
    comment = spec.line_comment or "#"
    definitions: list[Definition] = []
    for item in unique:
        parent = parents[id(item)]
        if parent is not None and parent.kind not in _CONTAINERS:
            continue  # local to a function: no context for another file
        kind = item.kind
        if parent is not None and kind == "function":
            kind = "method"
        container = item.container or (parent.name if parent is not None else "")
        direct = [m for m in members.get(id(item), []) if parents[id(m)] is item]
        signature, _ = _signature(lines, item)
        doc = _doc(item.node, item.body, spec.name)
        excerpt = _excerpt(lines, item, direct, doc, spec.name, comment)
        if parent is not None and parent.node.start_point[0] < item.node.start_point[0]:
            # A member shown with the first line of what holds it: `class K(Base):` names `self`.
            excerpt = _clip(lines[parent.node.start_point[0]]) + "\n" + excerpt
        definitions.append(
            Definition(
                item.name,
                kind,
                container,
                item.node.start_point[0],
                _last_line(item.node),
                signature,
                doc,
                excerpt,
            )
        )
        if len(definitions) >= MAX_DEFINITIONS:
            break
    return FileFacts(path, spec.name, tuple(definitions), tuple(imports), digest_of(text))
