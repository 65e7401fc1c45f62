"""Resolving the `model` setting: a preset download that cannot start creates nothing on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lsp_support import ROOT, server_env

RESOLVE = """
import sys
from codellama_ls.settings.config import Settings
from codellama_ls.models.presets import resolve_model
try:
    resolve_model(Settings(model="codellama-7b", model_dir=sys.argv[1], auto_download=True))
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_a_download_that_cannot_start_creates_no_directory(tmp_path: Path) -> None:
    model_dir = tmp_path / "any" / "deep" / "path" / "models"
    # Offline: huggingface_hub refuses at once, without touching the network (none in CI either).
    process = subprocess.run(
        [sys.executable, "-c", RESOLVE, str(model_dir)],
        capture_output=True,
        text=True,
        env=server_env(HF_HUB_OFFLINE="1"),
        cwd=ROOT,
        timeout=120,
    )
    assert process.stdout.startswith("EngineError Model codellama-7b is not downloaded"), process.stderr[-2000:]
    assert str(model_dir / "codellama-7b.Q4_K_M.gguf") in process.stdout
    # Before the download could start, `model_dir` and everything above it were created.
    assert list(tmp_path.iterdir()) == []


def _hub_error(name: str, message: str) -> Exception:
    """A huggingface_hub error as the hub raises it, without an HTTP response to build it from."""
    from huggingface_hub import errors

    kind = getattr(errors, name)
    error = kind.__new__(kind)
    Exception.__init__(error, message)
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize("error", ["RepositoryNotFoundError", "RemoteEntryNotFoundError"])
def test_a_repository_gone_away_fails_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    import huggingface_hub

    from codellama_ls.engine.base import EngineError
    from codellama_ls.models.presets import resolve_model
    from codellama_ls.settings.config import Settings

    def gone(url: str, *args: object, **kwargs: object) -> object:
        raise _hub_error(error, f"404 Client Error: not found for url: {url}")

    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", gone)
    model_dir = tmp_path / "models"
    with pytest.raises(EngineError) as raised:
        resolve_model(Settings(model="qwen2.5-coder-1.5b", model_dir=str(model_dir), auto_download=True))
    message = str(raised.value)
    assert "ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF no longer has qwen2.5-coder-1.5b-q8_0.gguf" in message
    assert "set `model` to its path" in message and "another preset" in message
    assert not model_dir.exists()


def test_a_gated_repository_says_to_log_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    from codellama_ls.engine.base import EngineError
    from codellama_ls.models.presets import resolve_model
    from codellama_ls.settings.config import Settings

    def gated(url: str, *args: object, **kwargs: object) -> object:
        raise _hub_error("GatedRepoError", "401 Client Error: gated")

    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", gated)
    with pytest.raises(EngineError, match="asks for a login and an accepted license"):
        resolve_model(Settings(model="starcoder2-3b", model_dir=str(tmp_path / "m"), auto_download=True))


def test_every_preset_has_size_license_and_memory_and_the_table_shows_them(tmp_path: Path) -> None:
    from codellama_ls.models.presets import PRESETS

    for name in ("qwen2.5-coder-1.5b", "qwen2.5-coder-7b", "deepseek-coder-1.3b", "deepseek-coder-6.7b"):
        assert name in PRESETS
    for name in ("starcoder2-3b", "starcoder2-7b"):
        assert name in PRESETS
    for preset in PRESETS.values():
        assert preset.size_gb > 0 and preset.license and preset.memory_gb > preset.size_gb
        assert preset.filename.endswith(".gguf") and "/" in preset.repo
    shown = subprocess.run(
        [sys.executable, "-m", "codellama_ls", "models"],
        capture_output=True,
        text=True,
        env=server_env(),
        cwd=ROOT,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "memory" in shown.stdout.splitlines()[0]
    line = next(x for x in shown.stdout.splitlines() if x.startswith("qwen2.5-coder-1.5b "))
    assert "1.6GB" in line and "2.5GB" in line and "Apache-2.0" in line
