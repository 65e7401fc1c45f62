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

from codellama_ls.settings.spec import setting, spec_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

APP_NAME = "codellama-ls"
ENV_PREFIX = "CODELLAMA_LS_"
CONFIG_ENV = "CODELLAMA_LS_CONFIG"
# Editors nest our options under this key in their settings trees.
SECTION = "codellama"

FimFormat = Literal["auto", "psm", "spm", "line", "none"]
LogLevel = Literal["error", "warning", "info", "debug"]
# Where the model runs.
EngineKind = Literal["shared", "local", "llama-server", "openai"]
# How servers reach the shared engine process.
EngineTransport = Literal["auto", "unix", "tcp"]
# How a next-edit prediction is asked of the model (`nextedit/prompt.py`).
NextEditFormat = Literal["auto", "zeta", "sweep", "fim", "chat"]
# Fields typed with one of these aliases accept only its values (annotations are strings here).
_CHOICES: dict[str, tuple[str, ...]] = {
    "FimFormat": get_args(FimFormat),
    "LogLevel": get_args(LogLevel),
    "EngineKind": get_args(EngineKind),
    "EngineTransport": get_args(EngineTransport),
    "NextEditFormat": get_args(NextEditFormat),
}


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Each field is the one place for its setting's facts (see settings_schema)."""

    model: str = setting(
        "codellama-7b",
        "a preset name (`codellama-ls models` lists them) or the path of a `.gguf` file; with a remote"
        " `engine`, only its vocabulary is read (never downloaded for it)",
        reload=True,
        scope="machine",
        vscode="`${userHome}` and `~` are expanded; nothing is taken from the workspace folder.",
        examples=("codellama-7b", "codellama-13b", "/path/to/model.gguf"),
    )
    instruct_model: str = setting(
        "",
        "a second model for code actions and generating code from a comment (a preset name or a `.gguf` path),"
        " loaded at the first such request; empty means `model` serves them when it is instruction-tuned"
        " (Code Llama - Instruct serves completions and instructions with one model)",
        scope="machine",
        vscode="`${userHome}` and `~` are expanded; nothing is taken from the workspace folder.",
        examples=("", "codellama-7b-instruct", "/path/to/instruct.gguf"),
    )
    python_model: str = setting(
        "",
        "a second model for completions in Python documents (a preset name such as `codellama-7b-python`, or a"
        " `.gguf` path), loaded beside `model` when set and freed when cleared; empty means `model` serves Python"
        " too. Code Llama - Python has no fill-in-the-middle tokens: it completes from the text before the cursor",
        scope="machine",
        vscode="`${userHome}` and `~` are expanded; nothing is taken from the workspace folder.",
        examples=("", "codellama-7b-python", "/path/to/python.gguf"),
    )
    model_dir: str = setting(
        "",
        "where presets are downloaded and looked for; empty means the user cache directory"
        " (`codellama-ls models` shows it)",
        reload=True,
        scope="machine",
        default_doc="user cache dir + `/models`",
    )
    auto_download: bool = setting(True, "download a missing preset on first use", scope="machine-overridable")
    engine: EngineKind = setting(
        "shared",
        "where completions are computed: `shared` in one engine process per user and model settings, which every"
        " editor's server attaches to; `local` in this process; `llama-server` and"
        " `openai` send token-exact prompts to the server at `engineUrl` (nothing leaves the machine otherwise)",
        reload=True,
        scope="machine",
        choice_docs=(
            "One engine process for all of this user's editors (started by the first server that needs it,"
            " over a channel only the user can open, `engineTransport`); the model is loaded once.",
            "llama.cpp inside the language server (the model file is loaded here).",
            "llama.cpp's own HTTP server (`/completion`), local or a team's GPU box: per-document slots,"
            " prompt cache, token healing when the model file is also here.",
            "Any OpenAI-compatible `/v1/completions` that accepts token-id prompts (vLLM, SGLang, llama-server).",
        ),
    )
    engine_idle_s: int = setting(
        300,
        "a `shared` engine process with no server attached exits after this many seconds",
        range=(1, 86_400),
        scope="machine",
    )
    engine_transport: EngineTransport = setting(
        "auto",
        "how servers reach the `shared` engine process: `unix`, a socket file only the user can open; `tcp`, a"
        " loopback port whose per-user token is in a file only the user can read; `auto` is `tcp` on Windows and"
        " `unix` elsewhere. Servers with different transports do not share an engine",
        reload=True,
        scope="machine",
        choice_docs=(
            "`tcp` on Windows, `unix` elsewhere.",
            "A Unix socket (mode 0600, in a folder only the user can enter); peers of another user are refused.",
            "127.0.0.1 only; every client sends the token the engine wrote to a 0600 file, compared in constant time.",
        ),
    )
    engine_url: str = setting(
        "",
        "base URL of the remote engine (`http://127.0.0.1:8080`, `https://llm.example.com`); used when `engine`"
        " is `llama-server` or `openai`",
        default_doc="none",
        reload=True,
        scope="machine",
        examples=("http://127.0.0.1:8080", "https://llm.example.com/v1"),
    )
    engine_api_key_env: str = setting(
        "",
        "name of the environment variable that holds the remote engine's API key (sent as a bearer token);"
        " the key itself is never a setting and never logged",
        default_doc="none",
        reload=True,
        scope="machine",
        examples=("CODELLAMA_LS_API_KEY",),
    )
    engine_model: str = setting(
        "",
        "model name sent to an `openai` engine; empty uses the first one its `/v1/models` lists",
        default_doc="none",
        reload=True,
        scope="machine",
    )
    engine_timeout_ms: int = setting(
        10_000,
        "a remote engine that sends nothing for this long fails that request (the editor gets no suggestion)",
        range=(100, 600_000),
        reload=True,
    )
    n_gpu_layers: int = setting(
        -1,
        "layers offloaded to the GPU; `-1` is all when llama.cpp was built with GPU support, else none",
        range=(-1, 10_000),
        reload=True,
        scope="machine-overridable",
    )
    n_ctx: int = setting(4096, "context window in tokens (prompt and generation)", range=(256, 1_048_576), reload=True)
    n_threads: int = setting(
        0,
        "CPU threads for llama.cpp's decode steps and prompt batches; `0` is the physical cores this"
        " process may use, as llama-server (`doctor` and `codellama/status` show the count); with every"
        " layer on a GPU the threads only feed it",
        range=(0, 1024),
        reload=True,
        scope="machine-overridable",
    )
    n_batch: int = setting(512, "prompt tokens evaluated per llama.cpp batch", range=(1, 65_536), reload=True)
    state_cache_mb: int = setting(
        1024,
        "memory (MB) for other documents' saved KV caches, so switching files restores them instead of"
        " evaluating the prompt again; `0` disables",
        range=(0, 1 << 20),
        reload=True,
    )
    fim_format: FimFormat = setting(
        "auto",
        "fill-in-the-middle prompt order: `auto` is `line` for models with FIM tokens (typing and cursor moves"
        " both reuse the KV cache), with token healing, and prefix-only for models without;"
        " `none` is prefix-only. `spm` is for Code Llama (the other families get `line`); Codestral always gets"
        " its own suffix-first layout",
        choice_docs=(
            "LINE for models with fill-in-the-middle tokens, prefix only for the others.",
            "Prefix-suffix-middle: <PRE> prefix <SUF> suffix <MID>.",
            "Suffix-prefix-middle: <PRE> <SUF> suffix <MID> prefix.",
            "The lines above the cursor line first, its head after <MID>: <PRE> lines <SUF> suffix <MID> head.",
            "Complete from the text before the cursor only.",
        ),
    )
    token_healing: bool = setting(
        True,
        "where the prompt's last tokens could merge with what comes next (inside a word, after a space, an"
        " indentation or a partial operator, as the tokenizer decides), back them off and make the first"
        " generated tokens re-spell them (else `auto` uses PSM there)",
    )
    max_tokens: int = setting(128, "generation budget per suggestion, in tokens", range=(1, 8192))
    instruct_max_tokens: int = setting(
        768, "generation budget of a code action or a code-from-comment request, in tokens", range=(16, 16384)
    )
    max_lines: int = setting(8, "most lines of a multi-line (block) suggestion", range=(1, 1000))
    prefetch: bool = setting(True, "after a suggestion is accepted, compute the next one before the editor asks")
    suffix_share: float = setting(
        0.2,
        "part of the prompt budget given to the code after the cursor (what a cursor move re-evaluates;"
        " llama.vim sends 64 lines after and 256 before)",
        range=(0.0, 0.9),
    )
    temperature: float = setting(
        0.0, "sampling temperature; `0` is greedy decoding, the most stable ghost text", range=(0.0, 5.0)
    )
    top_k: int = setting(40, "top-k sampling when `temperature` is above 0", range=(0, 1000))
    top_p: float = setting(0.95, "top-p (nucleus) sampling when `temperature` is above 0", range=(0.0, 1.0))
    draft_tokens: int = setting(
        16,
        "speculative decoding when greedy: up to this many tokens guessed from a long earlier match in the prompt"
        " (prompt lookup) and checked in one batch; suggestions the same up to rounding, about 1.1-1.2x faster"
        " on a 2-core CPU (more where a batch of rows costs little more than one row, as on GPUs); `0` is off",
        range=(0, 64),
    )
    alternatives: int = setting(
        3,
        "most suggestions for an explicit inline request, to cycle through: the other ones branch from the same"
        " prompt evaluation where the model hesitated, are cleaned and checked as the first one, and are ranked"
        " by the model's likelihood; all of them take at most about 1.5x the time of one, so fewer come where the"
        " machine makes the extra decoding dear (a CPU) than where it is cheap (a GPU); automatic requests get"
        " one; `1` is off",
        range=(1, 8),
    )
    cross_file: bool = setting(
        True, "put relevant chunks of other open documents of the same language before the prefix"
    )
    cross_file_share: float = setting(0.2, "part of the prompt budget for cross-file chunks", range=(0.0, 0.5))
    max_cross_file_chunks: int = setting(4, "most cross-file chunks in one prompt", range=(0, 32))
    repository_context: bool = setting(
        True,
        "put the definitions the cursor needs (the call being written, the names around it, the file's imports)"
        " from the workspace's files, open or not, before the prefix; the files are indexed in the background",
    )
    repository_context_share: float = setting(
        0.25,
        "part of the prompt budget for repository context and cross-file chunks together, when the workspace"
        " index found definitions the cursor needs",
        range=(0.0, 0.5),
    )
    repository_include: str = setting(
        "",
        "comma-separated globs (a path relative to the workspace folder, or a file name): when set, only"
        " matching files are indexed",
        default_doc="(every file)",
        examples=("src/**, *.py",),
    )
    repository_exclude: str = setting(
        "",
        "comma-separated globs of files the index leaves out, besides the generated, minified, vendored,"
        " huge and binary ones it always skips",
        default_doc="(none)",
        examples=("tests/**, *_pb2.py",),
    )
    repository_max_files: int = setting(
        10_000, "most files indexed per workspace folder; the rest are left out, with a log line", range=(0, 1_000_000)
    )
    syntax_check: bool = setting(True, "cut or drop a suggestion that would add syntax errors to the document")
    debounce_ms: int = setting(
        -1,
        "wait before starting an automatic request: `-1` adapts to the typing rate (half a keystroke interval,"
        " at most 50 ms, while you type fast; nothing when you pause), `0` never waits, N waits N ms;"
        " explicit requests never wait",
        range=(-1, 10_000),
    )
    max_latency_ms: int = setting(
        0,
        "end generation at a line boundary after this many milliseconds; `0` means no time limit",
        range=(0, 600_000),
    )
    partial_notifications: bool = setting(
        False,
        "send the growing suggestion as `codellama/partialCompletion` notifications",
        vscode="VS Code's inline completion API cannot show them; they are for other clients.",
    )
    enabled: bool = setting(
        True,
        "answer completion requests at all",
        scope="language-overridable",
        vscode='`Code Llama: Toggle Completions` flips it; a language-specific `false` (under `"[markdown]"`,'
        " for example) turns completions off for that language only.",
    )
    next_edit: bool = setting(
        False,
        "next-edit suggestions: from the edits you just made, the model rewrites the lines around the cursor and"
        " the change is offered where it belongs (`codellama/nextEdit`, and as an inline completion on the cursor's"
        " line); off until the benchmark shows a model family it helps",
    )
    next_edit_region_lines: int = setting(
        15,
        "about how many lines around the cursor a next-edit prediction may rewrite (cut where the syntax tree allows)",
        range=(3, 200),
    )
    next_edit_history: int = setting(
        8,
        "how many of your recent edits (a typed word, a paste, an accepted suggestion: one each) a next-edit prompt"
        " shows the model",
        range=(0, 64),
    )
    next_edit_format: NextEditFormat = setting(
        "auto",
        "how a next-edit prediction is asked of the model: `auto` picks `chat` for instruction-tuned models,"
        " `sweep` for fill-in-the-middle families with file-separator tokens (Qwen2.5-Coder, StarCoder2) and"
        " `fim` for the other fill-in-the-middle models",
        choice_docs=(
            "`chat` for instruction-tuned models, `sweep` for families with file-separator tokens, else `fim`.",
            "Zed's Zeta layout: the edit history as diffs, the region with a cursor marker between FIM tokens.",
            "Sweep's layout: each edit as `original:`/`updated:` blocks, then the region before the last edit, now,"
            " and the model's update.",
            "The region as the middle of a fill-in-the-middle prompt, the history as a comment above the file.",
            "One chat request with the history and the region; the answer's fenced block is the new region.",
        ),
    )
    max_file_bytes: int = setting(2_000_000, "larger documents (in bytes) are not completed", range=(1, 1 << 31))
    log_level: LogLevel = setting(
        "info",
        "how much the server logs to stderr; `debug` includes llama.cpp's own messages",
        vscode="The log is in the `Code Llama` output channel.",
    )

    @classmethod
    def reload_fields(cls) -> tuple[str, ...]:
        """The settings that only take effect when the model is loaded again."""
        return tuple(f.name for f in fields(cls) if spec_of(f).reload)


