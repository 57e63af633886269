"""Egress policy (pure): allowlist rules, and the decision about each connection.

A rule is ``host:port`` or ``*.domain:port``: ``*.example.org`` matches every name under
example.org, at any depth, but not example.org itself. A rule's host may also be an IP literal
(IPv6 in brackets), which matches only requests for that literal. Ports are always explicit.

A request that matches a rule is then resolved on the host, and every address it resolves to
must be publicly routable: loopback, link-local, private (RFC 1918, ULA), multicast,
unspecified, broadcast, reserved, cloud-metadata and this host's own addresses are refused.
Only ``EgressSettings``, a test-only setting, can allow named addresses.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from runtime.errors import ConfigError

__all__ = [
    "METADATA_ADDRESSES",
    "REFUSED_ADDRESSES",
    "TEST_ALLOW_ENV",
    "TEST_HOSTS_ENV",
    "AddressCheck",
    "EgressRule",
    "EgressSettings",
    "IPAddress",
    "address_refusal",
    "authority",
    "check_addresses",
    "is_ip_literal",
    "match_rule",
    "normalize_host",
    "parse_rule",
    "parse_rules",
    "settings_from_env",
    "split_authority",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

TEST_ALLOW_ENV = "SKILLRT_EGRESS_TEST_ALLOW"
TEST_HOSTS_ENV = "SKILLRT_EGRESS_TEST_HOSTS"

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
# Cloud instance metadata endpoints: refused even by the test-only allowance.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
# NAT64 (RFC 6052) addresses reach the IPv4 address in their low 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
# The address classes refused, in the order their names are reported.
_REFUSED_CLASSES = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_reserved", "reserved"),
    ("is_private", "private"),
)
REFUSED_ADDRESSES = (
    "all but public addresses (loopback, private, link-local, metadata, this host...)"
)


@dataclass(frozen=True, kw_only=True)
class EgressRule:
    """One allowlist entry; ``host`` is normalized, and for a wildcard it is the domain."""

    host: str
    port: int
    wildcard: bool = False

    def __str__(self) -> str:
        host = f"*.{self.host}" if self.wildcard else self.host
        return authority(host, self.port)

    def matches(self, host: str, port: int) -> bool:
        """Whether a request for the normalized ``host`` and ``port`` is allowed by this rule."""
        if port != self.port:
            return False
        if self.wildcard:
            return host.endswith(f".{self.host}")
        return host == self.host

    def covers(self, other: EgressRule) -> bool:
        """Whether every request ``other`` allows is also allowed by this rule."""
        if other.wildcard and not self.wildcard:
            return False
        if other.wildcard:
            return other.port == self.port and (
                other.host == self.host or other.host.endswith(f".{self.host}")
            )
        return self.matches(other.host, other.port)


def authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize_host(text: str) -> str:
    """A host as requests and rules compare it: lower case, no trailing dot, canonical IPs.

    Raises ValueError for anything else, including the numeric forms (``0x7f.1``, ``2130706433``)
    that resolvers would read as addresses.
    """
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        if "%" in inner:
            raise ValueError(f"{text!r}: IPv6 zone ids are not allowed")
        try:
            return str(ipaddress.IPv6Address(inner))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid IPv6 address") from exc
    name = text.lower()
    name = name[:-1] if name.endswith(".") else name
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        pass
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{text!r} is not a valid host name")
    if not labels[-1][0].isalpha():
        raise ValueError(f"{text!r} is not a valid host name (numeric top-level label)")
    return name


def split_authority(text: str, *, default_port: int | None) -> tuple[str, int]:
    """(normalized host, port) of ``host:port``, ``[v6]:port`` or, with a default, ``host``."""
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{text!r}: unclosed '['")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r}: expected ':' after ']'")
        port_text = rest[1:] if rest else ""
        has_port = bool(rest)
    else:
        has_port = ":" in text
        if has_port:
            host, port_text = text.rsplit(":", 1)
    if not has_port:
        if default_port is None:
            raise ValueError(f"{text!r}: missing ':port'")
        return normalize_host(host), default_port
    if not _PORT.fullmatch(port_text) or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return normalize_host(host), int(port_text)


def parse_rule(text: str) -> EgressRule:
    """An allowlist entry from its text; ValueError says what is wrong with it."""
    wildcard = text.startswith("*.")
    host, port = split_authority(text[2:] if wildcard else text, default_port=None)
    if wildcard:
        if is_ip_literal(host):
            raise ValueError(f"{text!r}: a wildcard needs a domain, not an address")
        if "." not in host:
            raise ValueError(f"{text!r}: too broad (a wildcard needs a domain of two labels)")
    return EgressRule(host=host, port=port, wildcard=wildcard)


def parse_rules(texts: Iterable[str]) -> tuple[EgressRule, ...]:
    return tuple(parse_rule(text) for text in texts)


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def match_rule(rules: Sequence[EgressRule], host: str, port: int) -> EgressRule | None:
    for rule in rules:
        if rule.matches(host, port):
            return rule
    return None


def address_refusal(address: IPAddress, *, host_addresses: frozenset[IPAddress]) -> str | None:
    """Why connecting to ``address`` is refused, or None when it is a public address."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_refusal(embedded, host_addresses=host_addresses)
            return None if inner is None else f"{inner}, embedded in IPv6"
    if address == _BROADCAST:
        return "broadcast"
    for attribute, name in _REFUSED_CLASSES:
        if getattr(address, attribute):
            return name
    if address in host_addresses:
        return "an address of this host"
    if not address.is_global:
        return "not publicly routable"
    return None


