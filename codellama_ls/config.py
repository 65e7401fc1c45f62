"""Typed settings and the one precedence order that resolves them.

Layers, lowest first: defaults < TOML file < environment < initializationOptions
< workspace/didChangeConfiguration.  Every layer is a plain mapping of raw values;
`resolve` validates each value, keeps the lower layer's value when one is invalid
and returns the problems so the server can show them instead of failing.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

import platformdirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

APP_NAME = "codellama-ls"
ENV_PREFIX = "CODELLAMA_LS_"
CONFIG_ENV = "CODELLAMA_LS_CONFIG"
# Editors nest our options under this key in their settings trees.
SECTION = "codellama"

FimFormat = Literal["auto", "psm", "spm", "none"]
LogLevel = Literal["error", "warning", "info", "debug"]
# Fields typed with one of these aliases accept only its values (annotations are strings here).
_CHOICES: dict[str, tuple[str, ...]] = {"FimFormat": get_args(FimFormat), "LogLevel": get_args(LogLevel)}


@dataclass(frozen=True)
class Settings:
    """Resolved settings; field docs are the README's settings table."""

    model: str = "codellama-7b"
    """Preset name or path to a .gguf file."""
    model_dir: str = ""
    """Where presets are downloaded; empty means the platform cache dir."""
    auto_download: bool = True
    """Download a missing preset on first use."""
    n_gpu_layers: int = -1
    """Layers offloaded to the GPU; -1 means all when llama.cpp has GPU support, else 0."""
    n_ctx: int = 4096
    """Context window in tokens (prompt + generation)."""
    n_threads: int = 0
    """CPU threads for llama.cpp; 0 lets llama.cpp choose."""
    n_batch: int = 512
    """Prompt tokens evaluated per llama.cpp batch."""
    state_cache_mb: int = 1024
    """Memory for other documents' saved KV caches, so switching documents re-uses them; 0 disables."""
    fim_format: FimFormat = "auto"
    """auto: SPM for models with FIM tokens (token healing inside words), prefix-only otherwise."""
    token_healing: bool = True
    """Inside a word, back off the last prompt token and make the first generated token re-spell it."""
    max_tokens: int = 128
    """Generation budget per suggestion."""
    max_lines: int = 8
    """Most lines of a block suggestion."""
    suffix_share: float = 0.25
    """Part of the prompt budget given to the text after the cursor."""
    temperature: float = 0.0
    """0 is greedy decoding, the most predictable ghost text."""
    top_k: int = 40
    top_p: float = 0.95
    cross_file: bool = True
    """Put relevant chunks of other open documents of the same language before the prefix."""
    cross_file_share: float = 0.2
    """Part of the prompt budget for cross-file chunks."""
    max_cross_file_chunks: int = 4
    syntax_check: bool = True
    """Cut or drop a suggestion that adds syntax errors to the document."""
    debounce_ms: int = -1
    """Wait before starting an automatic request; -1 adapts to the typing rate, 0 never waits."""
    max_latency_ms: int = 0
    """End generation at a line boundary after this long; 0 means no time limit."""
    partial_notifications: bool = False
    """Send the growing suggestion as `codellama/partialCompletion` notifications."""
    enabled: bool = True
    """Answer completion requests at all."""
    max_file_bytes: int = 2_000_000
    """Larger documents are not completed."""
    log_level: LogLevel = "info"


@dataclass(frozen=True)
class Resolved:
    settings: Settings
    problems: tuple[str, ...] = field(default_factory=tuple)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("-", "_")


_FIELDS = {f.name: f for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    """Convert one raw value to the field's type, raising ValueError with a reason."""
    current = getattr(Settings(), name)
    annotation = _FIELDS[name].type
    if isinstance(annotation, str) and annotation in _CHOICES:
        choices = _CHOICES[annotation]
        text = str(value).strip().lower()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return text
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"must be true or false, got {value!r}")
    if isinstance(current, (int, float)):
        kind = type(current)
        what = "an integer" if kind is int else "a number"
        if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"must be {what}, got {value!r}")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be {what}, got {value!r}") from None
        _check_range(name, number)
        return number
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    return value


_RANGES: dict[str, tuple[float, float]] = {
    "n_gpu_layers": (-1, 10_000),
    "n_ctx": (256, 1_048_576),
    "n_threads": (0, 1024),
    "n_batch": (1, 65_536),
    "state_cache_mb": (0, 1 << 20),
    "max_tokens": (1, 8192),
    "max_lines": (1, 1000),
    "suffix_share": (0.0, 0.9),
    "cross_file_share": (0.0, 0.5),
    "max_cross_file_chunks": (0, 32),
    "temperature": (0.0, 5.0),
    "top_k": (0, 1000),
    "top_p": (0.0, 1.0),
    "debounce_ms": (-1, 10_000),
    "max_latency_ms": (0, 600_000),
    "max_file_bytes": (1, 1 << 31),
}


def _check_range(name: str, value: float) -> None:
    low, high = _RANGES.get(name, (float("-inf"), float("inf")))
    if not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}, got {value:g}")


def normalize(raw: Mapping[str, Any] | None, source: str) -> tuple[dict[str, Any], list[str]]:
    """Accept camelCase or snake_case keys, optionally nested under "codellama"."""
    if raw is None:
        return {}, []
    if not isinstance(raw, Mapping):
        return {}, [f"{source}: expected an object of settings, got {type(raw).__name__}"]
    if isinstance(raw.get(SECTION), Mapping):
        raw = raw[SECTION]
    out: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        name = _snake(str(key))
        if name not in _FIELDS:
            problems.append(f"{source}: unknown setting {key!r}")
            continue
        if value is None:
            continue
        out[name] = value
    return out, problems


def resolve(layers: Iterable[tuple[str, Mapping[str, Any]]]) -> Resolved:
    """Apply `(source, normalized mapping)` layers in order, lowest first."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for source, layer in layers:
        for name, raw in layer.items():
            try:
                values[name] = _coerce(name, raw)
            except ValueError as exc:
                problems.append(
                    f"{source}: {_camel(name)} {exc}; keeping {values.get(name, getattr(Settings(), name))!r}"
                )
    return Resolved(dataclasses.replace(Settings(), **values), tuple(problems))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def read_file_layer(path: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    path = path or config_path()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}, []
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"config file {path}: {exc}; ignoring it"]
    return normalize(data, f"config file {path}")


def read_env_layer(environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key != CONFIG_ENV:
            name = key[len(ENV_PREFIX) :].lower()
            if name in _FIELDS:
                out[name] = value
    return out, []


class SettingsLayers:
    """The raw layers the server holds; re-resolved whenever one changes."""

    def __init__(self, file_path: Path | None = None, environ: Mapping[str, str] | None = None):
        self.file, file_problems = read_file_layer(file_path)
        self.env, _ = read_env_layer(environ)
        self.init_options: dict[str, Any] = {}
        self.client: dict[str, Any] = {}
        self._problems = file_problems

    def set_init_options(self, raw: Any) -> None:
        self.init_options, problems = normalize(raw, "initializationOptions")
        self._problems += problems

    def set_client(self, raw: Any) -> None:
        self.client, problems = normalize(raw, "workspace/didChangeConfiguration")
        self._problems += problems

    def resolve(self) -> Resolved:
        resolved = resolve(
            [
                ("config file", self.file),
                ("environment", self.env),
                ("initializationOptions", self.init_options),
                ("workspace/didChangeConfiguration", self.client),
            ]
        )
        problems = tuple(self._problems) + resolved.problems
        self._problems = []
        return Resolved(resolved.settings, problems)
