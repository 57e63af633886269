"""The egress policy's pure core: allowlist rules and the address checks after resolution."""

from __future__ import annotations

import ipaddress
import re

import pytest

from runtime.errors import ConfigError
from runtime.sandbox.egress.policy import (
    EgressRule,
    EgressSettings,
    address_refusal,
    check_addresses,
    match_rule,
    parse_rule,
    settings_from_env,
)

NO_HOST: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address] = frozenset()


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("api.example.com:443", EgressRule(host="api.example.com", port=443)),
        ("API.Example.COM.:443", EgressRule(host="api.example.com", port=443)),
        ("*.example.org:443", EgressRule(host="example.org", port=443, wildcard=True)),
        ("93.184.216.34:80", EgressRule(host="93.184.216.34", port=80)),
        ("[2606:4700:0::1]:443", EgressRule(host="2606:4700::1", port=443)),
    ],
)
def test_rule_is_parsed_and_normalized(text: str, rule: EgressRule) -> None:
    """Hosts are lower-cased without a trailing dot; IP literals take their canonical form."""
    assert parse_rule(text) == rule


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("example.com", "missing ':port'"),
        ("example.com:0", "port must be a number from 1 to 65535"),
        ("example.com:65536", "port must be a number from 1 to 65535"),
        ("example.com:+443", "port must be a number"),
        (":443", "not a valid host name"),
        ("*:443", "not a valid host name"),
        ("*.com:443", "too broad"),
        ("*.10.0.0.1:443", "a wildcard needs a domain"),
        ("api.*.example.com:443", "not a valid host name"),
        ("exa mple.com:443", "not a valid host name"),
        ("a..b.com:443", "not a valid host name"),
        ("0x7f.1:80", "numeric top-level label"),
        ("[::1%eth0]:443", "zone ids are not allowed"),
        ("[::1:443", "unclosed '['"),
    ],
)
def test_bad_rule_is_refused_with_its_reason(text: str, reason: str) -> None:
    """Every malformed allowlist entry is refused, and the message says why."""
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_rule(text)


def test_wildcard_matches_subdomains_at_any_depth_but_not_the_domain() -> None:
    """*.example.org matches names under example.org at any depth, not example.org itself."""
    rule = parse_rule("*.example.org:443")
    assert rule.matches("a.example.org", 443)
    assert rule.matches("a.b.example.org", 443)
    assert not rule.matches("example.org", 443)
    assert not rule.matches("evilexample.org", 443)
    assert not rule.matches("a.example.org", 80)


def test_match_rule_returns_the_first_matching_rule() -> None:
    """The rule that allowed a request is the first that matches it."""
    rules = (parse_rule("example.com:80"), parse_rule("*.example.com:443"))
    assert match_rule(rules, "www.example.com", 443) == rules[1]
    assert match_rule(rules, "example.com", 443) is None


@pytest.mark.parametrize(
    ("wide", "narrow", "covered"),
    [
        ("*.example.org:443", "api.example.org:443", True),
        ("*.example.org:443", "*.api.example.org:443", True),
        ("*.example.org:443", "*.example.org:443", True),
        ("*.example.org:443", "example.org:443", False),
        ("*.example.org:443", "api.example.org:80", False),
        ("api.example.org:443", "*.api.example.org:443", False),
        ("api.example.org:443", "api.example.org:443", True),
    ],
)
def test_covers_is_subset_of_requests(wide: str, narrow: str, covered: bool) -> None:
    """A rule covers another when every request the other allows, it allows too."""
    assert parse_rule(wide).covers(parse_rule(narrow)) is covered


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not publicly routable"),
        ("::ffff:127.0.0.1", "loopback, embedded in IPv6"),
        ("::ffff:169.254.169.254", "cloud metadata, embedded in IPv6"),
        ("64:ff9b::a00:1", "private, embedded in IPv6"),
    ],
)
def test_non_public_address_is_refused(address: str, reason: str) -> None:
    """Each class of non-public address is refused, and named."""
    assert address_refusal(ip(address), host_addresses=NO_HOST) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822"])
def test_public_address_is_allowed(address: str) -> None:
    """A public address (also one reached through NAT64) passes."""
    assert address_refusal(ip(address), host_addresses=NO_HOST) is None


def test_host_own_public_address_is_refused() -> None:
    """A public address of this host's own interfaces is refused."""
    own = frozenset({ip("93.184.216.34")})
    assert address_refusal(ip("93.184.216.34"), host_addresses=own) == "an address of this host"


def test_one_refused_address_refuses_the_name() -> None:
    """Every resolved address must pass: one private answer among public ones refuses all."""
    check = check_addresses(
        [ip("93.184.216.34"), ip("10.0.0.1")], host_addresses=NO_HOST, settings=EgressSettings()
    )
    assert check.refusal == "resolves to 10.0.0.1: private"


def test_no_address_is_refused() -> None:
    """A name with no addresses at all is refused, not waved through."""
    check = check_addresses([], host_addresses=NO_HOST, settings=EgressSettings())
    assert check.refusal == "resolves to no address"


def test_test_allowance_names_single_addresses() -> None:
    """The test-only allowance lets through exactly the addresses it names, and says so."""
    settings = EgressSettings(test_allow=frozenset({ip("127.0.0.1")}))
    allowed = check_addresses([ip("127.0.0.1")], host_addresses=NO_HOST, settings=settings)
    assert (allowed.refusal, allowed.test_only) == (None, (ip("127.0.0.1"),))
    other = check_addresses([ip("127.0.0.2")], host_addresses=NO_HOST, settings=settings)
    assert other.refusal == "resolves to 127.0.0.2: loopback"


def test_settings_from_env() -> None:
    """The test-only environment variables parse into allowed addresses and resolved names."""
    settings = settings_from_env(
        {
            "SKILLRT_EGRESS_TEST_ALLOW": "127.0.0.1, ::1",
            "SKILLRT_EGRESS_TEST_HOSTS": "Example.COM=127.0.0.1+::1,x.test=127.0.0.2",
        }
    )
    assert settings.test_allow == {ip("127.0.0.1"), ip("::1")}
    assert settings.resolve("example.com") == (ip("127.0.0.1"), ip("::1"))
    assert settings.resolve("other.test") is None
    assert not settings_from_env({}).active


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({"SKILLRT_EGRESS_TEST_ALLOW": "localhost"}, "'localhost' is not an IP address"),
        ({"SKILLRT_EGRESS_TEST_ALLOW": "169.254.169.254"}, "cloud metadata address, never"),
        ({"SKILLRT_EGRESS_TEST_HOSTS": "example.com"}, "expected name=address"),
    ],
)
def test_bad_settings_are_config_errors(environ: dict[str, str], reason: str) -> None:
    """Malformed test-only settings are refused, naming the variable; metadata never passes."""
    with pytest.raises(ConfigError, match=reason):
        settings_from_env(environ)
