"""The one table of languages: LSP languageIds, file extensions, grammars.

Grammars come from the official per-language tree-sitter wheels and are
optional: a language whose wheel is missing (or built for an incompatible
tree-sitter ABI) still gets completions, just without a syntax tree.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import PurePosixPath

import tree_sitter

from codellama_ls.documents.uris import uri_path

log = logging.getLogger(__name__)

_C_COMMENTS = ("/*", "*/")


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    language_ids: tuple[str, ...]
    """LSP languageIds, VS Code's and Neovim's filetype spellings alike."""
    extensions: tuple[str, ...]
    """Lower-case, with the dot; used when the languageId is unknown."""
    module: str
    factory: str
    """Function in ``module`` returning the grammar's ``TSLanguage *`` capsule."""
    line_comment: str | None
    block_comment: tuple[str, str] | None


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec("python", ("python",), (".py", ".pyi", ".pyw"), "tree_sitter_python", "language", "#", None),
    LanguageSpec(
        "javascript",
        ("javascript", "javascriptreact", "js", "jsx"),
        (".js", ".mjs", ".cjs", ".jsx"),
        "tree_sitter_javascript",
        "language",
        "//",
        _C_COMMENTS,
    ),
    LanguageSpec(
        "typescript",
        ("typescript", "ts"),
        (".ts", ".mts", ".cts"),
        "tree_sitter_typescript",
        "language_typescript",
        "//",
        _C_COMMENTS,
    ),
    LanguageSpec(
        "tsx", ("typescriptreact", "tsx"), (".tsx",), "tree_sitter_typescript", "language_tsx", "//", _C_COMMENTS
    ),
    LanguageSpec("go", ("go",), (".go",), "tree_sitter_go", "language", "//", _C_COMMENTS),
    LanguageSpec("rust", ("rust",), (".rs",), "tree_sitter_rust", "language", "//", _C_COMMENTS),
    LanguageSpec("c", ("c",), (".c", ".h"), "tree_sitter_c", "language", "//", _C_COMMENTS),
    LanguageSpec(
        "cpp",
        ("cpp", "c++"),
        (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".inl"),
        "tree_sitter_cpp",
        "language",
        "//",
        _C_COMMENTS,
    ),
    LanguageSpec("java", ("java",), (".java",), "tree_sitter_java", "language", "//", _C_COMMENTS),
    LanguageSpec("lua", ("lua",), (".lua",), "tree_sitter_lua", "language", "--", ("--[[", "]]")),
    LanguageSpec(
        "bash",
        ("shellscript", "sh", "bash", "zsh"),
        (".sh", ".bash", ".zsh"),
        "tree_sitter_bash",
        "language",
        "#",
        None,
    ),
    LanguageSpec(
        "ruby", ("ruby",), (".rb", ".rake", ".gemspec", ".ru"), "tree_sitter_ruby", "language", "#", ("=begin", "=end")
    ),
    # language_php also parses the HTML around <?php ... ?>, which real
    # .php files have; language_php_only would choke on it.
    LanguageSpec("php", ("php",), (".php", ".phtml"), "tree_sitter_php", "language_php", "//", _C_COMMENTS),
    LanguageSpec(
        "csharp",
        ("csharp", "cs", "c#", "c-sharp"),
        (".cs", ".csx"),
        "tree_sitter_c_sharp",
        "language",
        "//",
        _C_COMMENTS,
    ),
)


_BY_ID: dict[str, LanguageSpec] = {i: s for s in LANGUAGES for i in s.language_ids}
_BY_EXT: dict[str, LanguageSpec] = {e: s for s in LANGUAGES for e in s.extensions}
_BY_NAME: dict[str, LanguageSpec] = {s.name: s for s in LANGUAGES}
_LOADED: dict[tuple[str, str], tree_sitter.Language | None] = {}


def spec_by_name(name: str) -> LanguageSpec | None:
    return _BY_NAME.get(name)


def _extension(uri: str) -> str:
    return PurePosixPath(uri_path(uri)).suffix.lower()


def language_for(language_id: str, uri: str = "") -> LanguageSpec | None:
    """The spec for an LSP languageId, else for the URI's file extension."""
    spec = _BY_ID.get(language_id.strip().lower())
    if spec is None and uri:
        spec = _BY_EXT.get(_extension(uri))
    return spec


def load_language(spec: LanguageSpec) -> tree_sitter.Language | None:
    """The grammar, loaded once; None (never an exception) if unusable."""
    key = (spec.module, spec.factory)
    if key in _LOADED:
        return _LOADED[key]
    language: tree_sitter.Language | None = None
    try:
        module = importlib.import_module(spec.module)
        language = tree_sitter.Language(getattr(module, spec.factory)())
    except ImportError:
        log.debug("no tree-sitter grammar for %s: %s is not installed", spec.name, spec.module)
    except Exception as exc:  # a broken or ABI-incompatible wheel must not take us down
        log.warning("tree-sitter grammar for %s is unusable: %s", spec.name, exc)
    _LOADED[key] = language
    return language


def new_parser(spec: LanguageSpec) -> tree_sitter.Parser | None:
    language = load_language(spec)
    return tree_sitter.Parser(language) if language is not None else None


def grammar_status() -> dict[str, bool]:
    """Language name -> whether its grammar loads, for ``doctor``."""
    return {spec.name: load_language(spec) is not None for spec in LANGUAGES}
