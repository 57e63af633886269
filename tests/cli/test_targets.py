"""Saved client targets (client.toml) and the credential rules of the command line, where no
daemon is needed: a token is never written in the file, and none is used unless given."""

from __future__ import annotations

import json
import socket
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import psutil
import pytest

from runtime.cli.client_config import client_config_file
from runtime.cli.connect import NO_TOKEN
from runtime.cli.main import main
from tests.cli.test_cli import assert_one_line_error, skillrt


@pytest.fixture
def client_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty place for client.toml, and no credential in the environment."""
    file = tmp_path / "config" / "client.toml"
    monkeypatch.setenv("SKILLRT_CLIENT_CONFIG", str(file))
    for variable in ("SKILLRT_TOKEN", "SKILLRT_TOKEN_FILE", "SKILLRT_SOCKET"):
        monkeypatch.delenv(variable, raising=False)
    return file


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_use_and_list_targets(client_toml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Targets added are listed with the current one marked; `use` moves the mark; the file is
    private and keeps what the operator wrote in it."""
    client_toml.parent.mkdir()
    client_toml.write_text("# my daemons\n")
    code, _, err = _run(capsys, "target", "add", "here", "--socket", "/run/x.sock")
    assert code == 0, err
    add = ["target", "add", "far", "--tls", "skillrt.example.com:7443", "--ca", "ca.pem", "--use"]
    assert _run(capsys, *add)[0] == 0
    listed = json.loads(_run(capsys, "target", "list", "--json")[1])
    assert [(t["name"], t["current"], t["address"]) for t in listed] == [
        ("here", False, "unix:/run/x.sock"),
        ("far", True, "skillrt.example.com:7443"),
    ]
    assert listed[1]["ca"] == str(Path.cwd() / "ca.pem")
    assert _run(capsys, "target", "use", "here") == (0, "current target: here\n", "")
    assert _run(capsys, "target", "list")[1].splitlines()[0].startswith("* here ")
    assert client_toml.read_text().startswith('current = "here"\n# my daemons\n')
    assert client_toml.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('tls = "h:1"\nca = "ca.pem"\ntoken = "skrt_x"\n', "targets.t.token: a token is never"),
        ('tls = "h:1"\n', "targets.t.ca: a tls target needs the CA"),
        ('socket = "/s"\ntls = "h:1"\n', "targets.t.socket: give exactly one"),
        ('socket = "/s"\ncert = "c.pem"\n', "targets.t.cert: a client certificate needs both"),
        ('socket = "/s"\ntoken_fle = "t"\n', "targets.t.token_fle: unknown key"),
    ],
    ids=["inline-token", "no-ca", "two-ways", "half-mtls", "unknown-key"],
)
def test_a_bad_target_names_the_file_and_key(
    client_toml: Path, capsys: pytest.CaptureFixture[str], table: str, named: str
) -> None:
    """A wrong target is one line naming the file and the key, an inline token above all."""
    client_toml.parent.mkdir()
    client_toml.write_text(f"[targets.t]\n{table}")
    code, _, err = _run(capsys, "target", "list")
    assert code == 2
    assert err.startswith(f"skillrt: error: {client_toml}: {named}") and err.count("\n") == 1


def test_current_must_name_a_target(client_toml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A `current` that names no saved target is an error naming the key."""
    client_toml.parent.mkdir()
    client_toml.write_text('current = "gone"\n[targets.here]\nsocket = "/s"\n')
    code, _, err = _run(capsys, "whoami")
    assert code == 2 and f"{client_toml}: current: names no target" in err


def test_an_edit_that_would_break_the_file_is_not_written(
    client_toml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`target add` of a TLS target without its CA is refused and the file stays as it was."""
    assert _run(capsys, "target", "add", "here", "--socket", "/s")[0] == 0
    before = client_toml.read_text()
    code, _, err = _run(capsys, "target", "add", "far", "--tls", "h:7443")
    assert code == 2 and "targets.far.ca: a tls target needs the CA" in err
    assert client_toml.read_text() == before


def test_the_file_lives_in_the_xdg_config_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without $SKILLRT_CLIENT_CONFIG, client.toml is under $XDG_CONFIG_HOME, else ~/.config."""
    monkeypatch.delenv("SKILLRT_CLIENT_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert client_config_file() == tmp_path / "skillrt" / "client.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert client_config_file() == tmp_path / ".config" / "skillrt" / "client.toml"


def test_without_a_token_no_call_is_made(
    client_toml: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token given: one line says how to give one, and nothing is called (an unreachable
    daemon would say so). A readable admin token in the state directory is not used."""
    (tmp_path / "admin.token").write_text("skrt_000000000000_" + "x" * 43)
    monkeypatch.setenv("SKILLRT_STATE_DIR", str(tmp_path))
    proc = skillrt("skills", "--target", "unix:/nonexistent.sock")
    assert_one_line_error(proc, NO_TOKEN)
    assert proc.returncode == 2


def test_tls_client_files_need_the_ca(
    client_toml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client certificate given without the daemon's CA is refused, not ignored."""
    code, _, err = _run(capsys, "skills", "--target", "h:1", "--tls-cert", "c.pem")
    assert code == 2 and "--tls-cert and --tls-key need --tls-ca" in err


class _Recorder(grpc.GenericRpcHandler):  # type: ignore[misc]
    """A gRPC server's view of each call that reaches it: its metadata."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    def service(self, details: Any) -> None:
        self.seen.append(dict(details.invocation_metadata))


def _non_loopback_address() -> str:
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    pytest.skip("this host has no IPv4 address besides loopback")


def test_a_token_never_goes_over_plain_tcp_past_loopback(
    client_toml: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address without TLS that is not this host's loopback is refused before anything is
    sent: whoever listens there, or on the way, would read the bearer token."""
    recorder = _Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), handlers=[recorder])
    port = server.add_insecure_port(f"{_non_loopback_address()}:0")
    server.start()
    try:
        monkeypatch.setenv("SKILLRT_TOKEN", "skrt_000000000000_" + "s" * 43)
        code, _, err = _run(capsys, "skills", "--target", f"{_non_loopback_address()}:{port}")
    finally:
        server.stop(None)
    assert recorder.seen == []
    assert code == 2 and "plain TCP" in err and err.count("\n") == 1


def test_the_admin_token_goes_to_this_hosts_daemon_not_the_current_target(
    client_toml: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--admin-token` is the local daemon's own token: with a saved target current (another
    daemon), it is not sent there but to this host's socket."""
    recorder = _Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), handlers=[recorder])
    elsewhere = tmp_path / "elsewhere.sock"
    server.add_insecure_port(f"unix:{elsewhere}")
    server.start()
    client_toml.parent.mkdir()
    client_toml.write_text(f'current = "far"\n[targets.far]\nsocket = "{elsewhere}"\n')
    admin = "skrt_000000000000_" + "a" * 43
    (tmp_path / "admin.token").write_text(admin)
    monkeypatch.setenv("SKILLRT_STATE_DIR", str(tmp_path))
    try:
        code, _, err = _run(capsys, "skills", "--admin-token")
    finally:
        server.stop(None)
    assert recorder.seen == []
    assert code == 1 and err.count("\n") == 1  # this host's socket: no daemon, or not this token
