"""profile check's pure core: expectations derive from the profile, observations are compared."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runtime.check.compare import all_pass, compare, describe, parse_report, run_observations
from runtime.check.model import Observation, Probe, Verdict
from runtime.check.plan import probe_plan, program_config
from runtime.check.profile_check import PROBE_PROGRAM
from runtime.check.report import CheckReport, render_report
from runtime.sandbox.profiles import ProfileStore, SandboxProfile, Tmpfs
from runtime.sandbox.result import SandboxResult, Status, Usage

_PORT = 4242
_KILLED = Observation(result="killed", detail="SIGSYS")


@pytest.fixture
def default(profiles: ProfileStore) -> SandboxProfile:
    return profiles.get("default")


@pytest.fixture
def minimal(profiles: ProfileStore) -> SandboxProfile:
    return profiles.get("minimal")


def plan_of(profile: SandboxProfile) -> dict[str, Probe]:
    return {p.key: p for p in probe_plan(profile, host_port=_PORT)}


def verdict(probe: Probe, observation: Observation | None) -> Verdict:
    observed = {} if observation is None else {probe.key: observation}
    (row,) = compare([probe], observed)
    return row.verdict


def sandbox_result(status: Status, stdout: bytes = b"") -> SandboxResult:
    return SandboxResult(
        status=status,
        exit_code=0,
        signal=None,
        stdout=stdout,
        stderr=b"",
        stdout_truncated=False,
        stderr_truncated=False,
        usage=Usage(wall_ms=10, cpu_ms=5, peak_memory_bytes=0),
        violations=(),
    )


def test_killed_syscall_expects_sigsys(default: SandboxProfile) -> None:
    """A syscall in the profile's kill list must be observed killed by SIGSYS."""
    assert plan_of(default)["syscalls.ptrace"].accept == {"killed:SIGSYS"}


def test_syscall_outside_kill_list_expects_not_killed(default: SandboxProfile) -> None:
    """A syscall the profile does not kill may fail with an errno but must not be killed."""
    kill = tuple(n for n in default.seccomp.kill if n != "ptrace")
    profile = replace(default, seccomp=replace(default.seccomp, kill=kill))
    ptrace = plan_of(profile)["syscalls.ptrace"]
    assert verdict(ptrace, Observation(result="error", detail="EPERM")) is Verdict.PASS
    assert verdict(ptrace, _KILLED) is Verdict.FAIL


def test_enosys_syscall_expects_enosys(default: SandboxProfile) -> None:
    """A syscall in the enosys list must fail with ENOSYS, not run and not kill."""
    assert plan_of(default)["syscalls.clone3"].accept == {"error:ENOSYS"}


def test_denied_socket_family_expects_sigsys(default: SandboxProfile) -> None:
    """socket() of a family in deny_socket_families must be killed."""
    assert plan_of(default)["syscalls.socket.AF_NETLINK"].accept == {"killed:SIGSYS"}


def test_inet_socket_allowed_in_default(default: SandboxProfile) -> None:
    """The default profile lets an AF_INET socket be created (there is just no network)."""
    assert plan_of(default)["network.inet_socket"].accept == {"ok"}


def test_inet_socket_killed_in_minimal(minimal: SandboxProfile) -> None:
    """The minimal profile kills socket() itself, so an AF_INET socket must be killed."""
    assert plan_of(minimal)["network.inet_socket"].accept == {"killed:SIGSYS"}


def test_connect_to_host_must_fail(default: SandboxProfile) -> None:
    """Connecting to the host's loopback listener passes only when it fails."""
    connect = plan_of(default)["network.connect_host"]
    assert verdict(connect, Observation(result="error", detail="ECONNREFUSED")) is Verdict.PASS
    assert verdict(connect, Observation(result="ok")) is Verdict.FAIL


def test_dev_listing_follows_profile_devices(default: SandboxProfile) -> None:
    """/dev must hold exactly the profile's devices."""
    assert plan_of(default)["files.dev"].accept == {"value:null,urandom,zero"}


def test_every_profile_variable_is_expected(default: SandboxProfile) -> None:
    """Each of the profile's environment variables is expected with its value."""
    plan = plan_of(default)
    for name, value in default.env:
        assert plan[f"environment.{name}"].accept == {f"value:{value}"}


def test_unbound_host_file_must_be_absent(default: SandboxProfile) -> None:
    """A host file outside every bind must be absent (ENOENT), not merely unreadable."""
    read = plan_of(default)["files.read_host_file"]
    assert verdict(read, Observation(result="error", detail="EACCES")) is Verdict.FAIL


def test_file_size_expects_efbig_at_the_limit(default: SandboxProfile) -> None:
    """Writing past file_size must stop with EFBIG exactly at the limit."""
    probe = plan_of(default)["limits.file_size"]
    at_limit = Observation(result="error", detail="EFBIG", amount=default.limits.file_size_bytes)
    assert verdict(probe, at_limit) is Verdict.PASS


def test_file_size_expects_enospc_when_work_dir_is_smaller(default: SandboxProfile) -> None:
    """A work dir tmpfs smaller than file_size fills up first: ENOSPC is what it promises."""
    small = (Tmpfs(path=default.filesystem.work_dir, size_bytes=default.limits.file_size_bytes),)
    profile = replace(default, filesystem=replace(default.filesystem, tmpfs=small))
    assert plan_of(profile)["limits.file_size"].accept == {"error:ENOSPC"}


