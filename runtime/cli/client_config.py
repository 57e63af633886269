"""Saved client targets: ``client.toml``, daemons the command line can be pointed at by name.

    current = "prod"                      # used when no flag or $SKILLRT_SOCKET names a daemon

    [targets.local]
    socket = "/run/skillrt/skillrt.sock"
    token_file = "/var/lib/skillrt/admin.token"    # read when used; needs the right to read it

    [targets.prod]
    tls = "skillrt.example.com:7443"      # TCP with TLS 1.3
    ca = "prod-ca.pem"                    # the CA that signed the daemon's certificate
    cert = "me.pem"                       # a client certificate and its key (mTLS), optional
    key = "me.key"
    token_file = "prod.token"             # optional with a certificate that names a principal

The file lives in ``$XDG_CONFIG_HOME/skillrt`` (``~/.config/skillrt`` by default), or wherever
``$SKILLRT_CLIENT_CONFIG`` says. Relative paths are relative to the file, ``~`` is the home
folder. A token is never written in it: the file names one (``token_file``), so that the file can
be shared, shown and kept in version control while the secret stays in a file of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import BadRequest
from runtime.util.tomlfields import Table

__all__ = [
    "CLIENT_CONFIG_VARIABLE",
    "TARGET_NAME",
    "ClientConfig",
    "Target",
    "client_config_file",
    "load_client_config",
    "parse_client_config",
]

CLIENT_CONFIG_VARIABLE = "SKILLRT_CLIENT_CONFIG"
# No ':' or '/': a name is never mistaken for an address (unix:PATH, HOST:PORT), and no '.':
# the name is a bare TOML key.
TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    address: str  # unix:PATH, or HOST:PORT spoken with TLS
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    token_file: Path | None = None

    @property
    def uses_tls(self) -> bool:
        return self.ca is not None


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    file: Path
    current: str | None = None
    targets: Mapping[str, Target] = field(default_factory=dict)

    def target(self, name: str) -> Target:
        found = self.targets.get(name)
        if found is None:
            known = ", ".join(self.targets) or "none"
            raise BadRequest(f"no target {name!r} in {self.file} (known: {known})")
        return found

    def current_target(self) -> Target | None:
        return self.targets[self.current] if self.current is not None else None


def client_config_file() -> Path:
    explicit = os.environ.get(CLIENT_CONFIG_VARIABLE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "skillrt" / "client.toml"


def load_client_config(file: Path | None = None) -> ClientConfig:
    """The saved targets; none when the file does not exist."""
    file = file or client_config_file()
    if not file.exists():
        return ClientConfig(file=file)
    return parse_client_config(Table.load(file), file)


def parse_client_config(doc: Table, file: Path) -> ClientConfig:
    base = file.resolve().parent
    tables = doc.table("targets")
    targets = {}
    for name in tables.names():
        if not TARGET_NAME.match(name):
            raise tables.error(name, f"a target name must match {TARGET_NAME.pattern}")
        targets[name] = _target(name, tables.table(name), base)
    tables.finish()
    current = doc.string("current") if doc.has("current") else None
    if current is not None and current not in targets:
        raise doc.error("current", f"names no target in this file ({', '.join(targets) or 'none'})")
    doc.finish()
    return ClientConfig(file=file, current=current, targets=targets)


def _target(name: str, table: Table, base: Path) -> Target:
    if table.has("token"):
        # Read to mark it, never kept: the error must not be "unknown key" but say why.
        table.raw("token")
        raise table.error(
            "token",
            "a token is never written in this file; put it in a file only you can read and "
            "name that file with token_file",
        )
    ways = [key for key in ("socket", "tls") if table.has(key)]
    if len(ways) != 1:
        raise table.error("socket", "give exactly one of socket (a path) or tls (HOST:PORT)")
    path = {key: _path(table, key, base) for key in ("ca", "cert", "key", "token_file")}
    if (path["cert"] is None) != (path["key"] is None):
        raise table.error("cert", "a client certificate needs both cert and key")
    if ways == ["socket"]:
        for key in ("ca", "cert", "key"):
            if path[key] is not None:
                raise table.error(key, "only a tls target uses it")
        address = f"unix:{_path(table, 'socket', base)}"
    else:
        address = table.string("tls")
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise table.error("tls", f"{address!r} is not HOST:PORT")
        if path["ca"] is None:
            raise table.error(
                "ca", "a tls target needs the CA that signed the daemon's certificate"
            )
    table.finish()
    return Target(name=name, address=address, **path)


def _path(table: Table, key: str, base: Path) -> Path | None:
    if not table.has(key):
        return None
    text = table.string(key)
    if not text:
        raise table.error(key, "must not be empty")
    return base / Path(text).expanduser()
