"""Shared fixtures: generated GGUF models (never committed) and engines; each test is marked by its folder
(`-m unit`, `-m e2e`, `-m editors`)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
needs_llama = pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python is not installed")


FOLDER_MARKERS = ("unit", "e2e", "editors")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        for marker in FOLDER_MARKERS:
            if marker in parts and parts[parts.index(marker) - 1] == "tests":
                item.add_marker(marker)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def codellama_gguf(models_dir: Path) -> Path:
    from tests.support.gguf_models import write_codellama_gguf

    return write_codellama_gguf(models_dir / "codellama-fim.gguf")


@pytest.fixture(scope="session")
def codellama_no_eot_gguf(models_dir: Path) -> Path:
    from tests.support.gguf_models import write_codellama_gguf

    return write_codellama_gguf(models_dir / "codellama-no-eot.gguf", eot_metadata=False)


@pytest.fixture(scope="session")
def python_gguf(models_dir: Path) -> Path:
    """Shaped like Code Llama - Python: the plain 32000-token vocab, no FIM tokens."""
    from tests.support.gguf_models import write_codellama_gguf

    return write_codellama_gguf(models_dir / "codellama-python.gguf", fim=False, name="CodeLlama Python Test")


@pytest.fixture(scope="session")
def llama_engine(codellama_gguf: Path) -> Iterator[object]:
    if not HAVE_LLAMA:
        pytest.skip("llama-cpp-python is not installed")
    from codellama_ls.engine.llama import LlamaEngine

    engine = LlamaEngine(codellama_gguf, n_ctx=1024, n_gpu_layers=0)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def random_gguf(models_dir: Path) -> Path:
    """Code Llama's vocabulary with small random Q4_0 layers: its output depends on every KV entry."""
    from tests.support.shaped_model import Shape, write

    return write(models_dir / "random-small.gguf", Shape(n_embd=128, n_layer=2, n_ff=256, n_head=4))
