"""TCP means TLS 1.3: older clients are refused, and client certificates can name principals."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from runtime.auth.certs import make_test_pki
from runtime.cli.main import main
from runtime.client import Tls
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.proto.skillrt.v1 import skillrt_pb2_grpc as pb_grpc
from runtime.util import paths
from tests.api.conftest import BearerToken, Daemon, cleanup, make_daemon
from tests.auth.as_user import calls_as


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def tls_daemon() -> Iterator[tuple[Daemon, str, Path]]:
    daemon = make_daemon()
    pki = daemon.root / "pki"
    make_test_pki(pki, clients=("agent-1", "stranger"))
    address = f"127.0.0.1:{free_port()}"
    config = daemon.root / "skillrt.toml"
    config.write_text(
        f'[server]\ntcp = "{address}"\n\n'
        '[tls]\ncert = "pki/server.pem"\nkey = "pki/server.key"\nclient_ca = "pki/ca.pem"\n\n'
        '[tls.client_roles]\n"agent-1" = "agent"\n'
    )
    daemon.start("--config", str(config))
    yield daemon, address, pki
    cleanup(daemon)


def whoami(address: str, tls: Tls, token: str | None = None) -> pb.Principal:
    channel = grpc.secure_channel(address, tls.credentials())
    if token:
        channel = grpc.intercept_channel(channel, BearerToken(token))
    with channel:
        stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
        principal: pb.Principal = stub.Whoami(pb.WhoamiRequest(), timeout=10)
        return principal


def test_tls_client_with_token(tls_daemon: tuple[Daemon, str, Path]) -> None:
    """A gRPC client over TLS with a bearer token is served."""
    daemon, address, pki = tls_daemon
    principal = whoami(address, Tls(ca=pki / "ca.pem"), daemon.owner_token)
    assert (principal.name, principal.authenticated_by) == ("owner", "token")


def test_tls_12_client_is_refused(tls_daemon: tuple[Daemon, str, Path]) -> None:
    """A client that offers at most TLS 1.2 fails the handshake."""
    _, address, pki = tls_daemon
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    host, port = address.rsplit(":", 1)
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="localhost")


def test_tls_13_handshake_succeeds(tls_daemon: tuple[Daemon, str, Path]) -> None:
    """A TLS 1.3 client completes the handshake and negotiates TLS 1.3."""
    _, address, pki = tls_daemon
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    host, port = address.rsplit(":", 1)
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() == "TLSv1.3"


def test_plaintext_to_tls_port_fails(tls_daemon: tuple[Daemon, str, Path]) -> None:
    """A client that skips TLS gets nowhere."""
    daemon, address, _ = tls_daemon
    channel = grpc.intercept_channel(
        grpc.insecure_channel(address), BearerToken(daemon.owner_token)
    )
    with channel, pytest.raises(grpc.RpcError) as info:
        pb_grpc.AdminStub(channel).Whoami(pb.WhoamiRequest(), timeout=5)  # type: ignore[no-untyped-call]
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_certificate_maps_to_principal(tls_daemon: tuple[Daemon, str, Path]) -> None:
    """A verified client certificate whose name is configured authenticates without a token."""
    _, address, pki = tls_daemon
    tls = Tls(ca=pki / "ca.pem", cert=pki / "agent-1.pem", key=pki / "agent-1.key")
    principal = whoami(address, tls)
    assert (principal.name, principal.role, principal.authenticated_by) == (
        "cert:agent-1",
        "agent",
        "certificate",
    )


def test_unmapped_certificate_needs_a_token(tls_daemon: tuple[Daemon, str, Path]) -> None:
    """A valid certificate with no configured role is not a principal by itself."""
    _, address, pki = tls_daemon
    tls = Tls(ca=pki / "ca.pem", cert=pki / "stranger.pem", key=pki / "stranger.key")
    with pytest.raises(grpc.RpcError) as info:
        whoami(address, tls)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_start_line_names_the_tcp_address(tls_daemon: tuple[Daemon, str, Path]) -> None:
    """The daemon's one start-up line names its TCP address and how it is secured."""
    daemon, address, _ = tls_daemon
    line = f"skillrt: listening on unix:{daemon.socket} and tcp {address} (TLS 1.3, client "
    assert line + "certificates accepted)\n" in daemon.logs()


