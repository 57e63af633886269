"""OAuth credentials against a local token endpoint: refresh, scopes, revocation."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import BadRequest, NotAllowed, UpstreamError
from runtime.secrets.oauth import OAuthBroker, OAuthCredential, parse_credential
from runtime.secrets.store import SecretStore

CLIENT_ID = "skillrt-client"
CLIENT_SECRET = "client-secret-5f1e"


@dataclass
class Provider:
    """A small OAuth provider: refresh_token grant with rotation, RFC 7009 revocation."""

    url: str = ""
    refresh_token: str = "refresh-1"
    scope: str = "read write"
    expires_in: int = 3600
    issued: int = 0
    revoked: set[str] = field(default_factory=set)
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)

    def handle(self, path: str, form: dict[str, str], auth: str) -> tuple[int, dict[str, Any]]:
        self.requests.append((path, form, auth))
        if path == "/redirect":
            return 302, {}
        if not self._client_ok(form, auth):
            return 401, {"error": "invalid_client"}
        if path == "/revoke":
            self.revoked.add(form["token"])
            return 200, {}
        token = form.get("refresh_token")
        if form.get("grant_type") != "refresh_token" or token != self.refresh_token:
            return 400, {"error": "invalid_grant"}
        if token in self.revoked:
            return 400, {"error": "invalid_grant", "error_description": f"{token} revoked"}
        self.issued += 1
        self.refresh_token = f"refresh-{self.issued + 1}"
        return 200, {
            "access_token": f"access-{self.issued}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }

    def _client_ok(self, form: dict[str, str], auth: str) -> bool:
        if auth:
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            return auth == f"Basic {expected}"
        return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)

    def credential(self, **changes: Any) -> OAuthCredential:
        data = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": self.refresh_token,
            "token_endpoint": f"{self.url}/token",
            "revocation_endpoint": f"{self.url}/revoke",
            "scopes": ["read", "write"],
            **changes,
        }
        return parse_credential(data)


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            status, body = state.handle(self.path, form, self.headers.get("Authorization", ""))
            data = json.dumps(body).encode()
            self.send_response(status)
            if status == 302:
                self.send_header("Location", f"{state.url}/token")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll so that shutdown() at teardown returns at once.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def broker(store: SecretStore, clock: Clock) -> OAuthBroker:
    return OAuthBroker(store, clock=clock, skew_seconds=60, timeout_seconds=5)


def test_first_use_refreshes_then_caches(
    tmp_path: Path, provider: Provider, broker: OAuthBroker
) -> None:
    """The first access token comes from the endpoint; the next one from the encrypted cache."""
    broker.connect("GITHUB", provider.credential())
    assert broker.access_token("GITHUB") == "access-1"
    assert broker.access_token("GITHUB", ["read"]) == "access-1"
    assert provider.issued == 1
    broker.store.close()
    raw = (tmp_path / "secrets.db").read_bytes()
    for value in (b"access-1", b"refresh-2", CLIENT_SECRET.encode()):
        assert value not in raw


def test_refresh_near_expiry_uses_the_rotated_token(
    provider: Provider, broker: OAuthBroker, clock: Clock
) -> None:
    """Within the skew of expiry a new token is fetched with the refresh token last issued."""
    broker.connect("GITHUB", provider.credential())
    broker.access_token("GITHUB")
    clock.now += 3600 - 59
    assert broker.access_token("GITHUB") == "access-2"
    path, form, _ = provider.requests[-1]
    assert (path, form["grant_type"], form["refresh_token"]) == (
        "/token",
        "refresh_token",
        "refresh-2",
    )


def test_scopes_must_have_been_granted(provider: Provider, broker: OAuthBroker) -> None:
    """Asking for a scope the credential lacks is PERMISSION_DENIED, before any request."""
    broker.connect("GITHUB", provider.credential())
    with pytest.raises(NotAllowed, match="scope admin not granted"):
        broker.access_token("GITHUB", ["read", "admin"])
    assert provider.requests == []


def test_narrowed_grant_is_remembered(provider: Provider, broker: OAuthBroker) -> None:
    """When the provider grants fewer scopes on refresh, the lost ones are refused after."""
    provider.scope = "read"
    broker.connect("GITHUB", provider.credential())
    broker.access_token("GITHUB", ["read"])
    with pytest.raises(NotAllowed, match="scope write not granted"):
        broker.access_token("GITHUB", ["write"])


def test_revoked_credential_stops_working(provider: Provider, broker: OAuthBroker) -> None:
    """revoke stops it here and at the provider; every further use is PERMISSION_DENIED."""
    broker.connect("GITHUB", provider.credential())
    broker.access_token("GITHUB")
    broker.revoke("GITHUB")
    assert provider.revoked == {"refresh-2"}
    with pytest.raises(NotAllowed, match="GITHUB was revoked"):
        broker.access_token("GITHUB")
    with pytest.raises(NotAllowed):
        broker.resolve(["GITHUB"])


def test_refused_refresh_is_permission_denied(provider: Provider, broker: OAuthBroker) -> None:
    """A refresh token the provider no longer accepts is named by its error code only."""
    broker.connect("GITHUB", provider.credential())
    provider.revoked.add("refresh-1")
    with pytest.raises(NotAllowed, match=r"refused the credential \(invalid_grant\)") as exc:
        broker.access_token("GITHUB")
    assert "refresh-1" not in str(exc.value)


def test_resolve_gives_tokens_not_credentials(
    provider: Provider, broker: OAuthBroker, store: SecretStore
) -> None:
    """A skill gets a plain secret's value and an OAuth secret's access token, nothing more."""
    store.set("API_KEY", b"plain-value")
    broker.connect("GITHUB", provider.credential())
    assert broker.resolve(["API_KEY", "GITHUB"]) == {
        "API_KEY": b"plain-value",
        "GITHUB": b"access-1",
    }


def test_client_secret_post(provider: Provider, broker: OAuthBroker) -> None:
    """With client_secret_post the client authenticates in the form instead of a header."""
    broker.connect("GITHUB", provider.credential(auth_method="client_secret_post"))
    assert broker.access_token("GITHUB") == "access-1"
    assert provider.requests[-1][2] == ""


def test_redirects_are_not_followed(provider: Provider, broker: OAuthBroker) -> None:
    """A redirecting token endpoint fails instead of receiving the client's credentials."""
    broker.connect("GITHUB", provider.credential(token_endpoint=f"{provider.url}/redirect"))
    with pytest.raises(UpstreamError, match="HTTP 302"):
        broker.access_token("GITHUB")
    assert [path for path, _, _ in provider.requests] == ["/redirect"]


