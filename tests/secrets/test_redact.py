"""Redaction: a secret and its common encodings are masked and counted, even split in a stream."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.parse
from collections import Counter

import pytest

from runtime.core.redact import Redactor
from runtime.util import paths

SECRET = 'p@ss/word+with spaces&"quotes"-0123456789'


@pytest.mark.parametrize(
    "form",
    [
        SECRET.encode(),
        base64.b64encode(SECRET.encode()),
        base64.urlsafe_b64encode(SECRET.encode()),
        urllib.parse.quote(SECRET, safe="").encode(),
        urllib.parse.quote_plus(SECRET).encode(),
        json.dumps(SECRET)[1:-1].encode(),
    ],
    ids=["raw", "base64", "base64url", "url", "url-plus", "json"],
)
def test_value_and_encodings_are_masked(form: bytes) -> None:
    """Each form of the value becomes the marker, and is counted once."""
    counts: Counter[str] = Counter()
    masked = Redactor({"API_KEY": SECRET}).mask_bytes(b"before " + form + b" after", counts)
    assert masked == b"before [REDACTED:API_KEY] after"
    assert counts == {"API_KEY": 1}


def test_base64_inside_longer_base64_is_masked() -> None:
    """The value base64-encoded with more data after it is still caught."""
    encoded = base64.b64encode(SECRET.encode() + b"trailing bytes")
    masked = Redactor({"API_KEY": SECRET}).mask_bytes(encoded)
    assert base64.b64encode(SECRET.encode())[:-4] not in masked
    assert b"[REDACTED:API_KEY]" in masked


def test_parsed_values_are_masked() -> None:
    """Strings anywhere in a JSON value, keys included, are masked; numbers are left alone."""
    counts: Counter[str] = Counter()
    value = {"a": [f"x{SECRET}y", 3], SECRET: None}
    masked = Redactor({"API_KEY": SECRET}).mask_value(value, counts)
    assert masked == {"a": ["x[REDACTED:API_KEY]y", 3], "[REDACTED:API_KEY]": None}
    assert counts == {"API_KEY": 2}


def test_longer_secret_wins_over_one_inside_it() -> None:
    """When one secret contains another, the longer one is masked whole."""
    redactor = Redactor({"SHORT": "abcdef12", "LONG": "xxabcdef12yy"})
    assert redactor.mask_bytes(b"xxabcdef12yy abcdef12") == b"[REDACTED:LONG] [REDACTED:SHORT]"


def test_without_secrets_nothing_changes() -> None:
    """An invocation without secrets has an empty redactor that leaves data as it is."""
    redactor = Redactor({})
    assert not redactor
    assert redactor.mask_bytes(b"anything") == b"anything"


def test_stream_never_emits_a_split_secret() -> None:
    """Cut at every position, a streamed secret still never leaves, not even in halves."""
    data = b"log line: " + SECRET.encode() + b" and more text\n"
    redactor = Redactor({"API_KEY": SECRET})
    for cut in range(1, len(data)):
        stream = redactor.stream()
        out = stream.feed(data[:cut]) + stream.feed(data[cut:]) + stream.flush()
        assert out == redactor.mask_bytes(data), cut


def test_stream_byte_by_byte() -> None:
    """Even one byte at a time, the streamed output equals the whole-buffer redaction."""
    data = (b"a" * 5 + SECRET.encode()) * 3
    redactor = Redactor({"API_KEY": SECRET})
    stream = redactor.stream()
    out = b"".join(stream.feed(data[i : i + 1]) for i in range(len(data))) + stream.flush()
    assert out == redactor.mask_bytes(data)
    assert SECRET.encode() not in out


def test_secret_in_egress_host_and_violation_is_masked() -> None:
    """A secret smuggled out as a (lower-cased) host name is masked in egress and violations."""
    from runtime.core.execute import _redact
    from runtime.sandbox.egress.attempt import EgressAttempt
    from runtime.sandbox.result import SandboxResult, Status, Usage

    host = "tok3n-abc.evil.test"
    result = SandboxResult(
        status=Status.OK,
        exit_code=0,
        signal=None,
        stdout=b"",
        stderr=b"",
        stdout_truncated=False,
        stderr_truncated=False,
        usage=Usage(wall_ms=1, cpu_ms=1, peak_memory_bytes=1),
        violations=(f"egress denied: {host}:80 (not on the allowlist)",),
        egress=(EgressAttempt(method="GET", host=host, port=80, allowed=False, reason="no"),),
    )
    masked, _ = _redact(result, None, Redactor({"TOKEN": "TOK3N-ABC"}))
    assert masked.egress[0].host == "[REDACTED:TOKEN].evil.test"
    assert "tok3n" not in masked.violations[0].lower()


def test_stream_holds_back_only_what_may_begin_a_secret() -> None:
    """Output that cannot be the start of a secret goes out at once; a possible start waits."""
    redactor = Redactor({"API_KEY": SECRET})
    stream = redactor.stream()
    assert stream.feed(b"progress 50%\n") == b"progress 50%\n"
    assert stream.feed(b"key " + SECRET.encode()[:3]) == b"key "
    assert stream.feed(SECRET.encode()[3:] + b"\n") == b"[REDACTED:API_KEY]\n"


def test_a_key_sized_secret_costs_memory_in_proportion_to_its_size() -> None:
    """A redactor for a 6 KiB secret (a PEM private key) holds a few copies of its forms, not
    every prefix of them (hundreds of MiB): the daemon builds one for every call given it."""
    built = subprocess.run(
        [sys.executable, "-c", _BUILD_KEY_SIZED],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        check=True,
    )
    grown_kib, masked = built.stdout.split()
    assert masked == "ok" and int(grown_kib) < 64 * 1024


# Peak memory (VmHWM) grown while building the redactor, and a split key masked by its stream.
_BUILD_KEY_SIZED = r"""
from runtime.core.redact import Redactor
def peak():
    lines = open("/proc/self/status").read().splitlines()
    return int(next(line for line in lines if line.startswith("VmHWM:")).split()[1])
pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(["A1b2C3d4" * 8] * 100) + "\n-----END-----\n"
assert len(pem) > 6000
before = peak()
stream = Redactor({"KEY": pem}).stream()
grown = peak() - before
half = len(pem) // 2
out = stream.feed(b"x " + pem[:half].encode()) + stream.feed(pem[half:].encode()) + stream.flush()
print(grown, "ok" if out == b"x [REDACTED:KEY]" else out)
"""
