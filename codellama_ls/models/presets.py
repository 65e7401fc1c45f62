"""Model presets, the download cache, turning the `model` setting into a file, and loading it."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from codellama_ls.engine.base import Engine, EngineError, Progress, vocab_of
from codellama_ls.prompts.fim import prepare_healing
from codellama_ls.settings.config import APP_NAME, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    name: str
    repo: str
    filename: str
    size_gb: float
    fim: bool
    description: str
    license: str = ""
    memory_gb: float = 0.0
    """GPU (or system) memory it needs at the default n_ctx of 4096: the weights, the KV cache of
    1.5 × n_ctx cells (the window's body included) and llama.cpp's compute buffers, rounded up."""


_LLAMA2 = "Llama 2 Community License"
_DEEPSEEK = "DeepSeek License (use restrictions; commercial use allowed)"
_OPENRAIL = "BigCode OpenRAIL-M (use restrictions)"


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "codellama-7b",
            "TheBloke/CodeLlama-7B-GGUF",
            "codellama-7b.Q4_K_M.gguf",
            4.1,
            True,
            "Code Llama 7B base, fill-in-the-middle (default)",
            _LLAMA2,
            7.5,
        ),
        Preset(
            "codellama-7b-instruct",
            "TheBloke/CodeLlama-7B-Instruct-GGUF",
            "codellama-7b-instruct.Q4_K_M.gguf",
            4.1,
            True,
            "Code Llama 7B Instruct, fill-in-the-middle",
            _LLAMA2,
            7.5,
        ),
        Preset(
            "codellama-13b",
            "TheBloke/CodeLlama-13B-GGUF",
            "codellama-13b.Q4_K_M.gguf",
            7.9,
            True,
            "Code Llama 13B base, fill-in-the-middle",
            _LLAMA2,
            13.5,
        ),
        Preset(
            "codellama-13b-instruct",
            "TheBloke/CodeLlama-13B-Instruct-GGUF",
            "codellama-13b-instruct.Q4_K_M.gguf",
            7.9,
            True,
            "Code Llama 13B Instruct, fill-in-the-middle",
            _LLAMA2,
            13.5,
        ),
        Preset(
            "codellama-7b-python",
            "TheBloke/CodeLlama-7B-Python-GGUF",
            "codellama-7b-python.Q4_K_M.gguf",
            4.1,
            False,
            "Code Llama 7B Python, prefix only (no FIM)",
            _LLAMA2,
            7.5,
        ),
        Preset(
            "codellama-13b-python",
            "TheBloke/CodeLlama-13B-Python-GGUF",
            "codellama-13b-python.Q4_K_M.gguf",
            7.9,
            False,
            "Code Llama 13B Python, prefix only (no FIM)",
            _LLAMA2,
            13.5,
        ),
        Preset(
            "codellama-34b",
            "TheBloke/CodeLlama-34B-GGUF",
            "codellama-34b.Q4_K_M.gguf",
            20.2,
            False,
            "Code Llama 34B base, prefix only (no FIM)",
            _LLAMA2,
            22.0,
        ),
        # Base models of the other FIM families (recognised from the GGUF, see `families.py`):
        # base, not instruct, because instruction tuning wears off infilling.
        Preset(
            "qwen2.5-coder-1.5b",
            "ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF",
            "qwen2.5-coder-1.5b-q8_0.gguf",
            1.6,
            True,
            "Qwen2.5-Coder 1.5B base, fill-in-the-middle and repository layout (llama.cpp's own FIM pick)",
            "Apache-2.0",
            2.5,
        ),
        Preset(
            "qwen2.5-coder-7b",
            "ggml-org/Qwen2.5-Coder-7B-Q8_0-GGUF",
            "qwen2.5-coder-7b-q8_0.gguf",
            8.1,
            True,
            "Qwen2.5-Coder 7B base, fill-in-the-middle and repository layout",
            "Apache-2.0",
            9.5,
        ),
        Preset(
            "deepseek-coder-1.3b",
            "TheBloke/deepseek-coder-1.3b-base-GGUF",
            "deepseek-coder-1.3b-base.Q4_K_M.gguf",
            0.9,
            True,
            "DeepSeek-Coder 1.3B base, fill-in-the-middle",
            _DEEPSEEK,
            2.5,
        ),
        Preset(
            "deepseek-coder-6.7b",
            "TheBloke/deepseek-coder-6.7B-base-GGUF",
            "deepseek-coder-6.7b-base.Q4_K_M.gguf",
            4.1,
            True,
            "DeepSeek-Coder 6.7B base, fill-in-the-middle",
            _DEEPSEEK,
            7.5,
        ),
        Preset(
            "starcoder2-3b",
            "second-state/StarCoder2-3B-GGUF",
            "starcoder2-3b-Q4_K_M.gguf",
            1.9,
            True,
            "StarCoder2 3B base, fill-in-the-middle and repository layout",
            _OPENRAIL,
            2.5,
        ),
        Preset(
            "starcoder2-7b",
            "second-state/StarCoder2-7B-GGUF",
            "starcoder2-7b-Q4_K_M.gguf",
            4.4,
            True,
            "StarCoder2 7B base, fill-in-the-middle and repository layout",
            _OPENRAIL,
            5.5,
        ),
    )
}


def cache_dir(settings: Settings) -> Path:
    if settings.model_dir:
        return Path(settings.model_dir).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


def preset_path(preset: Preset, settings: Settings) -> Path:
    return cache_dir(settings) / preset.filename


def looks_like_path(model: str) -> bool:
    return model.endswith(".gguf") or os.sep in model or "/" in model or model.startswith(("~", "."))


def how_to_get(preset: Preset, settings: Settings) -> str:
    return (
        f"Download it with `codellama-ls models --download {preset.name}` "
        f"(or put {preset.filename} from https://huggingface.co/{preset.repo} there), "
        "or set `model` to the path of a .gguf file."
    )


def resolve_model(settings: Settings, progress: Progress | None = None, download: bool | None = None) -> Path:
    """The GGUF file to load, downloading a preset on first use; raises EngineError with advice."""
    model = settings.model.strip()
    if not model:
        raise EngineError("No model is set: set `model` to a preset name or a .gguf path.")
    preset = PRESETS.get(model)
    if preset is None:
        if not looks_like_path(model):
            names = ", ".join(PRESETS)
            raise EngineError(f"Unknown model {model!r}: use one of the presets ({names}) or a .gguf path.")
        path = Path(model).expanduser()
        if not path.is_file():
            raise EngineError(
                f"Model file not found: {path}. Set `model` to an existing .gguf file or a preset name.", str(path)
            )
        return path
    path = preset_path(preset, settings)
    if path.is_file():
        return path
    if not (settings.auto_download if download is None else download):
        raise EngineError(f"Model {preset.name} is not downloaded: looked for {path}. {how_to_get(preset, settings)}")
    try:
        return download_preset(preset, settings, progress)
    except EngineError:
        raise
    except Exception as exc:  # network, disk, hub errors: all end as one clear message
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EngineError(
            f"Model {preset.name} is not downloaded: looked for {path}, and the download failed ({reason}). "
            f"{how_to_get(preset, settings)}"
        ) from exc


def load_llama_engine(settings: Settings, progress: Progress) -> Engine:
    """The server's and the CLI's engine factory, as the `engine` setting chooses: the model file
    (downloaded if need be) in llama.cpp in this process or in the per-user shared engine process, or a
    remote server."""
    if settings.engine == "shared":
        from codellama_ls.engine.shared_client import SharedEngine

        path = resolve_model(settings, progress)
        progress(f"Attaching to the shared engine for {path.name}", 0, None)
        shared = SharedEngine(settings, path)
        if settings.token_healing:
            prepare_healing(vocab_of(shared))
        return shared
    if settings.engine in ("llama-server", "openai"):
        from codellama_ls.engine.remote import load_remote_engine

        try:
            # Only the vocabulary is read, to build the prompts here: never downloaded for that.
            vocab_file: Path | None = resolve_model(settings, download=False)
        except EngineError as exc:
            log.info("model file not here (%s): the server's tokenizer builds the prompts", exc)
            vocab_file = None
        remote = load_remote_engine(settings, progress, vocab_file)
        if settings.token_healing and remote.info.healing:
            prepare_healing(vocab_of(remote))
        return remote
    from codellama_ls.engine.llama import LlamaEngine

    path = resolve_model(settings, progress)
    progress(f"Loading {path.name}", 0, None)
    engine = LlamaEngine(
        path,
        n_ctx=settings.n_ctx,
        n_gpu_layers=settings.n_gpu_layers,
        n_threads=settings.n_threads,
        n_batch=settings.n_batch,
        state_cache_mb=settings.state_cache_mb,
    )
    if settings.token_healing:
        prepare_healing(vocab_of(engine))
    return engine


def download_preset(preset: Preset, settings: Settings, progress: Progress | None = None) -> Path:
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    target = cache_dir(settings)
    # Ask the hub first: a download that cannot start (offline, no network, no such file) must leave
    # no directory behind, wherever `model_dir` points; hf_hub_download creates its folders at once.
    try:
        get_hf_file_metadata(hf_hub_url(preset.repo, preset.filename))
    except Exception as exc:
        gone = gone_message(preset, exc)
        if gone:
            raise EngineError(gone) from exc
        raise
    target.mkdir(parents=True, exist_ok=True)
    done = threading.Event()
    watcher = None
    if progress is not None:
        watcher = threading.Thread(
            target=_watch_download, args=(target, preset, progress, done), daemon=True, name="download-progress"
        )
        watcher.start()
    try:
        local = hf_hub_download(repo_id=preset.repo, filename=preset.filename, local_dir=str(target))
    finally:
        done.set()
        if watcher is not None:
            watcher.join(timeout=2)
    return Path(local)


def gone_message(preset: Preset, exc: BaseException) -> str:
    """A clear message when the hub says the preset's repository or file is not there (any more);
    empty for other failures (offline, network), which keep their own reason."""
    from huggingface_hub import errors

    def named(*names: str) -> tuple[type[BaseException], ...]:
        return tuple(getattr(errors, name) for name in names if hasattr(errors, name))

    if isinstance(exc, named("LocalEntryNotFoundError", "OfflineModeIsEnabled")):
        return ""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    where = f"https://huggingface.co/{preset.repo}"
    if isinstance(exc, named("GatedRepoError")) or status in (401, 403):
        return (
            f"The repository {where} of preset {preset.name} asks for a login and an accepted license: accept it "
            f"there, download {preset.filename} yourself and set `model` to its path."
        )
    gone = named("RepositoryNotFoundError", "RemoteEntryNotFoundError", "EntryNotFoundError", "DisabledRepoError")
    if isinstance(exc, gone) or status in (404, 410):
        return (
            f"Preset {preset.name} cannot be downloaded: {where} no longer has {preset.filename} (the repository "
            f"was moved, renamed or deleted). Download a GGUF of {preset.description} yourself and set `model` "
            "to its path, or choose another preset (`codellama-ls models`)."
        )
    return ""


def _watch_download(target: Path, preset: Preset, progress: Progress, done: threading.Event) -> None:
    # huggingface_hub writes to an .incomplete file under local_dir; its size is the progress.
    total = int(preset.size_gb * 1e9)
    while not done.wait(1.0):
        partial = list(target.glob(f".cache/huggingface/download/**/{preset.filename}*.incomplete"))
        size = max((p.stat().st_size for p in partial if p.exists()), default=0)
        progress(f"Downloading {preset.filename}", size, total)
