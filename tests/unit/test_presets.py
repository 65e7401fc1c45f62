"""Resolving the `model` setting: a preset download that cannot start creates nothing on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
