"""An import, as written, to the indexed files it names: simple rules per language (pure given a lookup).

Python relative and absolute modules, JS/TS relative paths, Go package folders, Rust `mod`/`use`,
Java packages and classes, C/C++ `#include "..."`. Each rule returns the files that exist in the
index; the names the import brings in, and the local name of the module itself, come along.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from codellama_ls.workspace.definitions import ImportRef


class Lookup(Protocol):
    def exists(self, path: str) -> bool: ...
    def paths_named(self, file_name: str) -> list[str]: ...
    def dirs_ending(self, suffix: str) -> list[str]: ...
    def files_in(self, directory: str) -> list[str]: ...


@dataclass(frozen=True)
class Resolved:
    paths: tuple[str, ...]
    names: tuple[tuple[str, str], ...] = ()
    """(local name, name in the target)."""
    alias: str = ""
    """The local name of the module (`json` for `import json`, `ns` for `import * as ns`)."""


def _existing(lookup: Lookup, candidates: list[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for path in candidates:
        path = posixpath.normpath(path)
        if path not in seen and lookup.exists(path):
            seen.append(path)
    return tuple(seen)


def _ending(lookup: Lookup, tail: str) -> list[str]:
    """Indexed files whose path ends with `/tail`."""
    name = tail.rsplit("/", 1)[-1]
    ending = "/" + tail
    return sorted(p for p in lookup.paths_named(name) if p.endswith(ending))


def _pairs(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = []
    for name in names:
        original, _, local = name.partition(" as ")
        out.append((local.strip() or original.strip(), original.strip()))
    return tuple(out)


def _python(lookup: Lookup, importer: str, ref: ImportRef) -> Resolved:
    module = ref.module
    names = _pairs(ref.names)
    level = len(module) - len(module.lstrip("."))
    parts = [p for p in module[level:].split(".") if p]
    candidates: list[str] = []
    if level:
        base = posixpath.dirname(importer)
        for _ in range(level - 1):
            base = posixpath.dirname(base)
        stem = posixpath.join(base, *parts) if parts else base
        candidates += [stem + ".py", stem + "/__init__.py"] if parts else [stem + "/__init__.py"]
        # `from . import mod` / `from .pkg import mod`: the names may be modules.
        candidates += [f"{stem}/{original}.py" for _, original in names]
        paths = list(_existing(lookup, candidates))
    else:
        tail = "/".join(parts)
        paths = _ending(lookup, tail + ".py") + _ending(lookup, tail + "/__init__.py")
        for _, original in names:
            paths += _ending(lookup, f"{tail}/{original}.py")
    alias = ref.alias or (parts[-1] if parts and not names else "")
    return Resolved(tuple(dict.fromkeys(paths)), names, alias)


_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


def _javascript(lookup: Lookup, importer: str, ref: ImportRef) -> Resolved:
    if not ref.module.startswith("."):
        return Resolved((), _pairs(ref.names), ref.alias)  # a package: not the workspace's
    stem = posixpath.normpath(posixpath.join(posixpath.dirname(importer), ref.module))
    bare = re.sub(r"\.(m|c)?[jt]sx?$", "", stem)
    candidates = [stem] + [bare + ext for ext in _JS_EXTENSIONS] + [f"{stem}/index{ext}" for ext in _JS_EXTENSIONS]
    return Resolved(_existing(lookup, candidates), _pairs(ref.names), ref.alias)


def _go(lookup: Lookup, importer: str, ref: ImportRef) -> Resolved:
    segments = [s for s in ref.module.split("/") if s]
    alias = ref.alias if ref.alias not in ("", "_", ".") else (segments[-1] if segments else "")
    # The module path's longest tail that names a folder of the workspace: `example.com/m/pkg/sub` is `pkg/sub`.
    for size in range(len(segments), 0, -1):
        dirs = lookup.dirs_ending("/".join(segments[-size:]))
        if dirs:
            files = [p for d in dirs for p in lookup.files_in(d) if p.endswith(".go") and not p.endswith("_test.go")]
            return Resolved(tuple(files), (), alias)
    return Resolved((), (), alias)


def _rust_module_dir(importer: str) -> str:
    """The folder holding the submodules of the module that `importer` is."""
    directory, name = posixpath.split(importer)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return directory
    return posixpath.join(directory, name.removesuffix(".rs"))


def _rust_crate_root(importer: str) -> str:
    directory = posixpath.dirname(importer)
    while directory not in ("", "/"):
        if posixpath.basename(directory) == "src":
            return directory
        directory = posixpath.dirname(directory)
    return posixpath.dirname(importer)


def _rust(lookup: Lookup, importer: str, ref: ImportRef) -> Resolved:
    if ref.submodule:
        base = posixpath.join(_rust_module_dir(importer), ref.module)
        return Resolved(_existing(lookup, [base + ".rs", base + "/mod.rs"]), (), ref.module)
    path, _, group = ref.module.partition("::{")
    names = [n.strip() for n in group.rstrip("}").split(",") if n.strip()] if group else []
    segments = [s.strip() for s in path.split("::") if s.strip()]
    if not group and segments:
        names, segments = [segments[-1]], segments[:-1]
    if not segments:
        return Resolved((), (), "")
    first = segments[0]
    if first == "crate":
        base, rest = _rust_crate_root(importer), segments[1:]
    elif first == "super":
        base, rest = posixpath.dirname(_rust_module_dir(importer)), segments[1:]
    elif first == "self":
        base, rest = _rust_module_dir(importer), segments[1:]
    else:
        return Resolved((), tuple((n.split("::")[-1], n.split("::")[-1]) for n in names), "")  # another crate
    candidates = []
    for size in range(len(rest), 0, -1):
        stem = posixpath.join(base, *rest[:size])
        candidates += [stem + ".rs", stem + "/mod.rs"]
    candidates += [posixpath.join(base, "lib.rs"), posixpath.join(base, "main.rs")] if not rest else []
    pairs = []
    for name in names:
        local, _, renamed = name.partition(" as ")
        leaf = local.split("::")[-1].strip()
        pairs.append(((renamed.strip() or leaf), leaf))
        if "::" in local:  # `c::D` inside the braces: a deeper module
            stem = posixpath.join(base, *rest, *local.split("::")[:-1])
            candidates += [stem + ".rs", stem + "/mod.rs"]
    return Resolved(_existing(lookup, candidates), tuple(pairs), rest[-1] if rest else "")


def _java(lookup: Lookup, importer: str, ref: ImportRef) -> Resolved:
    segments = ref.module.split(".")
    classes = [i for i, s in enumerate(segments) if s[:1].isupper()]
    if not classes:
        # `import com.x.*`: the package's folder.
        files = [p for d in lookup.dirs_ending("/".join(segments)) for p in lookup.files_in(d) if p.endswith(".java")]
        return Resolved(tuple(files), (), "")
    first_class = classes[0]
    paths = _ending(lookup, "/".join(segments[: first_class + 1]) + ".java")
    name = segments[-1]
    return Resolved(tuple(paths), ((name, name),), segments[first_class])


def _c(lookup: Lookup, importer: str, ref: ImportRef) -> Resolved:
    beside = posixpath.join(posixpath.dirname(importer), ref.module)
    paths = list(_existing(lookup, [beside])) or _ending(lookup, ref.module.lstrip("./"))
    return Resolved(tuple(paths), (), "")


RULES: dict[str, Callable[[Lookup, str, ImportRef], Resolved]] = {
    "python": _python,
    "javascript": _javascript,
    "typescript": _javascript,
    "tsx": _javascript,
    "go": _go,
    "rust": _rust,
    "java": _java,
    "c": _c,
    "cpp": _c,
}


def resolve(lookup: Lookup, language: str, importer: str, ref: ImportRef) -> Resolved:
    """The indexed files an import of `importer` names (none for an unknown language or a package
    outside the workspace)."""
    rule = RULES.get(language)
    if rule is None:
        return Resolved(())
    resolved = rule(lookup, importer, ref)
    return Resolved(tuple(p for p in resolved.paths if p != importer), resolved.names, resolved.alias)