def test_unreachable_endpoint(broker: OAuthBroker) -> None:
    """A token endpoint nobody listens on is UNAVAILABLE, not a hang."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credential = parse_credential(
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": "r",
            "token_endpoint": f"http://127.0.0.1:{port}/token",
        }
    )
    broker.connect("GITHUB", credential)
    with pytest.raises(UpstreamError, match="unreachable"):
        broker.access_token("GITHUB")


@pytest.mark.parametrize(
    ("endpoint", "ok"),
    [
        ("https://oauth2.example.com/token", True),
        ("http://127.0.0.1:8080/token", True),
        ("http://oauth2.example.com/token", False),
        ("file:///etc/passwd", False),
    ],
)
def test_endpoints_must_be_https_or_loopback(endpoint: str, ok: bool) -> None:
    """The client secret only travels over TLS, or to this host."""
    data = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": "r",
        "token_endpoint": endpoint,
    }
    if ok:
        assert parse_credential(data).token_endpoint == endpoint
    else:
        with pytest.raises(BadRequest, match="must be an https URL"):
            parse_credential(data)


def test_credential_repr_hides_secrets(provider: Provider) -> None:
    """A credential's repr shows the client id and endpoint, not its secrets."""
    shown = repr(provider.credential(access_token="access-xyz"))
    assert CLIENT_ID in shown
    for value in (CLIENT_SECRET, "refresh-1", "access-xyz"):
        assert value not in shown
