"""The audit log page of a real daemon: filters, the chain's state, paging and export."""

from __future__ import annotations

import json

import pytest

from tests.console.conftest import Browser, ConsoleDaemon


@pytest.fixture(scope="module")
def owner(console: ConsoleDaemon) -> Browser:
    browser = console.browser()
    assert browser.sign_in(token=console.daemon.owner_token).status == 303
    return browser


def test_the_page_shows_entries_and_an_intact_chain(owner: Browser) -> None:
    """The page lists entries, newest first, and says the chain verifies."""
    page = owner.get("/audit").body
    assert "Chain intact, keyed" in page
    assert "console.login" in page


def test_an_event_filter_keeps_only_those_entries(owner: Browser) -> None:
    """Filtering by an event family lists only its entries."""
    page = owner.get("/audit?event=console.*").body
    events = {line.split('"')[1] for line in page.splitlines() if "data-event=" in line}
    assert events and all(e.startswith("console.") for e in events)


def test_a_bad_date_is_refused_naming_it(owner: Browser) -> None:
    """A date that is not YYYY-MM-DD is a 400 naming the field."""
    answer = owner.get("/audit?since=yesterday")
    assert answer.status == 400 and "since:" in answer.body


def test_until_the_last_day_there_is_bounds_nothing(owner: Browser) -> None:
    """Until 9999-12-31 (whose end no date follows) lists entries, on the page and export."""
    assert "console.login" in owner.get("/audit?until=9999-12-31").body
    assert owner.get("/audit/export?until=9999-12-31").status == 200


def test_the_export_is_json_lines_and_is_itself_audited(
    console: ConsoleDaemon, owner: Browser
) -> None:
    """The export downloads the selected entries as JSON lines, and records that it was made."""
    answer = owner.get("/audit/export?event=console.login")
    assert answer.status == 200 and "attachment" in answer.headers["Content-Disposition"]
    lines = [json.loads(line) for line in answer.body.splitlines()]
    assert lines and {line["event"] for line in lines} == {"console.login"}
    exported = console.audit("data.exported")
    assert exported[-1]["actor"] == "owner" and exported[-1]["entries"] == len(lines)


def test_an_approver_may_not_read_the_log(console: ConsoleDaemon) -> None:
    """QueryAudit's roles are the page's: an approver is refused."""
    password = console.add_account("yan", "approver")
    approver = console.browser()
    approver.sign_in(name="yan", password=password)
    assert approver.get("/audit").status == 403
    assert approver.get("/audit/export").status == 403
