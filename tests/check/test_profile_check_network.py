"""``skillrt profile check network``: the probes see the proxy as the only way out, and the
report shows the egress rules in effect."""

from __future__ import annotations

import ipaddress

import pytest

from runtime.check.compare import compare
from runtime.check.egress_probes import egress_observations
from runtime.check.model import Verdict
from runtime.check.plan import probe_plan
from runtime.sandbox.egress.policy import EgressSettings
from runtime.sandbox.profiles import ProfileStore
from runtime.sandbox.result import SandboxResult, Status, Usage
from tests.check.test_profile_check_sandbox import CheckRun, failures, skillrt


@pytest.fixture(scope="module")
def network_check() -> CheckRun:
    return skillrt("profile", "check", "network", "--json")


def test_network_keeps_its_promises(network_check: CheckRun) -> None:
    """profile check network exits 0: every observation matches the profile."""
    assert network_check.returncode == 0, failures(network_check) or network_check.stderr


def test_network_sandbox_reaches_only_the_proxy(network_check: CheckRun) -> None:
    """The host's loopback stays unreachable; the bridge answers, and the proxy refuses."""
    rows = network_check.rows()
    assert rows["network.connect_host"]["observed"] == "ECONNREFUSED"
    assert rows["egress.proxy_connect"]["observed"] == "403"
    assert rows["egress.recorded"]["observed"] == "1 denied, 0 allowed"


def test_network_report_shows_the_egress_rules(network_check: CheckRun) -> None:
    """The egress section names the allowlist's source, the refused addresses and the limits."""
    rows = network_check.rows()
    assert rows["egress.allowlist"]["expected"] == "each skill's permissions.network"
    assert "private" in rows["egress.refused"]["expected"]
    assert rows["egress.limits"]["expected"] == "32MiB up and down, 64 connections"


def test_test_only_settings_fail_the_check(profiles: ProfileStore) -> None:
    """A launcher with test-only egress settings does not pass as a production sandbox."""
    plan = [
        p
        for p in probe_plan(profiles.get("network"), host_port=1)
        if p.key.startswith("egress.test")
    ]
    settings = EgressSettings(test_allow=frozenset({ipaddress.ip_address("127.0.0.1")}))
    result = SandboxResult(
        status=Status.OK,
        exit_code=0,
        signal=None,
        stdout=b"",
        stderr=b"",
        stdout_truncated=False,
        stderr_truncated=False,
        usage=Usage(wall_ms=1, cpu_ms=1, peak_memory_bytes=0),
        violations=(),
    )
    (row,) = compare(plan, egress_observations(result, settings))
    assert row.verdict is Verdict.FAIL
    assert "TEST-ONLY" in row.observed