@dataclass(frozen=True)
class Resolved:
    settings: Settings
    problems: tuple[str, ...] = field(default_factory=tuple)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("-", "_")


_FIELDS = {f.name: f for f in fields(Settings)}


def choices(name: str) -> tuple[str, ...]:
    """The values a setting accepts when its type is one of the Literal aliases above; () otherwise."""
    annotation = _FIELDS[name].type
    return _CHOICES.get(annotation, ()) if isinstance(annotation, str) else ()


def _coerce(name: str, value: Any) -> Any:
    """Convert one raw value to the field's type, raising ValueError with a reason."""
    current = getattr(Settings(), name)
    allowed = choices(name)
    if allowed:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {value!r}")
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
    f.name: spec.range for f in fields(Settings) if (spec := spec_of(f)).range is not None
}


def _check_range(name: str, value: float) -> None:
    low, high = _RANGES.get(name, (float("-inf"), float("inf")))
    if not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}, got {value:g}")


def _no_settings(raw: Any) -> bool:
    # Lua clients (Neovim) encode an empty table as `[]`: like null, it means "no settings".
    return raw is None or (isinstance(raw, list) and not raw)


def normalize(raw: Any, source: str) -> tuple[dict[str, Any], list[str]]:
    """Accept camelCase or snake_case keys, optionally nested under "codellama"."""
    if _no_settings(raw):
        return {}, []
    if not isinstance(raw, Mapping):
        return {}, [f"{source}: expected an object of settings, got {type(raw).__name__}"]
    if SECTION in raw and (isinstance(raw[SECTION], Mapping) or _no_settings(raw[SECTION])):
        raw = raw[SECTION] or {}
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
                    f"{source}: {editor_key(name)} {exc}; keeping {values.get(name, getattr(Settings(), name))!r}"
                )
    return Resolved(dataclasses.replace(Settings(), **values), tuple(problems))


def editor_key(name: str) -> str:
    """The camelCase key editors use for a setting."""
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
