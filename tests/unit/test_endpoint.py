"""The shared engine's endpoint, the pure parts: which transport, the secrets' file, constant-time checks."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from codellama_ls.engine.endpoint import (
    Secrets,
    choose_transport,
    endpoint_in,
    read_secrets,
    same_secret,
    write_private,
)


@pytest.mark.parametrize(
    ("setting", "platform", "expected"),
    [
        ("auto", "linux", "unix"),
        ("auto", "darwin", "unix"),
        ("auto", "win32", "tcp"),
        ("tcp", "linux", "tcp"),
        ("unix", "linux", "unix"),
        ("tcp", "win32", "tcp"),
    ],
)
def test_the_transport_for_each_setting_and_system(setting: str, platform: str, expected: str) -> None:
    assert choose_transport(setting, platform) == expected


def test_each_transport_has_its_own_files(tmp_path: Path) -> None:
    unix, tcp = endpoint_in(tmp_path, "engine-ab", "unix"), endpoint_in(tmp_path, "engine-ab", "tcp")
    assert (unix.path.name, unix.lock.name, unix.log.name) == ("engine-ab.sock", "engine-ab.lock", "engine-ab.log")
    assert (tcp.path.name, tcp.lock.name, tcp.log.name) == (
        "engine-ab-tcp.json",
        "engine-ab-tcp.lock",
        "engine-ab-tcp.log",
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [("abc", True), ("abd", False), ("ab", False), ("", False), (None, False), (123, False), (["abc"], False)],
)
def test_a_secret_matches_only_the_same_string(given: Any, expected: bool) -> None:
    assert same_secret(given, "abc") is expected


def test_fresh_secrets_are_random_and_written_private(tmp_path: Path) -> None:
    first, second = Secrets.fresh(4242), Secrets.fresh(4242)
    assert first.token != second.token and first.token != first.answer
    path = tmp_path / "engine-tcp.json"
    write_private(path, json.dumps(first.__dict__))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_secrets(path) == first
    write_private(path, json.dumps(second.__dict__))  # replaced whole, never half written
    assert read_secrets(path) == second
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"port": 0, "token": "a", "answer": "b"}',
        '{"port": 70000, "token": "a", "answer": "b"}',
        '{"port": "80", "token": "a", "answer": "b"}',
        '{"port": 80, "answer": "b"}',
        '{"port": 80, "token": 5, "answer": "b"}',
    ],
)
def test_a_malformed_secrets_file_is_no_engine(tmp_path: Path, text: str) -> None:
    path = tmp_path / "engine-tcp.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        read_secrets(path)
