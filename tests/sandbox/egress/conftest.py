"""Egress test fixtures: an origin server on a loopback address of its own (HTTP on port 80,
HTTPS with a self-signed certificate on 443), a launcher whose test-only settings allow exactly
that address and resolve the test names to it, and a runner for the network profile.

No test sends anything anywhere but that loopback address: names that would resolve elsewhere
are either refused before any connection or mapped to it by the test-only resolver.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import secrets
import shutil
import ssl
import tempfile
import textwrap
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runtime.sandbox.egress.policy import EgressSettings, IPAddress, parse_rules
from runtime.sandbox.egress.proxy import AttemptCallback
from runtime.sandbox.egress.session import SANDBOX_SOCKET_DIR
from runtime.sandbox.launcher import Launcher, Sandbox
from runtime.sandbox.nsjail import SandboxSpec
from runtime.sandbox.profiles import Bind, LimitOverrides, ProfileStore, SandboxProfile
from runtime.sandbox.result import SandboxResult

HTTP_PORT = 80
HTTPS_PORT = 443
CA_MOUNT = "/testca"
# Names the test-only resolver maps to the origin's address; the first is in the certificate.
ORIGIN_NAMES = ("example.com", "allowed.test", "blocked.test", "en.wikipedia.org")
PRIVATE_NAME, PRIVATE_ADDRESS = "private.test", "10.20.30.40"
MIXED_NAME, MIXED_PRIVATE = "mixed.test", "192.168.7.7"

PAGE = b"""<!doctype html><html><head><title>Test  page</title>
<style>body { color: red }</style><script>var hidden = 1;</script></head>
<body><h1>Hello, sandbox</h1><p>First paragraph with a <a href="/next">relative link</a>.</p>
<p>Second &amp; last, <a href="https://example.org/x#frag">absolute</a>
<a href="mailto:someone@example.com">mail</a> <a href="/next">again</a>.</p></body></html>"""


@dataclass
class Origin:
    """The test origin: what it serves, and every request it received."""

    address: str
    ca_dir: Path
    seen: list[dict[str, Any]] = field(default_factory=list)

    def requests_for(self, token: str) -> list[dict[str, Any]]:
        return [r for r in self.seen if token in r["path"]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding") != "chunked":
            self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            return
        body = b""
        while size := int(self.rfile.readline().split(b";")[0], 16):
            body += self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline() != b"\r\n":  # trailers
            pass
        self._serve(body)

    def _serve(self, body: bytes) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.origin.seen.append(
            {"method": self.command, "path": self.path, "host": self.headers.get("Host")}
        )
        if url.path == "/echo":
            info = {
                "method": self.command,
                "path": self.path,
                "host": self.headers.get("Host"),
                "headers": sorted(self.headers.keys()),
                "body": body.decode("utf-8", "replace"),
            }
            self._reply(200, "application/json", json.dumps(info).encode())
        elif url.path == "/page":
            self._reply(200, "text/html; charset=utf-8", PAGE)
        elif url.path == "/bytes":
            self._reply(200, "text/plain", b"x" * int(query["n"]))
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/image":
            self._reply(200, "image/png", b"\x89PNG\r\n\x1a\n")
        else:
            self._reply(404, "text/plain", b"not found")

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], origin: Origin) -> None:
        super().__init__(address, _Handler)
        self.origin = origin


def _self_signed(folder: Path, address: str) -> ssl.SSLContext:
    """A certificate for the origin's names, signed by its own key; the sandbox trusts it only
    when a test hands it the file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ORIGIN_NAMES[0])])
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in ORIGIN_NAMES]
    names.append(x509.IPAddress(ipaddress.ip_address(address)))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture(scope="session")
def origin() -> Iterator[Origin]:
    """HTTP on port 80 and HTTPS on 443 of a random 127.x.y.z, for the whole session."""
    address = ".".join(["127", *(str(secrets.randbelow(250) + 2) for _ in range(3))])
    folder = Path(tempfile.mkdtemp(prefix="skillrt-origin-"))
    folder.chmod(0o755)
    found = Origin(address=address, ca_dir=folder)
    plain = _Server((address, HTTP_PORT), found)
    tls = _Server((address, HTTPS_PORT), found)
    # The handshake happens on the first read, in the request's thread, so that a client that
    # gives up on the certificate cannot stall the accepting thread.
    tls.socket = _self_signed(folder, address).wrap_socket(
        tls.socket, server_side=True, do_handshake_on_connect=False
    )
    for server in (plain, tls):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield found
    finally:
        for server in (plain, tls):
            server.shutdown()
            server.server_close()
        shutil.rmtree(folder, ignore_errors=True)