@dataclass(frozen=True, kw_only=True)
class EgressSettings:
    """Test-only overrides of the address policy; both are empty in production.

    ``test_allow`` names addresses that are connected to although their class is refused (a
    test server on loopback); ``test_hosts`` resolves names to addresses without DNS.
    """

    test_allow: frozenset[IPAddress] = frozenset()
    test_hosts: tuple[tuple[str, tuple[IPAddress, ...]], ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.test_allow or self.test_hosts)

    def resolve(self, host: str) -> tuple[IPAddress, ...] | None:
        for name, addresses in self.test_hosts:
            if name == host:
                return addresses
        return None

    def describe(self) -> str:
        allow = ", ".join(sorted(str(a) for a in self.test_allow)) or "none"
        hosts = ", ".join(f"{n}={'+'.join(map(str, a))}" for n, a in self.test_hosts) or "none"
        return f"TEST-ONLY egress settings: allowed addresses {allow}; resolved names {hosts}"


def settings_from_env(environ: Mapping[str, str]) -> EgressSettings:
    """The test-only settings from ``SKILLRT_EGRESS_TEST_ALLOW`` and ``..._TEST_HOSTS``.

    ALLOW is a comma-separated list of addresses; HOSTS of ``name=address[+address...]``.
    """
    allow = frozenset(
        _env_address(TEST_ALLOW_ENV, item) for item in _env_items(environ, TEST_ALLOW_ENV)
    )
    hosts = []
    for item in _env_items(environ, TEST_HOSTS_ENV):
        name, sep, addresses = item.partition("=")
        if not sep or not addresses:
            raise ConfigError(f"${TEST_HOSTS_ENV}: {item!r}: expected name=address[+address]")
        try:
            host = normalize_host(name)
        except ValueError as exc:
            raise ConfigError(f"${TEST_HOSTS_ENV}: {exc}") from exc
        parsed = tuple(_env_address(TEST_HOSTS_ENV, a) for a in addresses.split("+"))
        hosts.append((host, parsed))
    return EgressSettings(test_allow=allow, test_hosts=tuple(hosts))


def _env_items(environ: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in environ.get(name, "").split(",") if item.strip()]


def _env_address(name: str, text: str) -> IPAddress:
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise ConfigError(f"${name}: {text!r} is not an IP address") from exc
    if address in METADATA_ADDRESSES:
        raise ConfigError(f"${name}: {text} is a cloud metadata address, never allowed")
    return address


@dataclass(frozen=True, kw_only=True)
class AddressCheck:
    """The verdict on a name's resolved addresses."""

    refusal: str | None  # why the connection is refused; None when it may proceed
    test_only: tuple[IPAddress, ...] = ()  # addresses let through only by the test allowance


def check_addresses(
    addresses: Sequence[IPAddress],
    *,
    host_addresses: frozenset[IPAddress],
    settings: EgressSettings,
) -> AddressCheck:
    """Every address must be allowed: one bad answer refuses the name (a rebinding defence)."""
    if not addresses:
        return AddressCheck(refusal="resolves to no address")
    test_only = []
    for address in addresses:
        refusal = address_refusal(address, host_addresses=host_addresses)
        if refusal is None:
            continue
        if address in settings.test_allow and address not in METADATA_ADDRESSES:
            test_only.append(address)
            continue
        return AddressCheck(refusal=f"resolves to {address}: {refusal}")
    return AddressCheck(refusal=None, test_only=tuple(test_only))