def test_a_saved_mtls_target_sends_no_token(
    tls_daemon: tuple[Daemon, str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Through a saved target with a client certificate and no token, the command line sends no
    token and the certificate names the caller; a token given explicitly still wins."""
    daemon, address, pki = tls_daemon
    monkeypatch.setenv("SKILLRT_CLIENT_CONFIG", str(tmp_path / "client.toml"))
    monkeypatch.delenv("SKILLRT_TOKEN_FILE", raising=False)
    monkeypatch.delenv("SKILLRT_TOKEN", raising=False)
    files = ["--ca", str(pki / "ca.pem"), "--cert", str(pki / "agent-1.pem")]
    assert (
        main(["target", "add", "a1", "--tls", address, *files, "--key", str(pki / "agent-1.key")])
        == 0
    )
    capsys.readouterr()
    assert main(["--target", "a1", "whoami"]) == 0
    assert capsys.readouterr().out == f"cert:agent-1 (role agent, by certificate) at {address}\n"
    monkeypatch.setenv("SKILLRT_TOKEN", daemon.owner_token)
    assert main(["--target", "a1", "whoami"]) == 0
    assert capsys.readouterr().out.startswith("owner (role owner, by token)")


def test_certs_prints_a_configuration_that_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`skillrt certs` says what to put in the daemon's file, and that passes `config check`;
    then how each client saves its target."""
    assert main(["certs", "--out", str(tmp_path / "pki"), "--client", "agent-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("next, in the daemon's"))
    end = next(i for i, line in enumerate(lines) if line.startswith("then on each client"))
    config = tmp_path / "skillrt.toml"
    config.write_text("\n".join(line.removeprefix("  ") for line in lines[start + 1 : end]))
    assert main(["config", "check", str(config)]) == 0
    assert (
        "tcp        0.0.0.0:7443 (TLS 1.3, client certificates accepted)" in capsys.readouterr().out
    )
    assert lines[end + 1].startswith("  skillrt target add agent-1 --tls localhost:7443 --ca ")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tcp", "127.0.0.1:7001"], "TCP needs [tls] cert and key"),
        (["--tcp", "nowhere"], "is not host:port"),
        (["--tcp", "0.0.0.0:7001", "--insecure-tcp"], "insecure TCP is allowed on loopback only"),
    ],
)
def test_tcp_without_tls_is_refused(flags: list[str], message: str, tmp_path: Path) -> None:
    """Listening on TCP without TLS is a one-line configuration error."""
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", "serve", "--state-dir", str(tmp_path), *flags],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert message in proc.stderr and proc.stderr.count("\n") == 1


def test_insecure_loopback_tcp_is_loud(tmp_path: Path) -> None:
    """With the explicit flag, plain TCP on loopback serves and the log says INSECURE."""
    daemon = make_daemon()
    try:
        address = f"127.0.0.1:{free_port()}"
        daemon.start("--tcp", address, "--insecure-tcp")
        channel = grpc.intercept_channel(
            grpc.insecure_channel(address), BearerToken(daemon.owner_token)
        )
        with channel:
            stub = pb_grpc.AdminStub(channel)  # type: ignore[no-untyped-call]
            assert stub.Whoami(pb.WhoamiRequest(), timeout=10).name == "owner"
        assert "INSECURE" in daemon.logs()
    finally:
        cleanup(daemon)


def test_anonymous_tls_calls_of_one_user_do_not_lock_out_another(
    tls_daemon: tuple[Daemon, str, Path],
) -> None:
    """Over TLS on loopback, another user's calls without credentials lock out that user only."""
    daemon, address, pki = tls_daemon
    anonymous = [None] * 11  # past the default of 10 failures
    codes = calls_as(65534, address, *anonymous, ca=pki / "ca.pem")
    assert codes == ["UNAUTHENTICATED"] * len(anonymous)
    principal = whoami(address, Tls(ca=pki / "ca.pem"), daemon.owner_token)
    assert principal.name == "owner"


def test_silent_tls_handshakes_never_keep_unix_callers_out(
    tls_daemon: tuple[Daemon, str, Path],
) -> None:
    """Connections to the TLS port that never send a ClientHello hold their slots only until the
    handshake times out, and never count against the Unix socket: the owner is served there
    while they wait."""
    daemon, address, _ = tls_daemon
    host, _, port = address.rpartition(":")
    silent = [socket.create_connection((host, int(port))) for _ in range(100)]
    try:
        with daemon.channel() as channel:
            principal = pb_grpc.AdminStub(channel).Whoami(  # type: ignore[no-untyped-call]
                pb.WhoamiRequest(), timeout=10
            )
    finally:
        for connection in silent:
            connection.close()
    assert principal.name == "owner"


def test_closed_connections_are_let_go(tls_daemon: tuple[Daemon, str, Path]) -> None:
    """Many short calls, each on a connection of its own that the client closes, leave the
    daemon holding none of them: the calls after them are served as before."""
    daemon, _, _ = tls_daemon
    for _ in range(150):  # past any per-caller cap
        with grpc.insecure_channel(daemon.target) as channel, pytest.raises(grpc.RpcError) as info:
            pb_grpc.AdminStub(channel).Whoami(pb.WhoamiRequest(), timeout=10)  # type: ignore[no-untyped-call]
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    with daemon.channel() as channel:
        principal = pb_grpc.AdminStub(channel).Whoami(  # type: ignore[no-untyped-call]
            pb.WhoamiRequest(), timeout=10
        )
    assert principal.name == "owner"
