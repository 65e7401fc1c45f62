"""Each FIM family through real llama.cpp: the in-process engine, the shared engine's socket, and
llama-server (the `llama-server` and `openai` kinds), with scripted GGUFs of each family."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codellama_ls.completion.pipeline import complete, plan
from codellama_ls.completion.snapshot import Snapshot, snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.documents.positions import PositionEncoding
from codellama_ls.engine.base import Engine, GenerationRequest, Sampling, vocab_of
from codellama_ls.engine.llama import LlamaEngine
from codellama_ls.engine.wire import info_from_wire, info_to_wire
from codellama_ls.settings.config import Settings
from tests.support.gguf_families import SPECS, stored, write_family_gguf
from tests.support.llama_server import LlamaServer, missing_reason

SOURCE = "def add(a, b):\n    "
SETTINGS = Settings(syntax_check=False, token_healing=False, n_ctx=1024)

# Each family's tokens that must end a suggestion, and never show up in it.
STOPS = [
    ("qwen2.5-coder", "<|file_sep|>"),
    ("qwen2.5-coder", "<|endoftext|>"),
    ("qwen2.5-coder", "<|fim_pad|>"),
    ("qwen2.5-coder", "<|repo_name|>"),
    ("starcoder2", "<file_sep>"),
    ("starcoder2", "<|endoftext|>"),
    ("deepseek-coder", "<｜end▁of▁sentence｜>"),
    ("deepseek-coder", "<|EOT|>"),
    ("codegemma", "<|file_separator|>"),
    ("codestral", "</s>"),
    ("codestral", "[MIDDLE]"),
]


def scripted(path: Path, key: str, stop: str) -> Path:
    """A model that answers " return x", then `stop`, then (if it were let go on) " y"."""
    transitions = {stored(key, " return"): stored(key, " x"), stored(key, " x"): stop, stop: stored(key, " y")}
    return write_family_gguf(path, key, transitions=transitions, default_next=stored(key, " return"))


def snapshot(text: str = SOURCE, uri: str = "file:///tmp/add.py") -> Snapshot:
    doc = Document(uri, "python", 1, text, encoding=PositionEncoding.UTF32)
    return snapshot_of(doc, len(text))


@pytest.mark.parametrize(("key", "stop"), STOPS)
def test_a_stop_token_ends_the_suggestion_and_never_reaches_the_editor(tmp_path: Path, key: str, stop: str) -> None:
    engine = LlamaEngine(scripted(tmp_path / "m.gguf", key, stop), n_ctx=1024, n_threads=1)
    try:
        assert engine.info.fim is not None and engine.info.fim.family == key
        result = complete(engine, snapshot(), SETTINGS, lambda: False)
        assert result.text == "return x"
        assert result.stats.stop_reason == "eot"
        pieces = list(engine.generate(GenerationRequest(result.plan.tokens, Sampling(max_tokens=8), lambda: False)))
        assert "".join(pieces).strip() == "return x"
    finally:
        engine.close()


@pytest.mark.parametrize("key", ["qwen2.5-coder", "starcoder2", "deepseek-coder", "codegemma", "codestral"])
def test_typing_on_reuses_the_kv_cache_and_speculation_changes_nothing(tmp_path: Path, key: str) -> None:
    engine = LlamaEngine(scripted(tmp_path / "m.gguf", key, SPECS[key].eos), n_ctx=1024)
    try:
        first = complete(engine, snapshot(), SETTINGS, lambda: False)
        again = complete(engine, snapshot(SOURCE + "x = 1\n    "), SETTINGS, lambda: False)
        assert again.stats.reused_tokens >= len(first.plan.tokens) - 4
        drafted = complete(
            engine, snapshot(SOURCE + "x = 1\n    "), dataclasses.replace(SETTINGS, draft_tokens=4), lambda: False
        )
        assert drafted.text == again.text
    finally:
        engine.close()


def test_stop_tokens_for_families_with_unknown_eos(tmp_path: Path) -> None:
    # StarCoder2's <file_sep> is no end-of-generation token to llama.cpp (its scan knows Qwen's
    # <|file_sep|> only): the family table makes it one.
    engine = LlamaEngine(scripted(tmp_path / "m.gguf", "starcoder2", "<file_sep>"), n_ctx=1024)
    try:
        info = engine.info
        assert info.fim is not None and info.fim.file_sep in info.end_tokens
    finally:
        engine.close()


# -- the shared engine's socket ------------------------------------------------------------------


def test_the_shared_engine_serves_each_family_the_same_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import socket

    from codellama_ls.engine.service import serve
    from codellama_ls.engine.wire import PROTOCOL, encode, recv_message

    model = scripted(tmp_path / "m.gguf", "qwen2.5-coder", "<|file_sep|>")
    local = LlamaEngine(model, n_ctx=1024)
    try:
        expected = complete(local, snapshot(), SETTINGS, lambda: False)
        wire = info_from_wire(json.loads(json.dumps(info_to_wire(local.info))))
        assert wire.fim == local.info.fim and wire.end_tokens == local.info.end_tokens
    finally:
        local.close()
    folder = Path(tempfile.mkdtemp(prefix="cls-", dir="/tmp"))
    path = folder / "engine-test.sock"

    def factory(settings: Settings, progress: Any) -> Engine:
        return LlamaEngine(model, n_ctx=1024)

    thread = threading.Thread(target=asyncio.run, args=(serve(path, Settings(), 1.0, factory),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.01)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.sendall(encode({"op": "hello", "protocol": PROTOCOL, "version": "test", "pid": os.getpid()}))
    hello = recv_message(sock)
    served = hello.get("info")
    if isinstance(served, dict):
        assert info_from_wire(served).fim == wire.fim
    sampling = Sampling(max_tokens=16).__dict__
    sock.sendall(
        encode({"op": "generate", "id": 1, "key": "a.py", "prompt": expected.plan.tokens, "sampling": sampling})
    )
    text = ""
    while True:
        message = recv_message(sock)
        if message.get("id") != 1:
            continue
        if message["op"] == "piece":
            text += message["text"]
        else:
            break
    sock.close()
    assert text.strip() == "return x"
    thread.join(timeout=15)


# -- llama-server --------------------------------------------------------------------------------

needs_server = pytest.mark.skipif(bool(missing_reason()), reason=missing_reason() or "llama-server present")


@pytest.fixture(params=[("qwen2.5-coder", "<|file_sep|>"), ("starcoder2", "<file_sep>"), ("codestral", "</s>")])
def family_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, LlamaServer]]:
    if missing_reason():
        pytest.skip(missing_reason())
    key, stop = request.param
    model = scripted(tmp_path_factory.mktemp("family") / "m.gguf", key, stop)
    with LlamaServer(model, slots=1, n_ctx=1024) as running:
        yield key, model, running


@needs_server
@pytest.mark.parametrize("kind", ["llama-server", "openai"])
def test_remote_engines_send_the_ids_the_local_engine_builds(
    family_server: tuple[str, Path, LlamaServer], kind: str
) -> None:
    from codellama_ls.engine.remote import RemoteEngine
    from codellama_ls.models.presets import load_llama_engine

    _key, model, server = family_server
    settings = dataclasses.replace(SETTINGS, engine=kind, engine_url=server.url, model=str(model))
    remote = load_llama_engine(settings, lambda message, done, total: None)
    assert isinstance(remote, RemoteEngine)
    local = LlamaEngine(model, n_ctx=1024)
    try:
        snap = snapshot()
        local_plan = plan(vocab_of(local), 1024, snap, SETTINGS)
        remote_plan = plan(vocab_of(remote), remote.info.n_ctx, snap, settings)
        assert remote_plan.tokens == local_plan.tokens
        result = complete(remote, snap, settings, lambda: False)
        assert result.text == "return x"
        if kind == "llama-server":
            assert remote.server_prompt_tokens == len(remote_plan.tokens)
    finally:
        local.close()
        remote.close()


# -- complete --show-prompt -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "family", "layout"),
    [
        (
            "qwen2.5-coder",
            "Qwen2.5-Coder",
            "<|fim_prefix|> lines above <|fim_suffix|> suffix <|fim_middle|> cursor line",
        ),
        ("starcoder2", "StarCoder2", "<fim_prefix> lines above <fim_suffix> suffix <fim_middle> cursor line"),
        ("codestral", "Codestral", "[SUFFIX] suffix [PREFIX] prefix (suffix first)"),
    ],
)
def test_show_prompt_names_the_family_and_layout(tmp_path: Path, key: str, family: str, layout: str) -> None:
    from tests.support.lsp_support import server_env

    model = scripted(tmp_path / "m.gguf", key, SPECS[key].eos)
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n    \n")
    run = [sys.executable, "-m", "codellama_ls", "complete", f"{source}:2:5", "--model", str(model), "--show-prompt"]
    shown = subprocess.run([*run, "--json"], capture_output=True, text=True, env=server_env(), timeout=60)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["family"] == family and data["layout"].startswith(layout)
    text = subprocess.run(run, capture_output=True, text=True, env=server_env(), timeout=60)
    assert f"# model: {family}; layout: {layout}" in text.stdout


def test_the_window_body_keeps_a_repository_header(tmp_path: Path) -> None:
    """Cursor moves: the body (KV sequence 1) starts with everything before <SUF>, the repository
    header of the other files included, as it starts with [BOS, PRE] for Code Llama."""
    from codellama_ls.completion.crossfile import OtherDocument
    from codellama_ls.engine.kv_body import lines_end

    engine = LlamaEngine(scripted(tmp_path / "m.gguf", "qwen2.5-coder", "<|file_sep|>"), n_ctx=1024)
    try:
        other = OtherDocument("file:///tmp/shop/cart.py", "def add(cart, item):\n    cart.append(item)\n")
        text = "from cart import add\n\ndef fill(cart):\n    add(cart, 1)\n    "
        doc = Document("file:///tmp/shop/main.py", "python", 1, text, encoding=PositionEncoding.UTF32)
        settings = dataclasses.replace(SETTINGS, fim_format="line")
        result = complete(engine, snapshot_of(doc, len(text), others=[other]), settings, lambda: False)
        fim, tokens = engine.info.fim, result.plan.tokens
        assert fim is not None and tokens[0] == fim.repo_name and result.text == "return x"
        end = lines_end(tokens, fim, engine.info.bos)
        assert end > 0 and tokens[end] == fim.suffix
        assert engine._kv_body.tokens[:end] == tokens[:end]
        assert result.plan.body_tokens(vocab_of(engine))[:end] == tokens[:end]
    finally:
        engine.close()


@needs_server
def test_without_the_gguf_the_server_vocabulary_recognises_the_family(
    family_server: tuple[str, Path, LlamaServer],
) -> None:
    from codellama_ls.engine.http import Endpoint
    from codellama_ls.engine.llama import LlamaVocab
    from codellama_ls.engine.remote import ServerVocab

    _key, model, server = family_server
    local = LlamaVocab(model)
    try:
        served = ServerVocab(Endpoint.parse(server.url, "llama-server", None, "", 5.0), "test")
        assert served.info.fim == local.info.fim
        assert served.info.bos == local.info.bos
        assert served.info.end_tokens <= local.info.end_tokens
    finally:
        local.close()


@pytest.mark.parametrize("key", ["qwen2.5-coder", "deepseek-coder", "starcoder2", "codegemma", "codestral"])
def test_token_healing_in_the_engine_re_spells_a_word_being_typed(tmp_path: Path, key: str) -> None:
    """The prompt ends before " retur"; the first token must spell it again, and " return" does."""
    engine = LlamaEngine(scripted(tmp_path / "m.gguf", key, SPECS[key].eos), n_ctx=1024)
    try:
        settings = dataclasses.replace(SETTINGS, token_healing=True)
        result = complete(engine, snapshot("def add(a, b):\n    retur"), settings, lambda: False)
        assert result.plan.constraint.endswith("retur")
        assert result.text == "n x"
    finally:
        engine.close()
