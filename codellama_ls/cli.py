"""Command line: serve (default), complete, models, doctor."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codellama_ls import __version__
from codellama_ls.engine.base import EngineError
from codellama_ls.settings.config import Settings, SettingsLayers, choices, config_path, normalize, resolve

COMMANDS = ("serve", "complete", "models", "doctor", "index")

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad arguments: reported with the usage line and exit status 2."""


def _add_settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="preset name or path to a .gguf file")
    parser.add_argument("--fim-format", choices=choices("fim_format"))
    parser.add_argument("--n-gpu-layers", type=int, help="layers to offload (-1: all when available)")
    parser.add_argument("--n-ctx", type=int, help="context size in tokens")
    parser.add_argument("--max-tokens", type=int, help="generation budget per suggestion")
    parser.add_argument("--log-level", choices=choices("log_level"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codellama-ls",
        description="Inline code completions from a local Code Llama model, over the Language Server Protocol.",
        epilog="With no command, serves LSP on stdio.",
    )
    parser.add_argument("--version", action="version", version=f"codellama-ls {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve LSP on stdio (the default) or TCP")
    serve.add_argument(
        "--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (a loopback address unless --tcp-any-host)"
    )
    serve.add_argument(
        "--tcp-any-host",
        action="store_true",
        help="let --tcp listen on an address other machines can reach: there is no authentication, so anyone "
        "who reaches the port can use the model",
    )
    serve.add_argument("--log-file", type=Path, help="also write the log to this file")
    _add_settings_options(serve)

    complete = sub.add_parser("complete", help="print the completion at FILE:LINE:COL (1-based)")
    complete.add_argument("location", metavar="FILE:LINE:COL")
    complete.add_argument("--json", action="store_true", help="print a JSON object with the text and statistics")
    complete.add_argument("--show-prompt", action="store_true", help="print the prompt (text and token ids) only")
    complete.add_argument("--language", help="LSP languageId of the file (default: from its extension)")
    complete.add_argument(
        "--workspace",
        type=Path,
        help="the folder whose files give repository context (default: the file's git work tree, else its folder)",
    )
    _add_settings_options(complete)

    index = sub.add_parser("index", help="index FOLDER as the server would; print what it holds and how long it took")
    index.add_argument("folder", type=Path)
    index.add_argument("--files", action="store_true", help="also list every file with its definitions")
    index.add_argument("--json", action="store_true", help="print a JSON object")

    models = sub.add_parser("models", help="list the model presets and where they are cached")
    models.add_argument("--download", metavar="PRESET", help="download a preset now")

    sub.add_parser("doctor", help="report the llama.cpp build, the model, the grammars and the config")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    # `codellama-ls [--tcp ...]` means `codellama-ls serve [--tcp ...]`: editors spawn it without a command.
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv = ["serve", *argv]
    return build_parser().parse_args(argv)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = ("model", "fim_format", "n_gpu_layers", "n_ctx", "max_tokens", "log_level")
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _settings(args: argparse.Namespace) -> tuple[Any, tuple[str, ...]]:
    base = SettingsLayers().resolve()
    overrides, problems = normalize(_overrides(args), "command line")
    resolved = resolve([("settings", dataclasses.asdict(base.settings)), ("command line", overrides)])
    return resolved.settings, (*base.problems, *problems, *resolved.problems)


def _setup_logging(level: str, log_file: Path | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("codellama_ls").setLevel(level.upper())
    # llama.cpp warns about harmless vocab details on every load; show them when debugging.
    logging.getLogger("llama.cpp").setLevel(logging.DEBUG if level == "debug" else logging.ERROR)
    # Its retries while offline are summed up in our one message about the download.
    logging.getLogger("huggingface_hub").setLevel(logging.DEBUG if level == "debug" else logging.ERROR)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def tcp_address(value: str, *, any_host: bool = False) -> tuple[str, int]:
    """`--tcp HOST:PORT`: a loopback host only, unless the user passed `--tcp-any-host`."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--tcp wants HOST:PORT, got {value!r}")
    if not any_host and not _is_loopback(host):
        raise UsageError(
            f"--tcp {value}: the server has no authentication, so it listens on a loopback address only "
            "(127.0.0.1, ::1, localhost); add --tcp-any-host to listen on another address anyway"
        )
    return host.strip("[]"), int(port)


def cmd_serve(args: argparse.Namespace) -> int:
    from codellama_ls.lsp.server import create_server

    _setup_logging(args.log_level or "info", args.log_file)
    server = create_server(**_overrides(args))
    if args.tcp:
        host, port = tcp_address(args.tcp, any_host=args.tcp_any_host)
        if not _is_loopback(host):
            log.warning("listening on %s:%d: anyone who reaches it can use the server (no authentication)", host, port)
        server.start_tcp(host, port)
        return server.session.exit_code
    # The LSP stream gets its own copy of stdout; fd 1 then points at stderr, so
    # anything a native library prints cannot corrupt the protocol.
    transport = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    server.start_io(sys.stdin.buffer, transport)
    return server.session.exit_code


def _parse_location(location: str) -> tuple[Path, int, int]:
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise UsageError(f"expected FILE:LINE:COL with 1-based numbers, got {location!r}")
    line, col = int(parts[1]), int(parts[2])
    if line < 1 or col < 1:
        raise UsageError(f"LINE and COL start at 1, got {line}:{col}")
    return Path(parts[0]), line, col


def _load_engine(settings: Any) -> Any:
    from codellama_ls.models.presets import load_llama_engine

    # huggingface_hub draws its own progress bar on the terminal while a preset downloads.
    return load_llama_engine(settings, lambda message, done, total: None)


def cmd_complete(args: argparse.Namespace) -> int:
    from codellama_ls.completion.pipeline import complete, plan
    from codellama_ls.completion.snapshot import snapshot_of
    from codellama_ls.documents.document import Document
    from codellama_ls.documents.languages import language_for
    from codellama_ls.documents.positions import PositionEncoding, PositionError
    from codellama_ls.engine.base import vocab_of

    _setup_logging(args.log_level or "warning")
    path, line, col = _parse_location(args.location)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\0" in data:
        raise UsageError(f"{path} looks binary (contains NUL bytes); not completing it")
    text = data.decode("utf-8", errors="replace")
    uri = path.resolve().as_uri()
    spec = language_for(args.language or "", uri)
    doc = Document(
        uri,
        args.language or (spec.language_ids[0] if spec else ""),
        0,
        text,
        encoding=PositionEncoding.UTF32,
        max_bytes=len(data) + 1,
    )
    try:
        # COL counts characters (code points), as most compilers and editors print it.
        offset = doc.offset_at(line - 1, col - 1)
    except PositionError as exc:
        raise UsageError(f"{args.location}: {exc}") from None
    settings, problems = _settings(args)
    for problem in problems:
        print(f"codellama-ls: {problem}", file=sys.stderr)
    snapshot = snapshot_of(doc, offset, invoked=True)
    if settings.repository_context:
        snapshot = _with_repository(snapshot, path, args.workspace, settings)
    engine = _load_engine(settings)
    try:
        if args.show_prompt:
            the_plan = plan(vocab_of(engine), engine.info.n_ctx, snapshot, settings)
            return _print_prompt(engine, the_plan, args.json)
        result = complete(engine, snapshot, settings, lambda: False)
    finally:
        engine.close()
    if args.json:
        print(
            json.dumps(
                {
                    "text": result.text,
                    "mode": result.plan.mode.value,
                    "unit": result.plan.unit.value,
                    "stats": {
                        **dataclasses.asdict(result.stats),
                        "plan_ms": result.plan_ms,
                        "post_ms": result.post_ms,
                    },
                },
                indent=2,
            )
        )
    else:
        print(result.text)
    return 0


def _with_repository(snapshot: Any, path: Path, workspace: Path | None, settings: Any) -> Any:
    from codellama_ls.workspace.context import index_folder, workspace_root
    from codellama_ls.workspace.retrieval import retrieve

    folder = workspace or workspace_root(path)
    index = index_folder(folder, settings)
    try:
        return dataclasses.replace(snapshot, repository=retrieve(index, snapshot))
    finally:
        index.close()


def _context_lines(the_plan: Any) -> list[str]:
    chunks = the_plan.sticky.cross if the_plan.sticky is not None else ()
    lines = [f"# context: {len(chunks)} chunk(s) before the prefix"]
    for chunk in chunks:
        lines.append(f"#   {chunk.uri}:{chunk.first_line + 1} (score {chunk.score:.2f}): {chunk.reason or 'chosen'}")
    return lines


def cmd_index(args: argparse.Namespace) -> int:
    import resource

    from codellama_ls.workspace.context import index_folder

    _setup_logging("warning")
    folder = args.folder
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    settings, problems = _settings(args)
    for problem in problems:
        print(f"codellama-ls: {problem}", file=sys.stderr)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    index = index_folder(folder, settings)
    try:
        stats = index.stats
        facts = index.all_facts()
    finally:
        index.close()
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    languages: dict[str, int] = {}
    for item in facts:
        languages[item.language] = languages.get(item.language, 0) + 1
    if args.json:
        print(
            json.dumps(
                {
                    "folder": str(folder.resolve()),
                    "files": stats.files,
                    "definitions": stats.definitions,
                    "imports": stats.imports,
                    "languages": languages,
                    "seconds": stats.seconds,
                    "capped": stats.capped,
                    "memory_mb": round(grown_mb, 1),
                },
                indent=2,
            )
        )
        return 0
    print(f"{folder.resolve()}: {stats.files} files, {stats.definitions} definitions, {stats.imports} imports")
    print("languages: " + (", ".join(f"{name} {count}" for name, count in sorted(languages.items())) or "none"))
    capped = f" (capped at {settings.repository_max_files} files)" if stats.capped else ""
    print(f"indexed in {stats.seconds:.2f} s, peak memory grew {grown_mb:.0f} MB{capped}")
    if args.files:
        for item in facts:
            names = ", ".join(
                f"{d.container + '.' if d.container else ''}{d.name} ({d.kind})" for d in item.definitions
            )
            print(f"{item.path}: {names}")
    return 0


def _print_prompt(engine: Any, the_plan: Any, as_json: bool) -> int:
    from codellama_ls.prompts.fim import describe

    pieces = [engine.token_text(token) for token in the_plan.tokens]
    family, layout = describe(engine.info.fim, the_plan.mode, the_plan.tokens)
    if as_json:
        print(
            json.dumps(
                {
                    "family": family,
                    "layout": layout,
                    "mode": the_plan.mode.value,
                    "unit": the_plan.unit.value,
                    "text": "".join(pieces),
                    "tokens": the_plan.tokens,
                    "context": [
                        {"uri": c.uri, "line": c.first_line + 1, "score": c.score, "reason": c.reason}
                        for c in (the_plan.sticky.cross if the_plan.sticky is not None else ())
                    ],
                },
                indent=2,
            )
        )
        return 0
    print(f"# model: {family}; layout: {layout}")
    print(f"# mode: {the_plan.mode.value}, unit: {the_plan.unit.value}, {len(the_plan.tokens)} tokens")
    print("\n".join(_context_lines(the_plan)))
    print("# text:")
    print("".join(pieces))
    print("# token ids:")
    print(" ".join(str(token) for token in the_plan.tokens))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from codellama_ls.models.presets import PRESETS, download_preset, preset_path

    settings, _ = _settings(args)
    if args.download:
        preset = PRESETS.get(args.download)
        if preset is None:
            raise UsageError(f"unknown preset {args.download!r}; choose from {', '.join(PRESETS)}")
        print(f"Downloading {preset.filename} from {preset.repo} (~{preset.size_gb:.1f} GB)...", file=sys.stderr)
        try:
            path = download_preset(preset, settings)
        except Exception as exc:
            print(f"codellama-ls: download failed: {exc}", file=sys.stderr)
            return 1
        print(path)
        return 0
    print(f"{'preset':30} {'fim':4} {'size':>7} {'memory':>7}  license / location")
    for preset in PRESETS.values():
        path = preset_path(preset, settings)
        where = str(path) if path.is_file() else f"not downloaded ({path})"
        default = " (default)" if preset.name == Settings().model else ""
        fim = "yes" if preset.fim else "no"
        print(f"{preset.name + default:30} {fim:4} {preset.size_gb:5.1f}GB {preset.memory_gb:5.1f}GB  {preset.license}")
        print(f"{'':30} {preset.description}; {where}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from codellama_ls.documents.languages import grammar_status
    from codellama_ls.engine.llama import llama_cpp_version, supports_gpu_offload
    from codellama_ls.install import detect as detect_install
    from codellama_ls.models.presets import PRESETS, resolve_model

    settings, problems = _settings(args)
    ok = True
    print(f"codellama-ls {__version__}, Python {sys.version.split()[0]}")
    print(f"install: {detect_install()}")
    print(f"llama-cpp-python: {llama_cpp_version()}")
    print(f"GPU offload: {'yes' if supports_gpu_offload() else 'no (CPU build; see the README for CUDA/Metal)'}")
    cfg = config_path()
    print(f"config file: {cfg} ({'found' if cfg.is_file() else 'not present'})")
    for problem in problems:
        print(f"  problem: {problem}")
    model = None
    try:
        path = model = resolve_model(settings, download=False)
        print(f"model: {settings.model} -> {path} ({path.stat().st_size / 1e9:.2f} GB)")
    except EngineError as exc:
        # Not an error before first use: the server downloads presets when it starts.
        print(f"model: {exc}")
        if settings.engine in ("llama-server", "openai"):
            print("  (a remote engine reads only its vocabulary, and never downloads it)")
        elif settings.auto_download and settings.model in PRESETS:
            print("  (the server downloads it on first start; `autoDownload` is on)")
    for role in ("python_model", "instruct_model"):
        name = getattr(settings, role).strip()
        if name:
            try:
                found = resolve_model(dataclasses.replace(settings, model=name), download=False)
                print(f"{role}: {name} -> {found}")
            except EngineError as exc:
                print(f"{role}: {exc}")
    if llama_cpp_version().startswith("unavailable"):
        ok = False
    ok = _doctor_engine(settings, model) and ok
    status = grammar_status()
    have = [name for name, present in status.items() if present]
    missing = [name for name, present in status.items() if not present]
    print(f"grammars: {', '.join(have) or 'none'}" + (f"; missing: {', '.join(missing)}" if missing else ""))
    return 0 if ok else 1


def _doctor_engine(settings: Any, model: Path | None) -> bool:
    from codellama_ls.engine.remote import check_remote, describe
    from codellama_ls.engine.shared_client import describe as describe_shared

    if settings.engine in ("shared", "local"):
        where = describe_shared(settings, model) if settings.engine == "shared" else describe(settings)
        print(f"completions computed: {where}")
        print(f"CPU threads: {_threads_line(settings.n_threads)}")
        return True
    print(f"completions computed: {describe(settings)}")
    try:
        print(f"  server {check_remote(settings)}")
    except EngineError as exc:
        print(f"  problem: {exc}")
        return False
    return True


def _threads_line(setting: int) -> str:
    from codellama_ls.engine.llama import supports_gpu_offload
    from codellama_ls.engine.threads import choose_threads

    threads, reason = choose_threads(setting)
    line = f"{threads} ({reason})"
    if supports_gpu_offload():
        line += "; with every layer on the GPU they only feed it"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    handlers = {
        "serve": cmd_serve,
        "complete": cmd_complete,
        "models": cmd_models,
        "doctor": cmd_doctor,
        "index": cmd_index,
    }
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        build_parser().print_usage(sys.stderr)
        print(f"codellama-ls: error: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"codellama-ls: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
