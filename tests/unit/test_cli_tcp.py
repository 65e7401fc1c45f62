"""`--tcp`: a loopback address unless the user asks for more in so many words."""

from __future__ import annotations

import pytest

from codellama_ls.cli import UsageError, parse_args, tcp_address


@pytest.mark.parametrize(
    ("value", "expected"),
    [("127.0.0.1:2087", ("127.0.0.1", 2087)), ("localhost:1", ("localhost", 1)), ("[::1]:9", ("::1", 9))],
)
def test_loopback_addresses_are_served(value: str, expected: tuple[str, int]) -> None:
    assert tcp_address(value) == expected


@pytest.mark.parametrize("value", ["0.0.0.0:2087", "192.168.1.5:2087", "example.com:2087", "[::]:2087"])
def test_other_addresses_need_the_explicit_flag(value: str) -> None:
    with pytest.raises(UsageError, match="--tcp-any-host"):
        tcp_address(value)
    assert tcp_address(value, any_host=True)[1] == 2087


@pytest.mark.parametrize("value", ["2087", "host:", ":2087", "host:port"])
def test_a_malformed_address_is_named(value: str) -> None:
    with pytest.raises(UsageError, match="HOST:PORT"):
        tcp_address(value)


def test_the_flag_is_spelled_out_on_the_command_line() -> None:
    args = parse_args(["--tcp", "0.0.0.0:2087", "--tcp-any-host"])
    assert args.command == "serve" and args.tcp_any_host
    assert not parse_args(["--tcp", "127.0.0.1:2087"]).tcp_any_host