def origin_settings(origin: Origin, *, allow: bool = True) -> EgressSettings:
    """The test-only settings: the origin's names resolve to it, which is allowed if ``allow``."""
    address: IPAddress = ipaddress.ip_address(origin.address)
    hosts = [(name, (address,)) for name in ORIGIN_NAMES]
    hosts.append((PRIVATE_NAME, (ipaddress.ip_address(PRIVATE_ADDRESS),)))
    hosts.append((MIXED_NAME, (address, ipaddress.ip_address(MIXED_PRIVATE))))
    return EgressSettings(
        test_allow=frozenset({address}) if allow else frozenset(), test_hosts=tuple(hosts)
    )


@pytest.fixture
def egress_launcher(launcher: Launcher, origin: Origin) -> Launcher:
    return Launcher(
        cgroups=launcher.cgroups, nsjail=launcher.nsjail, egress=origin_settings(origin)
    )


@pytest.fixture
def network_profile(profiles: ProfileStore) -> SandboxProfile:
    return profiles.get("network")


# Helpers available to the code the tests run inside the sandbox.
PRELUDE = """\
import errno, json, socket, ssl, urllib.error, urllib.request

def get(url, data=None, cafile=None):
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    try:
        with urllib.request.urlopen(url, data=data, timeout=10, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()

def raw(data):
    with socket.create_connection(("127.0.0.1", 3128), timeout=10) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)

def errno_name(exc):
    return errno.errorcode.get(exc.errno, exc.errno)
"""


class NetJail:
    """Runs Python code in a network-profile sandbox whose allowlist is ``allow``."""

    def __init__(self, launcher: Launcher, profile: SandboxProfile, origin: Origin) -> None:
        self.launcher = launcher
        self.profile = profile
        self.origin = origin

    def spec(self, code: str, allow: Sequence[str], **overrides: int) -> SandboxSpec:
        limits = self.profile.limits.tighten(LimitOverrides(**overrides), source="test")
        return SandboxSpec(
            argv=("/usr/bin/python3", "-c", PRELUDE + textwrap.dedent(code)),
            profile=self.profile,
            limits=limits,
            egress=parse_rules(allow),
            binds=(Bind(source=str(self.origin.ca_dir), target=CA_MOUNT),),
        )

    def python(
        self,
        code: str,
        allow: Sequence[str] = (),
        *,
        on_egress: AttemptCallback | None = None,
        **overrides: int,
    ) -> SandboxResult:
        return self.run_spec(self.spec(code, allow, **overrides), on_egress=on_egress)[0]

    def run_spec(
        self, spec: SandboxSpec, *, on_egress: AttemptCallback | None = None
    ) -> tuple[SandboxResult, Sandbox]:
        async def go() -> tuple[SandboxResult, Sandbox]:
            sandbox = await self.launcher.start(spec, on_egress=on_egress)
            return await sandbox.run(b""), sandbox

        return asyncio.run(go())


def live_socket_dir(sandbox: Sandbox) -> str:
    """The proxy socket's host directory under its current name (hidden once the jail has it
    mounted), found, as root may, through the jail's own mount of it."""
    (named,) = [b.source for b in sandbox.spec.binds if b.target == SANDBOX_SOCKET_DIR]
    for pid in sandbox.group.procs():
        try:
            inode = Path(f"/proc/{pid}/root{SANDBOX_SOCKET_DIR}").stat().st_ino
        except OSError:
            continue  # nsjail itself, whose root is the host's
        for directory in Path(named).parent.iterdir():
            if directory.stat().st_ino == inode:
                return str(directory)
    raise AssertionError("the jail's proxy socket directory was not found")


@pytest.fixture
def net(egress_launcher: Launcher, network_profile: SandboxProfile, origin: Origin) -> NetJail:
    return NetJail(egress_launcher, network_profile, origin)
