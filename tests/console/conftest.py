"""A real daemon serving the web console, and a small cookie-keeping HTTP client for it."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import pytest

from runtime.client import Client
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from runtime.util import paths
from tests.api.conftest import Daemon, cleanup, make_daemon

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def json(self) -> dict[str, object]:
        found: dict[str, object] = json.loads(self.body)
        return found


@dataclass
class Browser:
    """Just enough of a browser: it keeps cookies and sends what a form would."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[str] = field(default_factory=list)  # every Set-Cookie seen, raw

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Answer:
        connection: http.client.HTTPConnection = (
            http.client.HTTPSConnection(self.host, self.port, context=self.tls, timeout=30)
            if self.tls is not None
            else http.client.HTTPConnection(self.host, self.port, timeout=30)
        )
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body.encode(), headers=sent)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for raw in response.headers.get_all("Set-Cookie") or ():
            self.set_cookies.append(raw)
            for name, morsel in SimpleCookie(raw).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Answer(response.status, response.headers, text)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> Answer:
        return self.request(
            "POST",
            path,
            urllib.parse.urlencode(form),
            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )

    def sign_in(self, **form: str) -> Answer:
        """Load the sign-in page and send its form with ``form`` filled in."""
        page = self.get("/login")
        token = csrf_of(page.body)
        return self.post("/login", {"csrf": token, "next": "", **form})

    def csrf(self, path: str = "/approvals") -> str:
        return csrf_of(self.get(path).body)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html[:2000]
    return found.group(1)


@dataclass
class ConsoleDaemon:
    daemon: Daemon
    port: int

    def browser(self) -> Browser:
        return Browser("127.0.0.1", self.port)

    def cli(
        self, *args: str, token: str | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """The real command line, as an operator with ``token`` (the owner's by default)."""
        env = {**os.environ, "SKILLRT_TOKEN": token or self.daemon.owner_token}
        return subprocess.run(
            [sys.executable, "-m", "runtime.cli.main", *args, "--target", self.daemon.target],
            cwd=paths.PROJECT_ROOT,
            capture_output=True,
            text=True,
            input=stdin,
            env=env,
            check=False,
        )

    def add_account(self, name: str, role: str) -> str:
        """A new console account; returns the password the daemon made for it."""
        made = self.cli("console", "add", name, "--role", role)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    def invoke(self, token: str, payload: object, *, wait: bool = False) -> pb.Invocation:
        """The agent's call of the gated tool (with ``wait``, until it is decided and run)."""
        with Client(self.daemon.target, token=token) as client:
            return client.invoke("gated", "echo", payload, wait_for_approval=wait, timeout=120)

    def token(self, name: str, role: str) -> str:
        made = self.cli("token", "create", "--name", name, "--role", role)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    def audit(self, event: str) -> list[dict[str, object]]:
        shown = self.daemon.cli(
            "audit", "tail", "-n", "1000", "--json", "--state-dir", str(self.daemon.state_dir)
        )
        entries = [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]
        return [e for e in entries if e["event"] == event]


# A skill whose one tool needs a person's approval before it runs; it answers its input.
_GATED_MD = "---\nname: gated\ndescription: A tool that waits for approval.\n---\n# gated\n"
_GATED_TOML = """version = "2.5.0"
profile = "default"

[[tools]]
name = "echo"
elevated = true
entrypoint = ["/usr/bin/python3", "/skill/echo.py"]
input_schema = { type = "object" }
"""
_GATED_CODE = "import json, sys\nprint(json.dumps({'echo': json.load(sys.stdin)}))\n"


def add_gated_skill(daemon: Daemon) -> None:
    folder = daemon.catalog / "gated"
    folder.mkdir()
    (folder / "SKILL.md").write_text(_GATED_MD)
    (folder / "skill.toml").write_text(_GATED_TOML)
    (folder / "echo.py").write_text(_GATED_CODE)


def start_console_daemon(extra: str = "") -> ConsoleDaemon:
    daemon = make_daemon()
    add_gated_skill(daemon)
    port = free_port()
    config = daemon.root / "skillrt.toml"
    config.write_text(f'[console]\nenabled = true\nlisten = "127.0.0.1:{port}"\n{extra}')
    try:
        daemon.start("--config", str(config))
    except BaseException:
        cleanup(daemon)
        raise
    return ConsoleDaemon(daemon=daemon, port=port)


@pytest.fixture(scope="session")
def console() -> Iterator[ConsoleDaemon]:
    """One daemon for the console's tests, serving it on loopback (plain HTTP); three failed
    sign-ins lock a guesser out. Tests name their own accounts and tokens."""
    served = start_console_daemon("[auth]\nmax_failures = 3\n")
    yield served
    cleanup(served.daemon)
