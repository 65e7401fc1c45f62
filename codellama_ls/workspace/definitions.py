"""What one file defines and imports, read with `grammars/<language>/definitions.scm` (pure but for
compiling the queries once).

A definition keeps what a prompt shows of it, computed once per file version: its signature lines, the
first line of its doc comment and a bounded excerpt (a function's first lines, a class's header with
its members' signatures), so a request renders nothing and the file's text is not kept. The files that
changed keep what lets their next version be read for less (`reparse.py`): their outline, to read
only the statements a change touched, else their tree, to parse incrementally.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import tree_sitter

from codellama_ls.documents.languages import LanguageSpec, new_parser
from codellama_ls.documents.syntax import load_query
from codellama_ls.workspace.reparse import (
    FRAGMENT_LANGUAGES,
    OUTLINE_MIN_BYTES,
    Outline,
    Trees,
    digest_of,
    fragment_rows,
    line_hashes,
    top_level,
)

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
    line: int = field(default=-1, compare=False)
    """0-based line of the statement (-1: not known)."""


@dataclass(frozen=True)
class FileFacts:
    path: str
    language: str
    definitions: tuple[Definition, ...]
    imports: tuple[ImportRef, ...]
    digest: int = 0
    """The text's hash: a file notified again with the same text is not read again."""
    outline: Outline | None = field(default=None, compare=False, repr=False)
    """For a large file of a `FRAGMENT_LANGUAGES` language: what reads its next version a part at a time."""


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
            known = imports.get(key, ImportRef(written, submodule="import.mod" in captures, line=node.start_point[0]))
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
                known.line,
            )
    return found, list(imports.values())


def extract(
    spec: LanguageSpec, path: str, text: str, trees: Trees | None = None, previous: FileFacts | None = None
) -> FileFacts:
    """The definitions and imports of one file's text: only the statements changed since `previous`
    (its last version's facts) where its outline allows, else parsed from its last tree in `trees`
    (if any), else parsed whole."""
    parser, query = _parser(spec), _query(spec)
    if parser is None or query is None:
        return FileFacts(path, spec.name, (), (), digest_of(text))
    lines = text.split("\n")
    if previous is not None and previous.outline is not None and previous.language == spec.name:
        facts = _fragment(spec, parser, query, path, text, lines, previous, previous.outline)
        if facts is not None:
            return facts
    source = text.encode("utf-8", errors="replace")
    tree = trees.parse(parser, (path, spec.name), source) if trees is not None else parser.parse(source)
    definitions, imports = _read(spec, query, tree.root_node, lines)
    outline = None
    if spec.name in FRAGMENT_LANGUAGES and len(source) >= OUTLINE_MIN_BYTES:
        starts, comments = top_level(tree.root_node)
        outline = Outline(line_hashes(lines), tuple(starts), tuple(comments), len(lines), not tree.root_node.has_error)
    return FileFacts(path, spec.name, tuple(definitions), tuple(imports), digest_of(text), outline)


def _fragment(
    spec: LanguageSpec,
    parser: tree_sitter.Parser,
    query: tree_sitter.Query,
    path: str,
    text: str,
    lines: list[str],
    previous: FileFacts,
    outline: Outline,
) -> FileFacts | None:
    """`previous` with the statements a change touched read again (`reparse.fragment_rows`); None
    when that cannot give what a whole parse gives."""
    if not outline.clean or len(previous.definitions) >= MAX_DEFINITIONS:
        return None  # statements not to be trusted, or definitions the cap left out
    if any(ref.line < 0 for ref in previous.imports):
        return None
    hashes = line_hashes(lines)
    rows = fragment_rows(outline, hashes)
    if rows is None:
        return None
    end = rows.end + rows.moved
    piece = lines[rows.first : end]
    if end < len(lines):
        piece.append("")  # the newline before the next statement
    tree = parser.parse("\n".join(piece).encode("utf-8", errors="replace"))
    if tree.root_node.has_error:
        return None  # a syntax error may take in statements beyond the fragment
    read, imports = _read(spec, query, tree.root_node, piece)
    first, keep, moved = rows.first, rows.keep, rows.moved
    definitions = [
        *(d for d in previous.definitions if d.line < keep),
        *(_moved(d, first) for d in read if d.line + first >= keep),
        *(_moved(d, moved) for d in previous.definitions if d.line >= rows.end),
    ]
    if len(definitions) >= MAX_DEFINITIONS:
        return None  # the cap would cut another place
    refs = [
        *(i for i in previous.imports if i.line < keep),
        *(replace(i, line=i.line + first) for i in imports if i.line + first >= keep),
        *(replace(i, line=i.line + moved) for i in previous.imports if i.line >= rows.end),
    ]
    starts, comments = top_level(tree.root_node, first)
    kept = [n for n, row in enumerate(outline.starts) if row < first]
    later = [n for n, row in enumerate(outline.starts) if row >= rows.end]
    renewed = Outline(
        hashes,
        (*(outline.starts[n] for n in kept), *starts, *(outline.starts[n] + moved for n in later)),
        (*(outline.comments[n] for n in kept), *comments, *(outline.comments[n] for n in later)),
        len(piece),
    )
    return FileFacts(path, spec.name, tuple(definitions), tuple(refs), digest_of(text), renewed)


def _moved(definition: Definition, lines: int) -> Definition:
    return replace(definition, line=definition.line + lines, end_line=definition.end_line + lines)


def _read(
    spec: LanguageSpec, query: tree_sitter.Query, root: tree_sitter.Node, lines: list[str]
) -> tuple[list[Definition], list[ImportRef]]:
    """The definitions (at most `MAX_DEFINITIONS`) and imports under `root`, whose text is `lines`."""
    found, imports = _collect(query, root)
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
    return definitions, imports
