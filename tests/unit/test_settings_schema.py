"""One settings schema (config.Settings): what is derived from it, and the documents generated from it.

When test_generated_documents_match_the_schema fails, run `python -m codellama_ls.settings.docs --write`.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from codellama_ls.cli import build_parser
from codellama_ls.models import workers
from codellama_ls.settings import config
from codellama_ls.settings import docs as schema_docs
from codellama_ls.settings.config import Settings, choices, editor_key, resolve
from codellama_ls.settings.spec import spec_of

ROOT = Path(__file__).resolve().parents[2]
EDITOR_KEYS = {editor_key(f.name) for f in fields(Settings)}


def test_generated_documents_match_the_schema() -> None:
    drifted = [str(path.relative_to(ROOT)) for path in schema_docs.drifted(ROOT)]
    assert not drifted, f"out of date: {', '.join(drifted)}; run `{schema_docs.COMMAND}`"


def test_every_setting_is_declared_with_its_facts() -> None:
    for f in fields(Settings):
        spec = spec_of(f)  # raises for a field declared without setting(...)
        default = f.default
        assert spec.doc and "\n" not in spec.doc, f.name
        assert not spec.doc.endswith("."), f"{f.name}: a doc line is a phrase; the tables add the full stop"
        if spec.range is not None:
            assert isinstance(default, (int, float)) and not isinstance(default, bool), f.name
            assert spec.range[0] <= default <= spec.range[1], f.name
        if spec.choice_docs:
            assert len(spec.choice_docs) == len(choices(f.name)), f.name
        if choices(f.name):
            assert default in choices(f.name), f.name


def test_validation_uses_the_schema_ranges() -> None:
    for f in fields(Settings):
        bounds = spec_of(f).range
        if bounds is None:
            continue
        low, high = bounds
        kind = type(f.default)
        assert getattr(resolve([("test", {f.name: kind(low)})]).settings, f.name) == low
        assert getattr(resolve([("test", {f.name: kind(high)})]).settings, f.name) == high
        for outside in (low - 1, high + 1):
            resolved = resolve([("test", {f.name: kind(outside)})])
            assert getattr(resolved.settings, f.name) == f.default, f.name
            assert f"{editor_key(f.name)} must be between" in resolved.problems[0]


def test_the_reload_fields_and_the_cli_choices_come_from_the_schema() -> None:
    assert workers.RELOAD_FIELDS == tuple(f.name for f in fields(Settings) if spec_of(f).reload)
    assert set(workers.RELOAD_FIELDS) >= {"model", "model_dir", "n_ctx", "n_gpu_layers"}
    parser = build_parser()
    serve = next(a for a in parser._actions if a.dest == "command").choices["serve"]  # type: ignore[index]
    by_flag = {flag: action for action in serve._actions for flag in action.option_strings}
    assert tuple(by_flag["--fim-format"].choices) == choices("fim_format") == ("auto", "psm", "spm", "line", "none")
    assert tuple(by_flag["--log-level"].choices) == choices("log_level")


def _ts_list(source: str, name: str) -> set[str]:
    match = re.search(rf"export const {name}\b[^=]*=\s*\[([^\]]*)\]", source)
    assert match, f"{name} not found in src/settings.ts"
    return set(re.findall(r"'([^']+)'", match[1]))


def test_the_vscode_extension_knows_the_same_keys() -> None:
    source = (ROOT / "editors" / "vscode" / "src" / "settings.ts").read_text(encoding="utf-8")
    reload_keys = {editor_key(name) for name in Settings.reload_fields()}
    assert _ts_list(source, "RELOAD_KEYS") == reload_keys
    assert _ts_list(source, "CLIENT_KEYS") == set(schema_docs.EXTENSION_ONLY)
    package = json.loads((ROOT / "editors" / "vscode" / "package.json").read_text(encoding="utf-8"))
    properties = package["contributes"]["configuration"]["properties"]
    # A repository's .vscode/settings.json must not choose the model file (user settings only).
    assert properties["codellama.model"]["scope"] == properties["codellama.modelDir"]["scope"] == "machine"
    # Nor send the code elsewhere: where completions are computed is the user's choice alone.
    for key in ("engine", "engineUrl", "engineApiKeyEnv", "engineModel"):
        assert properties[f"codellama.{key}"]["scope"] == "machine", key


def _neovim_keys(text: str) -> set[str]:
    """Setting keys in Lua tables passed as init_options/settings and in "camelCase: a, b, ..." lists."""
    keys: set[str] = set()
    for table in re.findall(r"(?:init_options|settings)\s*=\s*\{([^{}]*)\}|--\s*\{([^{}]*)\}", text):
        keys |= set(re.findall(r"(\w+)\s*=", "".join(table)))
    for listed in re.findall(r"camelCase\)?(?: keys)?:\s*(.*?)\.\.\.", text, re.DOTALL):
        keys |= set(re.findall(r"\w+", listed.replace("--", " ")))
    return keys


def _emacs_keys(text: str) -> set[str]:
    """Plist keys of `(:model ...)` and `(:codellama (...))` forms, and `:key` in backquotes."""
    keys: set[str] = set()
    for form in re.findall(r"\(:(?:model|codellama)\b(?:[^()]|\([^()]*\))*\)", text):
        keys |= set(re.findall(r":(\w+)", form)) - {"codellama"}
    keys |= set(re.findall(r"`:([a-z]\w*)`", text))  # not Vim commands such as `:CodellamaStatus`
    return keys


@pytest.mark.parametrize(
    ("document", "extract"),
    [
        ("README.md", _neovim_keys),
        ("editors/nvim/README.md", _neovim_keys),
        ("editors/nvim/lsp/codellama_ls.lua", _neovim_keys),
        ("editors/nvim/lua/codellama_ls/config.lua", _neovim_keys),
        ("README.md", _emacs_keys),
        ("editors/emacs/README.md", _emacs_keys),
        ("editors/emacs/codellama-ls.el", _emacs_keys),
    ],
)
def test_settings_named_in_the_editor_docs_exist(document: str, extract: object) -> None:
    assert callable(extract)
    keys = extract((ROOT / document).read_text(encoding="utf-8"))
    assert keys, f"{document}: found no settings; the pattern no longer fits the document"
    assert keys <= EDITOR_KEYS, f"{document} names settings the server does not have: {sorted(keys - EDITOR_KEYS)}"


def _copy_tree(tmp_path: Path) -> Path:
    for relative in schema_docs.TARGETS:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    return tmp_path


def test_the_check_names_a_drifted_document_and_write_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy_tree(tmp_path)
    readme = root / "editors" / "vscode" / "README.md"
    readme.write_text(
        readme.read_text().replace("| `codellama.debounceMs` | `-1` |", "| `codellama.debounceMs` | `0` |")
    )
    package = root / "editors" / "vscode" / "package.json"
    package.write_text(package.read_text().replace('"maximum": 600000', '"maximum": 60000'))
    assert schema_docs.main(["--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "out of date: editors/vscode/README.md" in out and "out of date: editors/vscode/package.json" in out
    assert "README.md\n" not in out.replace("vscode/README.md\n", "")
    assert schema_docs.main(["--root", str(root), "--write"]) == 0
    assert schema_docs.main(["--root", str(root)]) == 0
    for relative in schema_docs.TARGETS:
        assert (root / relative).read_text() == (ROOT / relative).read_text(), relative


def test_an_unknown_contributed_setting_is_an_error_not_dropped(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    package = root / "editors" / "vscode" / "package.json"
    data = json.loads(package.read_text())
    data["contributes"]["configuration"]["properties"]["codellama.newThing"] = {"type": "boolean", "default": True}
    package.write_text(json.dumps(data, indent=2) + "\n")
    with pytest.raises(ValueError, match=r"codellama\.newThing.*EXTENSION_ONLY"):
        schema_docs.drifted(root)
    assert schema_docs.main(["--root", str(root), "--write"]) == 2
    assert "codellama.newThing" in package.read_text()


def test_ranges_are_the_schemas() -> None:
    assert config._RANGES == {f.name: spec_of(f).range for f in fields(Settings) if spec_of(f).range}
