"""OAuth 2.0 credentials kept as secrets; skills only ever get short-lived access tokens.

A credential (client id and secret, refresh token, token endpoint, granted scopes, the cached
access token and its expiry) is stored encrypted as a secret of kind ``oauth``. ``access_token``
refreshes it through the token endpoint (RFC 6749 refresh_token grant) when it is about to
expire, stores what comes back, and returns the access token alone. ``revoke`` stops it here at
once and, if the provider has a revocation endpoint (RFC 7009), there too.

The refresh is blocking (urllib); the daemon calls it off its event loop.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from runtime.errors import BadRequest, NotAllowed, UpstreamError
from runtime.secrets.store import Kind, SecretStore

__all__ = ["AUTH_METHODS", "OAuthBroker", "OAuthCredential", "credential_json", "parse_credential"]

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
# A token response is a few hundred bytes; anything much larger is not one.
_MAX_RESPONSE_BYTES = 1 << 20
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, kw_only=True)
class OAuthCredential:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_endpoint: str
    scopes: tuple[str, ...]
    revocation_endpoint: str | None = None
    auth_method: str = "client_secret_basic"
    access_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # epoch seconds; None: unknown, so never trusted


def parse_credential(data: bytes | str | Mapping[str, Any]) -> OAuthCredential:
    """A credential from its JSON form; errors name the field, never a value."""
    if isinstance(data, Mapping):
        raw: Any = data
    else:
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise BadRequest("oauth credential: not valid JSON") from exc
    if not isinstance(raw, dict):
        raise BadRequest("oauth credential: expected a JSON object")
    known = {f.name for f in fields(OAuthCredential)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise BadRequest(f"oauth credential: unknown field {unknown[0]!r}")
    for name in ("client_id", "client_secret", "refresh_token", "token_endpoint"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise BadRequest(f"oauth credential: {name} missing or not a string")
    scopes = raw.get("scopes", [])
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        raise BadRequest("oauth credential: scopes must be a list of strings")
    auth_method = raw.get("auth_method", "client_secret_basic")
    if auth_method not in AUTH_METHODS:
        raise BadRequest(f"oauth credential: auth_method must be one of {AUTH_METHODS}")
    access_token = raw.get("access_token")
    expires_at = raw.get("expires_at")
    revocation = raw.get("revocation_endpoint")
    if access_token is not None and not isinstance(access_token, str):
        raise BadRequest("oauth credential: access_token must be a string")
    if expires_at is not None and not isinstance(expires_at, int | float):
        raise BadRequest("oauth credential: expires_at must be a number (epoch seconds)")
    if revocation is not None and not isinstance(revocation, str):
        raise BadRequest("oauth credential: revocation_endpoint must be a string")
    credential = OAuthCredential(
        client_id=raw["client_id"],
        client_secret=raw["client_secret"],
        refresh_token=raw["refresh_token"],
        token_endpoint=raw["token_endpoint"],
        scopes=tuple(scopes),
        revocation_endpoint=revocation,
        auth_method=auth_method,
        access_token=access_token,
        expires_at=float(expires_at) if expires_at is not None else None,
    )
    for endpoint in (credential.token_endpoint, credential.revocation_endpoint):
        if endpoint is not None:
            _check_endpoint(endpoint)
    return credential


def credential_json(credential: OAuthCredential) -> bytes:
    data = {
        "client_id": credential.client_id,
        "client_secret": credential.client_secret,
        "refresh_token": credential.refresh_token,
        "token_endpoint": credential.token_endpoint,
        "scopes": list(credential.scopes),
        "revocation_endpoint": credential.revocation_endpoint,
        "auth_method": credential.auth_method,
        "access_token": credential.access_token,
        "expires_at": credential.expires_at,
    }
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def _check_endpoint(url: str) -> None:
    """https, or plain http to this host only: the client secret travels with every refresh."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise BadRequest(f"oauth credential: {url!r} must be an https URL (http only to loopback)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the client's credentials to wherever it points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class OAuthBroker:
    """Mints access tokens from OAuth credentials in a ``SecretStore``."""

    def __init__(
        self,
        store: SecretStore,
        *,
        clock: Callable[[], float] = time.time,
        skew_seconds: float = 60.0,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.skew_seconds = skew_seconds
        self.timeout_seconds = timeout_seconds
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def connect(self, name: str, credential: OAuthCredential) -> None:
        """Store ``credential`` under ``name`` (replacing and un-revoking any earlier one)."""
        self.store.set(name, credential_json(credential), kind=Kind.OAUTH)

    def access_token(self, name: str, scopes: Iterable[str] = ()) -> str:
        """A valid access token of ``name``; ``scopes`` must all have been granted."""
        with self._lock(name):
            credential = self._load(name)
            missing = sorted(set(scopes) - set(credential.scopes))
            if missing:
                raise NotAllowed(
                    f"secret {name}: scope {', '.join(missing)} not granted "
                    f"(granted: {' '.join(credential.scopes) or 'none'})"
                )
            now = self.clock()
            expires_at = credential.expires_at
            if credential.access_token and expires_at and expires_at - self.skew_seconds > now:
                return credential.access_token
            return self._refresh(name, credential, now)

    def revoke(self, name: str, *, remote: bool = True) -> None:
        """Stop ``name`` here at once; then ask the provider to revoke its refresh token."""
        with self._lock(name):
            credential = self._load(name)
            self.store.revoke(name)
            if not remote or credential.revocation_endpoint is None:
                return
            form = {"token": credential.refresh_token, "token_type_hint": "refresh_token"}
            try:
                self._post(name, credential.revocation_endpoint, form, credential)
            except (UpstreamError, NotAllowed) as exc:
                raise UpstreamError(
                    f"secret {name} is revoked here, but the provider's revocation failed: {exc}"
                ) from exc

    def resolve(self, names: Iterable[str]) -> dict[str, bytes]:
        """What each named secret gives a skill: its value, or a fresh access token."""
        resolved: dict[str, bytes] = {}
        for name in names:
            if self.store.kind(name) is Kind.OAUTH:
                resolved[name] = self.access_token(name).encode()
            else:
                resolved[name] = self.store.get(name)
        return resolved

    def _lock(self, name: str) -> threading.Lock:
        # One refresh at a time per credential: with refresh-token rotation, two concurrent
        # refreshes would invalidate each other.
        with self._locks_lock:
            return self._locks.setdefault(name, threading.Lock())

    def _load(self, name: str) -> OAuthCredential:
        if self.store.kind(name) is not Kind.OAUTH:
            raise BadRequest(f"secret {name} is not an OAuth credential")
        return parse_credential(self.store.get(name))

    def _refresh(self, name: str, credential: OAuthCredential, now: float) -> str:
        form = {"grant_type": "refresh_token", "refresh_token": credential.refresh_token}
        response = self._post(name, credential.token_endpoint, form, credential)
        access_token = response.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise UpstreamError(f"secret {name}: the token endpoint returned no access_token")
        expires_in = response.get("expires_in")
        if isinstance(expires_in, str) and expires_in.isdigit():
            expires_in = int(expires_in)
        if not isinstance(expires_in, int) or isinstance(expires_in, bool):
            expires_in = None
        refresh_token = response.get("refresh_token")
        if not isinstance(refresh_token, str):
            refresh_token = None  # kept unless the provider rotates it
        scope = response.get("scope")
        refreshed = replace(
            credential,
            access_token=access_token,
            expires_at=now + expires_in if expires_in is not None else None,
            refresh_token=refresh_token or credential.refresh_token,
            # The provider may grant less than before; RFC 6749 5.1: no scope means unchanged.
            scopes=tuple(scope.split()) if isinstance(scope, str) else credential.scopes,
        )
        self.store.replace(name, credential_json(refreshed))
        return access_token

    def _post(
        self, name: str, url: str, form: dict[str, str], credential: OAuthCredential
    ) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        if credential.auth_method == "client_secret_basic":
            # RFC 6749 2.3.1: id and secret are form-encoded before being joined.
            pair = ":".join(
                urllib.parse.quote_plus(v) for v in (credential.client_id, credential.client_secret)
            )
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form = {
                **form,
                "client_id": credential.client_id,
                "client_secret": credential.client_secret,
            }
        request = urllib.request.Request(
            url, data=urllib.parse.urlencode(form).encode(), headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as reply:
                status, body = reply.status, reply.read(_MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read(_MAX_RESPONSE_BYTES)
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UpstreamError(f"secret {name}: {url} unreachable: {reason}") from exc
        return _reply(name, url, status, body)


def _reply(name: str, url: str, status: int, body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    if 200 <= status < 300:
        return data
    # Only the error code is shown: a description may echo what was sent.
    code = data.get("error")
    error = code if isinstance(code, str) and _ERROR_CODE.match(code) else f"HTTP {status}"
    if status in (400, 401):
        raise NotAllowed(f"secret {name}: {url} refused the credential ({error}); connect it again")
    raise UpstreamError(f"secret {name}: {url} failed ({error})")
