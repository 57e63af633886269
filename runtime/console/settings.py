"""``[console]``: whether the web console is served, where, and how long its sessions last."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["ConsoleSettings", "parse_listen"]


@dataclass(frozen=True, kw_only=True)
class ConsoleSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 7480
    session_idle_ms: int = 30 * 60_000  # a session unused this long ends
    session_max_ms: int = 12 * 3_600_000  # and any session ends this long after sign-in

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def url(self, *, tls: bool) -> str | None:
        """Where a browser finds the console; None when it is off."""
        if not self.enabled:
            return None
        return f"{'https' if tls else 'http'}://{self.listen}/"


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` with an IP address (``[::1]:7480`` for IPv6); a ValueError says why not."""
    host, colon, port = text.rpartition(":")
    if not colon or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not host:port")
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address (say 127.0.0.1 or [::1])") from None
    return str(address), int(port)