def test_wrong_amount_fails(default: SandboxProfile) -> None:
    """A fork refused below the pids limit does not match the profile."""
    pids = plan_of(default)["limits.pids"]
    early = Observation(result="error", detail="EAGAIN", amount=default.limits.pids - 1)
    assert verdict(pids, early) is Verdict.FAIL


def test_syscall_that_returned_fails(default: SandboxProfile) -> None:
    """A syscall the profile kills but which returned is a failed check."""
    assert verdict(plan_of(default)["syscalls.bpf"], Observation(result="ok")) is Verdict.FAIL


def test_missing_observation_fails(default: SandboxProfile) -> None:
    """A probe with no observation at all fails."""
    assert verdict(plan_of(default)["identity.Uid"], None) is Verdict.FAIL


def test_report_only_probe_is_info(default: SandboxProfile) -> None:
    """A configured limit that is only reported is never a failure."""
    assert verdict(plan_of(default)["limits.cpu_time"], None) is Verdict.INFO


def test_one_failure_fails_the_check(default: SandboxProfile) -> None:
    """all_pass is false as soon as one probe disagrees with the profile."""
    plan = probe_plan(default, host_port=_PORT)
    observations = {p.key: Observation(result="ok") for p in plan}
    rows = compare(plan, observations)
    assert any(r.verdict is Verdict.PASS for r in rows)
    assert not all_pass(rows)


def test_failed_run_fails_the_sandbox_row(default: SandboxProfile) -> None:
    """A probe run that did not end as expected (a seccomp violation, from the probes the
    policy kills) makes the sandbox row fail."""
    result = sandbox_result(Status.TIMEOUT)
    observations = run_observations(result, None, listener_reached=False)
    rows = compare(probe_plan(default, host_port=_PORT), observations)
    by_key = {r.key: r for r in rows}
    assert by_key["sandbox.run"].verdict is Verdict.FAIL
    assert by_key["sandbox.report"].verdict is Verdict.FAIL


def test_probe_run_of_a_killing_policy_must_report_the_kills(default: SandboxProfile) -> None:
    """The default policy kills some probes, so its run passes only as seccomp_violation."""
    plan = probe_plan(default, host_port=_PORT)
    for status, verdict in ((Status.SECCOMP_VIOLATION, Verdict.PASS), (Status.OK, Verdict.FAIL)):
        observations = run_observations(sandbox_result(status), None, listener_reached=False)
        by_key = {r.key: r for r in compare(plan, observations)}
        assert by_key["sandbox.run"].verdict is verdict, status


def test_reached_listener_fails(default: SandboxProfile) -> None:
    """A connection arriving at the host's listener fails the network check."""
    result = sandbox_result(Status.OK)
    observations = run_observations(result, {}, listener_reached=True)
    listener = plan_of(default)["network.host_listener"]
    assert verdict(listener, observations[listener.key]) is Verdict.FAIL


def test_parse_report_rejects_non_json() -> None:
    """Output that is not the probe program's JSON document is no report."""
    assert parse_report(b"Traceback (most recent call last):") is None


def test_parse_report_drops_malformed_entries() -> None:
    """Entries without a result are dropped; well-formed ones are kept with their amount."""
    stdout = b'{"observations": {"a": {"detail": "x"}, "b": {"result": "error", "amount": 3}}}'
    assert parse_report(stdout) == {"b": Observation(result="error", amount=3)}


def test_describe_counts_with_units() -> None:
    """Amounts are shown with their unit: fds as a count, memory in binary units."""
    assert describe(Observation(result="error", detail="EMFILE", amount=256), "fds") == (
        "EMFILE at 256 fds"
    )
    killed = Observation(result="killed", detail="SIGKILL", amount=250 * 1024 * 1024)
    assert describe(killed, "bytes") == "killed by SIGKILL after 250MiB"


def test_config_holds_only_in_sandbox_probes(default: SandboxProfile) -> None:
    """The probe program is given every probe with an action and nothing observed outside."""
    plan = probe_plan(default, host_port=_PORT)
    config = program_config(plan, default)
    keys = {entry[0] for entry in config["probes"]}  # type: ignore[attr-defined]
    assert "syscalls.ptrace" in keys
    assert "network.host_listener" not in keys


def test_every_action_exists_in_the_program(default: SandboxProfile) -> None:
    """Each action the plan names is a function of the probe program, which compiles."""
    compile(PROBE_PROGRAM, "<probe program>", "exec")
    for probe in probe_plan(default, host_port=_PORT):
        if probe.action:
            assert f"\ndef {probe.action}(" in PROBE_PROGRAM, probe.action


def test_render_report_is_a_table(default: SandboxProfile) -> None:
    """The text report has the four columns and one line per probe with its verdict."""
    plan = probe_plan(default, host_port=_PORT)
    rows = compare(plan, {})
    report = CheckReport(profile="default", rows=rows, result=sandbox_result(Status.OK))
    text = render_report(report)
    assert text.splitlines()[1].split() == ["PROBE", "EXPECTED", "OBSERVED", "VERDICT"]
    assert "  ptrace(PTRACE_TRACEME)" in text
    assert text.rstrip().endswith("do not match the profile")
