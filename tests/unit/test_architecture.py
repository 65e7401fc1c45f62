"""The import rules of ARCHITECTURE.md, read from the source with `ast` (every import counts, lazy ones too)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "codellama_ls"


@dataclass(frozen=True)
class Import:
    module: str
    """The imported module, absolute (`codellama_ls.engine.base`, `pygls.lsp.server`)."""
    typing_only: bool
    """Inside `if TYPE_CHECKING:`: for annotations, never executed."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_ours(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return module.startswith("codellama_ls") and (path.with_suffix(".py").is_file() or path.is_dir())


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> list[Import]:
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(alias.name, typing_only) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.append(Import(base, typing_only))
                # `from codellama_ls.documents import syntax` imports the module codellama_ls.documents.syntax.
                submodules = (f"{base}.{alias.name}" for alias in child.names)
                found.extend(Import(module, typing_only) for module in submodules if _is_ours(module))
            visit(child, typing_only or (isinstance(child, ast.If) and _is_type_checking(child)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


MODULES: dict[str, list[Import]] = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _ours(name: str) -> str:
    return name.removeprefix("codellama_ls.")


def importers(top: str, *, typing_only: bool | None = None) -> set[str]:
    """Our modules importing `top` or anything under it."""
    return {
        _ours(module)
        for module, imports in MODULES.items()
        for imp in imports
        if (imp.module == top or imp.module.startswith(top + "."))
        and (typing_only is None or imp.typing_only == typing_only)
    }


def test_the_package_was_read() -> None:
    assert {"session", "completion.lifecycle", "engine.llama", "engine.worker", "models.presets"} <= {
        _ours(m) for m in MODULES
    }


# The floors, lowest first: a folder (or a top-level module) imports only from floors below its own.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("__init__",),
    ("settings", "documents", "prompts", "install"),
    ("engine",),
    ("jobs",),
    ("completion", "models"),
    ("workspace",),
    ("actions",),
    ("nextedit",),
    ("progress",),
    ("session",),
    ("lsp",),
    ("cli",),
    ("__main__",),
)
FLOOR_OF = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}


def _room(module: str) -> str:
    """The folder under codellama_ls/ that holds a module, or the top-level module's own name."""
    return _ours(module).split(".")[0] if module != "codellama_ls" else "__init__"


def test_every_room_has_a_floor() -> None:
    assert {_room(module) for module in MODULES} == set(FLOOR_OF)


def test_no_import_runs_back_up_a_floor() -> None:
    """A folder imports from its own folder or from a lower floor: never sideways, never up (annotations too)."""
    for module, imports in MODULES.items():
        for imp in imports:
            if not imp.module.startswith("codellama_ls") or _room(imp.module) == _room(module):
                continue
            assert FLOOR_OF[_room(imp.module)] < FLOOR_OF[_room(module)], f"{_ours(module)} imports {imp.module}"


def test_only_the_llama_engine_imports_llama_cpp() -> None:
    assert importers("llama_cpp") == {"engine.llama"}


def test_only_the_lsp_layer_imports_pygls_at_run_time() -> None:
    # protocol: the JSON-RPC layer on pygls's dispatch; framing reads the stream without it.
    assert importers("pygls", typing_only=False) == {"lsp.server", "lsp.protocol"}
    # Annotations only: the session and the progress senders hold the server object.
    assert importers("pygls", typing_only=True) == {"session", "progress"}


PURE = (
    "documents.positions",
    "completion.window",
    "prompts.fim",
    "prompts.healing",
    "engine.kv_states",
    "engine.kv_body",
    "completion.postprocess",
    "completion.crossfile",
    "completion.reuse",
    "completion.records",
    "lsp.completion_item",
    "lsp.capabilities",
    "settings.spec",
    "prompts.chat",
    "actions.instructions",
    "prompts.families",
    "completion.repo_context",
    "completion.block_rules",
    "documents.uris",
    "nextedit.history",
    "nextedit.diff",
    "nextedit.prompt",
    "nextedit.region",
)
# What a pure module must not import: a protocol, a model, threads, the event loop, files, the network.
IMPURE = ("pygls", "llama_cpp", "asyncio", "threading", "concurrent", "os", "subprocess", "socket", "pathlib")


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io_and_import_only_pure_modules(module: str) -> None:
    imports = [imp.module for imp in MODULES[f"codellama_ls.{module}"]]
    for name in imports:
        assert name.split(".")[0] not in IMPURE, f"{module} imports {name}"
        if name.startswith("codellama_ls."):
            assert _ours(name) in PURE, f"{module} imports {name}"


def test_framing_needs_neither_pygls_nor_a_model() -> None:
    for imp in MODULES["codellama_ls.lsp.framing"]:
        assert imp.module.split(".")[0] not in ("pygls", "llama_cpp", "lsprotocol"), imp.module


@pytest.mark.parametrize(
    "module",
    ["completion.pipeline", "completion.syntax_gate", "completion.snapshot", "documents.syntax", "actions.pipeline"],
)
def test_the_pipeline_does_not_touch_the_loop_or_threads(module: str) -> None:
    """The snapshot runs on the loop, the completion on the engine thread: neither schedules anything."""
    for imp in MODULES[f"codellama_ls.{module}"]:
        assert imp.module.split(".")[0] not in ("asyncio", "threading", "concurrent", "pygls", "llama_cpp")


def test_engine_depends_on_nothing_above_it() -> None:
    """engine/ knows the prompt's token types, the model families and the settings; models, the session
    and the server use it."""
    for module, imports in MODULES.items():
        if not module.startswith("codellama_ls.engine"):
            continue
        for imp in imports:
            if imp.module.startswith("codellama_ls.") and not imp.module.startswith("codellama_ls.engine"):
                allowed = ("prompts.fim", "prompts.families", "prompts.healing", "settings.config")
                assert _ours(imp.module) in allowed, f"{module} imports {imp.module}"


def test_no_import_cycles() -> None:
    graph = {
        module: {
            imp.module
            for imp in imports
            if imp.module in MODULES and imp.module != module and not imp.typing_only and imp.module != "codellama_ls"
        }
        for module, imports in MODULES.items()
    }
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module) :] + [module]
            raise AssertionError("import cycle: " + " -> ".join(_ours(m) for m in cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            walk(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])
