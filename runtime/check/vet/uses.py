"""What a skill's files reach for: environment variables, hosts and paths, found in text.

The Python and shell readers (``python_uses``, ``shell_uses``) find where a file reads a
variable or writes a string; this module says which strings are hosts (the host of a URL) and
which are paths (absolute, or under a home directory), and which paths hold credentials.
Those locations are data, in one table, so that adding one is one line.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import StrEnum

import re2

from runtime.sandbox.egress.policy import authority, normalize_host

__all__ = [
    "Use",
    "UseKind",
    "credential_location",
    "hosts_in",
    "is_secret_name",
    "paths_in",
]


class UseKind(StrEnum):
    ENV = "env"  # value: the variable's name
    HOST = "host"  # value: host, or host:port when the port is known
    PATH = "path"  # value: the path as written


@dataclass(frozen=True, kw_only=True)
class Use:
    kind: UseKind
    value: str
    file: str
    line: int
    command: bool = True  # False: only mentioned in prose (SKILL.md text outside commands)


# Where credentials are kept: a home directory's (written from ~) and the system's.
_CREDENTIALS = (
    *("~/.ssh", "~/.aws", "~/.gnupg", "~/.netrc", "~/.git-credentials", "~/.pgpass"),
    *("~/.docker/config.json", "~/.kube", "~/.config/gcloud", "~/.azure", "~/.npmrc"),
    *("~/.pypirc", "~/.password-store", "~/.local/share/keyrings", "~/.config/gh"),
    *("~/.bash_history", "~/.zsh_history", "~/.mozilla", "~/.config/google-chrome"),
    *("~/Library/Keychains", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh"),
    *("/root", "/var/run/secrets", "/run/secrets", "/proc/self/environ", "/proc/1/environ"),
)
# File names that are credentials wherever they are.
_CREDENTIAL_NAMES = frozenset(
    {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".netrc", ".pgpass", ".git-credentials"}
)
# The first component of an absolute path that names a real place (a URL's path, such as
# "/wiki/Main_Page", is not one).
_TOP_LEVEL = frozenset(
    {
        *("bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "media", "mnt", "opt"),
        *("proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var", "skill", "workspace"),
        *("Users", "Library", "System", "Volumes", "private"),
    }
)
# Regular expressions over a skill's text are RE2's: linear in the text, whatever it holds.
_HOME = re2.compile(r"^(~[A-Za-z0-9._-]*|\$HOME|\$\{HOME\}|/home/[^/]+|/Users/[^/]+)(/|$)")
_PATHLIKE = re2.compile(r"^(~|\$HOME|\$\{HOME\}|/)[^\s]*$")
# scheme://host[:port]; the schemes whose default port is known (others need one written).
_URL = re2.compile(
    r"\b([A-Za-z][A-Za-z0-9+.-]*)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?"
)
_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ssh": 22, "git": 9418}
_LOCAL_SCHEMES = frozenset({"file", "data", "about", "javascript", "mailto"})
_SECRET_NAME = re2.compile(
    r"KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH|PRIVATE|COOKIE|SESSION|BEARER|WEBHOOK|SIGNING|DSN"
    r"|DATABASE_URL|(^|_)PAT($|_)"
)
_TRIM = "'\"`,;:()[]{}<>|&"


def hosts_in(text: str) -> list[str]:
    """The hosts of the URLs in ``text``: ``host:port``, the port the scheme's when unwritten
    (``host`` alone when the scheme has none); invalid host names are skipped."""
    found = []
    for match in _URL.finditer(text):
        scheme, host, port = match.group(1).lower(), match.group(2), match.group(3)
        if scheme in _LOCAL_SCHEMES:
            continue
        try:
            host = normalize_host(host)
        except ValueError:
            continue
        if "." not in host and ":" not in host and host != "localhost":
            continue  # a placeholder such as https://HOST, or a scheme-like word
        number = int(port) if port else _PORTS.get(scheme)
        found.append(host if number is None else authority(host, number))
    return found


def paths_in(text: str) -> list[str]:
    """The words of ``text`` that are paths of a real place: absolute ones under a top-level
    folder, and those under a home directory (``~``, ``$HOME``); ``file://`` URLs too."""
    found = []
    for raw in text.replace("file://", " ").split():
        for word in (raw, *raw.split("=", 1)[1:]):  # --config=/etc/x, if=/dev/sda
            word = word.strip(_TRIM)
            if _PATHLIKE.match(word) and _is_place(word):
                found.append(word)
    return found


def credential_location(path: str) -> str | None:
    """The credential location ``path`` is in or names (``~/.ssh``, ``/etc/shadow``, ...), or
    None. A bare credential file name (``id_rsa``) or home-relative folder (``.aws``) counts:
    code joins them to a home directory it found elsewhere."""
    written = _HOME.sub(r"~\2", path.strip(_TRIM))
    absolute = posixpath.normpath(written) if written.startswith(("/", "~")) else ""
    for location in _CREDENTIALS:
        if absolute and (absolute == location or absolute.startswith(location + "/")):
            return location
        relative = location.removeprefix("~/")
        if relative != location:
            bare = written.removeprefix("./").lstrip("/")  # "/.aws" of f"{home}/.aws"
            if bare == relative or bare.startswith(relative + "/"):
                return location
    name = posixpath.basename(written.rstrip("/"))
    return f"a file named {name}" if name in _CREDENTIAL_NAMES else None


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret (API_KEY, GH_TOKEN)."""
    return bool(_SECRET_NAME.search(name.upper()))


def _is_place(word: str) -> bool:
    if word.startswith(("~", "$")):
        return True
    first = word.lstrip("/").split("/", 1)[0]
    return first in _TOP_LEVEL
