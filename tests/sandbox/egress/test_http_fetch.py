"""The bundled http-fetch skill, unchanged, against the loopback origin.

The skill allows example.com:80, example.com:443 and *.wikipedia.org:443; the test-only settings
resolve those names to the origin, so every request stays on this machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from runtime.core.catalog import Catalog
from runtime.core.execute import ToolRun, run_tool
from runtime.sandbox.egress.policy import TEST_ALLOW_ENV, TEST_HOSTS_ENV
from runtime.sandbox.launcher import Launcher
from runtime.sandbox.profiles import ProfileStore
from runtime.sandbox.result import Status
from runtime.util import paths
from tests.skills.runner import tool_error

from .conftest import Origin


@pytest.fixture
def fetch(catalog: Catalog, profiles: ProfileStore, egress_launcher: Launcher) -> Any:
    def run(**value: Any) -> ToolRun:
        return asyncio.run(
            run_tool(
                skill=catalog.get("http-fetch"),
                tool_name="fetch",
                input_value=value,
                profiles=profiles,
                launcher=egress_launcher,
            )
        )

    return run


def test_fetch_extracts_title_text_and_links(fetch: Any, origin: Origin) -> None:
    """An HTML page becomes its title, its visible text and its http(s) links, each once."""
    run = fetch(url="http://example.com/page")
    assert run.result.status is Status.OK, run.result
    page = run.output
    assert (page["status"], page["title"], page["content_type"]) == (200, "Test page", "text/html")
    assert page["text"].splitlines()[:3] == [
        "Hello, sandbox",
        "",
        "First paragraph with a relative link.",
    ]
    assert "hidden" not in page["text"] and "color" not in page["text"]
    assert page["links"] == [
        {"url": "http://example.com/next", "text": "relative link"},
        {"url": "https://example.org/x", "text": "absolute"},
    ]
    (attempt,) = run.result.egress
    assert (attempt.host, attempt.port, attempt.allowed) == ("example.com", 80, True)


def test_fetch_caps_the_body(fetch: Any) -> None:
    """Only max_bytes of the body are read, and the output says it was truncated."""
    run = fetch(url="http://example.com/bytes?n=5000", max_bytes=100)
    assert (run.output["bytes"], run.output["truncated"]) == (100, True)
    assert run.output["text"] == "x" * 100


def test_fetch_refuses_binary_content(fetch: Any) -> None:
    """A body that is neither HTML nor text is refused with its content type."""
    message = tool_error(fetch(url="http://example.com/image").result)
    assert message == "unsupported content type image/png (only HTML and text)"


def test_fetch_of_a_host_not_allowed_is_denied(fetch: Any, origin: Origin) -> None:
    """A URL on a host outside the skill's allowlist fails with the proxy's reason, a violation."""
    run = fetch(url="http://blocked.test/echo?t=fetch-denied")
    assert tool_error(run.result) == "egress denied: blocked.test:80 (not on the allowlist)"
    assert "egress denied: blocked.test:80 (not on the allowlist)" in run.result.violations
    assert origin.requests_for("fetch-denied") == []


def test_redirect_to_a_host_not_allowed_is_denied(fetch: Any) -> None:
    """A redirect is a new request through the proxy: off the allowlist, it is refused."""
    run = fetch(url="http://example.com/redirect?to=http://blocked.test/echo")
    assert tool_error(run.result) == "egress denied: blocked.test:80 (not on the allowlist)"
    assert [(a.host, a.allowed) for a in run.result.egress] == [
        ("example.com", True),
        ("blocked.test", False),
    ]


@pytest.mark.parametrize("host", ["example.com", "en.wikipedia.org"])
def test_https_reaches_the_origin_and_checks_its_certificate(fetch: Any, host: str) -> None:
    """HTTPS to an allowed host tunnels to the origin, whose self-signed certificate is refused."""
    run = fetch(url=f"https://{host}/page")
    assert (
        tool_error(run.result) == f"TLS certificate of {host} not trusted: self-signed certificate"
    )
    (attempt,) = run.result.egress
    assert (attempt.method, attempt.host, attempt.port, attempt.allowed) == (
        "CONNECT",
        host,
        443,
        True,
    )


def test_https_to_a_host_not_allowed_is_denied(fetch: Any) -> None:
    """A tunnel to a host outside the allowlist is refused; the tool names host and port."""
    message = tool_error(fetch(url="https://blocked.test/").result)
    assert message.startswith("egress denied: blocked.test:443 (refused by skillrt's egress proxy")


def _cli(origin: Origin, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        TEST_ALLOW_ENV: origin.address,
        TEST_HOSTS_ENV: f"example.com={origin.address},blocked.test={origin.address}",
    }
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=paths.PROJECT_ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def test_skillrt_run_shows_egress(origin: Origin) -> None:
    """skillrt run lists allowed egress and denied attempts, and warns of test-only settings."""
    allowed = _cli(
        origin,
        "run",
        "http-fetch",
        "--tool",
        "fetch",
        "--input",
        '{"url": "http://example.com/page"}',
    )
    assert allowed.returncode == 0, allowed.stderr
    assert f"egress: GET example.com:80 via {origin.address}:" in allowed.stdout
    assert "TEST-ONLY egress settings" in allowed.stderr
    denied = _cli(
        origin,
        "run",
        "http-fetch",
        "--tool",
        "fetch",
        "--json",
        "--input",
        '{"url": "http://blocked.test/"}',
    )
    assert denied.returncode == 1
    doc = json.loads(denied.stdout)
    assert doc["violations"] == ["egress denied: blocked.test:80 (not on the allowlist)"]
    assert doc["egress"][0]["allowed"] is False
