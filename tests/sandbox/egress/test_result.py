"""Egress attempts are part of the result: in its JSON form and in the daemon's records."""

from __future__ import annotations

import json

from runtime.core.records import result_from_json, result_to_json
from runtime.sandbox.egress.attempt import EgressAttempt
from runtime.sandbox.result import SandboxResult, Status, Usage, result_dict

ATTEMPTS = (
    EgressAttempt(
        method="CONNECT",
        host="example.com",
        port=443,
        allowed=True,
        reason="matches example.com:443",
        address="93.184.216.34",
        bytes_up=517,
        bytes_down=4096,
    ),
    EgressAttempt(
        method="GET", host="evil.test", port=80, allowed=False, reason="not on the allowlist"
    ),
)
RESULT = SandboxResult(
    status=Status.OK,
    exit_code=0,
    signal=None,
    stdout=b"{}",
    stderr=b"",
    stdout_truncated=False,
    stderr_truncated=False,
    usage=Usage(wall_ms=5, cpu_ms=3, peak_memory_bytes=1024),
    violations=("egress denied: evil.test:80 (not on the allowlist)",),
    egress=ATTEMPTS,
)


def test_result_dict_lists_every_attempt() -> None:
    """The JSON result has an egress list with each attempt's decision and byte counts."""
    listed = result_dict(RESULT)["egress"]
    assert listed == [
        {
            "method": "CONNECT",
            "host": "example.com",
            "port": 443,
            "allowed": True,
            "reason": "matches example.com:443",
            "address": "93.184.216.34",
            "bytes_up": 517,
            "bytes_down": 4096,
            "error": None,
        },
        {
            "method": "GET",
            "host": "evil.test",
            "port": 80,
            "allowed": False,
            "reason": "not on the allowlist",
            "address": None,
            "bytes_up": 0,
            "bytes_down": 0,
            "error": None,
        },
    ]


def test_records_keep_the_attempts() -> None:
    """A stored result comes back with its egress attempts."""
    assert result_from_json(result_to_json(RESULT)) == RESULT


def test_records_from_before_egress_still_load() -> None:
    """A result stored before egress existed loads with no attempts."""
    data = json.loads(result_to_json(RESULT))
    del data["egress"]
    assert result_from_json(json.dumps(data)).egress == ()


def test_target_brackets_ipv6() -> None:
    """An IPv6 host is shown in brackets before its port; a malformed request is named so."""
    attempt = EgressAttempt(method="CONNECT", host="::1", port=443, allowed=False, reason="x")
    assert attempt.target == "[::1]:443"
    assert EgressAttempt(method="-", host="", port=0, allowed=False, reason="x").target == (
        "malformed request"
    )
