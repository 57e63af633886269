"""The dashboard of a real daemon: charts drawn as inline SVG from the invocation records."""

from __future__ import annotations

import pytest

from runtime.client import Client
from runtime.console import charts
from runtime.proto.skillrt.v1 import skillrt_pb2 as pb
from tests.console.conftest import Browser, ConsoleDaemon


@pytest.fixture(scope="module")
def owner(console: ConsoleDaemon) -> Browser:
    agent = console.token("dash-agent", "agent")
    with Client(console.daemon.target, token=agent) as client:
        done = client.invoke("text-stats", "analyze", {"text": "a b c"}, timeout=120)
        assert done.result.status == pb.STATUS_OK
    browser = console.browser()
    assert browser.sign_in(token=console.daemon.owner_token).status == 303
    return browser


def test_the_dashboard_draws_its_charts_inline(owner: Browser) -> None:
    """Calls, failures, CPU and memory are inline SVG, the skill that ran named in them."""
    page = owner.get("/dashboard").body
    assert page.count("<svg") == 4
    for chart in ("calls-chart", "failures-chart", "cpu-chart", "memory-chart"):
        assert f'id="{chart}"' in page
    cpu = page.split('id="cpu-chart"')[1].split("</figure>")[0]
    assert "text-stats" in cpu and "<polyline" in cpu
    assert "<script" not in page.split("<main>")[1]


def test_the_per_skill_table_counts_outcomes(owner: Browser) -> None:
    """The table below the charts counts the skill's calls by outcome."""
    table = owner.get("/dashboard?window=1h").body.split('id="per-skill"')[1]
    row = table.split("<td>text-stats</td>")[1].split("</tr>")[0]
    assert '<span class="badge ok">ok ' in row


def test_an_unknown_window_is_refused(owner: Browser) -> None:
    """A window the page does not offer is a 400 naming the field."""
    answer = owner.get("/dashboard?window=1y")
    assert answer.status == 400 and "window:" in answer.body


def test_chart_labels_are_escaped() -> None:
    """A skill's name in a chart is text, never markup."""
    drawn = charts.lines("t", ["a", "b"], {"<script>x</script>": [1.0, 2.0]}, str)
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn


def test_an_empty_chart_says_so() -> None:
    """With nothing to draw, a chart says there is nothing yet."""
    assert "nothing yet" in charts.bars("t", [], str)
    assert "nothing yet" in charts.lines("t", [], {}, str)
