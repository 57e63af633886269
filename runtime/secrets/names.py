"""What a secret may be called (pure): shared by skill manifests and the secrets store.

A secret reaches its sandbox as an environment variable of the same name, passed through the
environment of the host-side shell and nsjail (both running as root). Names that change how those
programs or the C library behave are therefore refused, whatever the skill inside would do.
"""

from __future__ import annotations

import re

__all__ = ["SECRET_NAME", "check_secret_name"]

SECRET_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_RESERVED = frozenset(
    {
        "CDPATH",
        "ENV",
        "GCONV_PATH",
        "GETCONF_DIR",
        "HOSTALIASES",
        "IFS",
        "LANG",
        "LANGUAGE",
        "LOCALDOMAIN",
        "LOCPATH",
        "NIS_PATH",
        "NLSPATH",
        "PATH",
        "POSIXLY_CORRECT",
        "PS4",
        "RESOLV_HOST_CONF",
        "RES_OPTIONS",
        "TMPDIR",
        "TZ",
        "TZDIR",
    }
)
_RESERVED_PREFIXES = ("LD_", "LC_", "MALLOC_", "GLIBC_")


def check_secret_name(name: str) -> None:
    """Raise ValueError with the reason when ``name`` cannot name a secret."""
    if not SECRET_NAME.match(name):
        raise ValueError(f"secret name {name!r} must match {SECRET_NAME.pattern}")
    if name in _RESERVED or name.startswith(_RESERVED_PREFIXES):
        raise ValueError(
            f"secret name {name!r} is reserved: it would change how the host-side launcher runs"
        )
