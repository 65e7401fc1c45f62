"""The VS Code extension (editors/vscode): its settings against the server's, its build, unit
tests and packaging, and two runs against the real server and a generated model.

VS Code itself cannot run here.  The Node side runs `npm ci` (only when node_modules is missing;
.ci/editor-deps does it beforehand), `npm run compile`, `npm test` (unit tests of the extension
with a stand-in `vscode` module), `vsce package`, then test/protocol/run.js, which drives the real
server with vscode-languageclient's own client capabilities and the extension's settings module,
and test/host/run.js, which activates the compiled extension with the real vscode-languageclient
in a stand-in extension host and asks its registered providers as the editor would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import typing
import zipfile
from dataclasses import MISSING, fields
from pathlib import Path
from xml.etree import ElementTree

import pytest

from codellama_ls.settings import config
from codellama_ls.settings.config import Settings
from tests.conftest import HAVE_LLAMA

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editors" / "vscode"
NODE = shutil.which("node")
NPM = shutil.which("npm")
# Settings only the extension reads (src/settings.ts CLIENT_KEYS); the rest go to the server.
CLIENT_KEYS = {"serverPath", "serverArgs", "completionItems", "trace.server"}
NETWORK_ERRORS = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|network", re.IGNORECASE)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _properties() -> dict[str, dict[str, typing.Any]]:
    package = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    properties: dict[str, dict[str, typing.Any]] = package["contributes"]["configuration"]["properties"]
    return {name.removeprefix("codellama."): schema for name, schema in properties.items()}


def test_contributed_settings_are_the_servers_with_its_defaults_and_limits() -> None:
    contributed = {key: schema for key, schema in _properties().items() if key not in CLIENT_KEYS}
    hints = typing.get_type_hints(Settings)
    server = {_camel(f.name): f for f in fields(Settings)}
    assert sorted(contributed) == sorted(server), "package.json settings differ from settings.config.Settings"
    for key, field in server.items():
        schema = contributed[key]
        default = field.default if field.default is not MISSING else None
        assert schema["default"] == default, key
        annotation = hints[field.name]
        expected_type = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(annotation, "string")
        assert schema["type"] == expected_type, key
        if typing.get_origin(annotation) is typing.Literal:
            assert schema["enum"] == list(typing.get_args(annotation)), key
        low, high = config._RANGES.get(field.name, (None, None))
        assert schema.get("minimum") == low and schema.get("maximum") == high, key
        assert schema.get("markdownDescription") or schema.get("description"), key


def test_settings_that_choose_the_program_or_the_model_file_are_user_settings_only() -> None:
    # `machine`: a repository's .vscode/settings.json cannot set them (machine-overridable let it).
    properties = _properties()
    for key in ("serverPath", "serverArgs", "model", "instructModel", "pythonModel", "modelDir"):
        assert properties[key]["scope"] == "machine", key


def _run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=EXTENSION, capture_output=True, text=True, timeout=timeout, env=env)


def _check(process: subprocess.CompletedProcess[str], what: str) -> None:
    assert process.returncode == 0, (
        f"{what} failed ({process.returncode}):\n{process.stdout[-6000:]}\n{process.stderr[-6000:]}"
    )


@pytest.fixture(scope="module")
def npm() -> str:
    """npm, after `npm ci` when node_modules is missing and `npm run compile`."""
    if NODE is None or NPM is None:
        pytest.skip(
            "node and npm are not installed (Debian: apt-get install nodejs npm); the VS Code extension is not built"
        )
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major[1]) < 20:
        pytest.skip(f"Node.js {version or '(unknown version)'} is too old: the extension's tools need Node.js 20+")
    if not (EXTENSION / "node_modules").is_dir():
        installed = _run([NPM, "ci", "--no-audit", "--no-fund"], timeout=900)
        if installed.returncode != 0 and NETWORK_ERRORS.search(installed.stderr):
            pytest.skip(f"npm ci could not reach the npm registry: {installed.stderr.strip()[-500:]}")
        _check(installed, "npm ci")
    _check(_run([NPM, "run", "compile"], timeout=300), "npm run compile")
    return NPM


def test_unit_tests(npm: str) -> None:
    process = _run([npm, "test"], timeout=300)
    _check(process, "npm test")
    assert re.search(r"^# fail 0$", process.stdout, re.MULTILINE), process.stdout[-3000:]


def test_package_vsix(npm: str, tmp_path: Path) -> None:
    vsix = tmp_path / "codellama-ls.vsix"
    _check(_run([npm, "run", "package", "--", "--out", str(vsix)], timeout=300), "vsce package")
    names = zipfile.ZipFile(vsix).namelist()
    assert "extension/package.json" in names
    assert "extension/out/src/extension.js" in names
    assert "extension/readme.md" in [name.lower() for name in names]
    # The runtime dependency travels in the package; tests, sources and dev tools do not.
    assert "extension/node_modules/vscode-languageclient/package.json" in names
    assert not [n for n in names if n.startswith(("extension/out/test/", "extension/src/", "extension/test/"))]
    assert not [
        n for n in names if n.startswith(("extension/node_modules/typescript/", "extension/node_modules/@vscode/"))
    ]
    _check_manifest(zipfile.ZipFile(vsix))


def _check_manifest(vsix: zipfile.ZipFile) -> None:
    """What VS Code reads from the built package, not from the source tree: `code --install-extension`
    installs exactly this."""
    from codellama_ls.documents.languages import LANGUAGES

    manifest = json.loads(vsix.read("extension/package.json"))
    assert f"extension/{manifest['main'].removeprefix('./')}" in vsix.namelist()
    # It activates for every language the server completes (one of the language's VS Code ids).
    activation = set(manifest["activationEvents"])
    for spec in LANGUAGES:
        assert {f"onLanguage:{i}" for i in spec.language_ids} & activation, spec.name
    # Every server setting, and the setting that finds the server program.
    properties = manifest["contributes"]["configuration"]["properties"]
    assert {f"codellama.{_camel(f.name)}" for f in fields(Settings)} <= set(properties)
    server_path = properties["codellama.serverPath"]
    assert (server_path["type"], server_path["scope"]) == ("string", "machine")
    commands = {c["command"] for c in manifest["contributes"]["commands"]}
    assert {"codellama.restartServer", "codellama.showStatus"} <= commands
    # The marketplace manifest that `code --install-extension` checks first.
    ns = {"vsx": "http://schemas.microsoft.com/developer/vsx-schema/2011"}
    root = ElementTree.fromstring(vsix.read("extension.vsixmanifest"))
    identity = root.find("vsx:Metadata/vsx:Identity", ns)
    assert identity is not None
    assert (identity.get("Id"), identity.get("Version"), identity.get("Publisher")) == (
        manifest["name"],
        manifest["version"],
        manifest["publisher"],
    )
    engine = root.find("vsx:Metadata/vsx:Properties/vsx:Property[@Id='Microsoft.VisualStudio.Code.Engine']", ns)
    assert engine is not None and engine.get("Value") == manifest["engines"]["vscode"]


def _server_command() -> list[str]:
    script = Path(sys.executable).parent / "codellama-ls"
    return [str(script)] if script.exists() else [sys.executable, "-m", "codellama_ls"]


@pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python is not installed")
@pytest.mark.parametrize(
    "script",
    [
        # The wire: vscode-languageclient's capabilities and the extension's settings, hand-driven.
        "out/test/protocol/run.js",
        # The wiring: the extension with the real vscode-languageclient in a stand-in extension host.
        "out/test/host/run.js",
    ],
    ids=["protocol", "extension-host"],
)
def test_with_the_real_server(npm: str, tmp_path: Path, script: str) -> None:
    from tests.support.gguf_models import write_codellama_gguf

    model = write_codellama_gguf(tmp_path / "codellama-fim.gguf")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODELLAMA_LS_")}
    env.update(
        CODELLAMA_LS_COMMAND=json.dumps(_server_command()),
        CODELLAMA_LS_MODEL=str(model),
        CODELLAMA_LS_CONFIG=str(tmp_path / "no-config.toml"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        HF_HUB_OFFLINE="1",
    )
    process = _run([NODE or "node", script], timeout=180, env=env)  # NODE is set: the npm fixture skips otherwise
    _check(process, script)
    assert "] PASS" in process.stdout


def test_next_edit_at_the_protocol_level(npm: str, tmp_path: Path) -> None:
    """The extension's next-edit module against the server: proposed after a rename, accepted, dismissed
    (Rejected), and an answer for a version the document left is not used."""
    from tests.editors.test_nvim_ui import NEXT_EDIT_RULE, NEXT_EDIT_SERVER

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODELLAMA_LS_", "SCRIPTED_"))}
    env.update(
        CODELLAMA_LS_COMMAND=json.dumps(NEXT_EDIT_SERVER),
        CODELLAMA_LS_CONFIG=str(tmp_path / "no-config.toml"),
        CODELLAMA_LS_INIT=json.dumps({"nextEdit": True}),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        SCRIPTED_OUTPUT="",
        SCRIPTED_LOG_LEVEL="info",
        SCRIPTED_NEXT_EDIT=json.dumps(NEXT_EDIT_RULE),
        SCRIPTED_NEXT_EDIT_DELAY="0.5",
    )
    process = _run([NODE or "node", "out/test/protocol/nextEdit.js"], timeout=180, env=env)
    _check(process, "out/test/protocol/nextEdit.js")
    assert "] PASS" in process.stdout


def test_an_explicit_inline_request_gets_several_items_to_cycle_through(npm: str) -> None:
    """VS Code cycles through inline items itself: the server's alternatives arrive as items, with
    vscode-languageclient's own capabilities (scripted server)."""
    texts = ["total = a + b", "total = a - b", "total = a * b"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODELLAMA_LS_", "SCRIPTED_"))}
    env.update(
        CODELLAMA_LS_COMMAND=json.dumps([sys.executable, str(ROOT / "tests" / "support" / "scripted_server.py")]),
        CODELLAMA_LS_CONFIG="/nonexistent",
        SCRIPTED_ALTERNATIVES=json.dumps(texts),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    process = _run([NODE or "node", "out/test/protocol/alternatives.js"], timeout=120, env=env)
    _check(process, "alternatives.js")
    assert "[alternatives] PASS" in process.stdout
