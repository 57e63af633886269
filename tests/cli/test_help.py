"""Help shows how sizes, durations and dates are written, with examples, and the date flags take
what their help says."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from runtime.cli.flags import date_flag
from runtime.cli.main import main


def help_text(capsys: pytest.CaptureFixture[str], *verb: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*verb, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines where it likes


@pytest.mark.parametrize("verb", [["run"], ["exec"], ["invoke"]])
def test_limit_flags_show_their_formats(
    verb: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--memory SIZE and --wall-time DUR say how they are written (64MiB, 2s)."""
    text = help_text(capsys, *verb)
    assert "--memory SIZE memory limit, e.g. 64MiB" in text
    assert "--wall-time DUR wall-clock limit, e.g. 2s" in text
    assert "examples:" in text and "exit status:" in text


@pytest.mark.parametrize(
    "verb", [["audit", "export"], ["audit", "tail"], ["data", "export"], ["data", "delete"]]
)
def test_date_flags_show_their_formats(verb: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every DATE flag says it takes a date like 2026-11-01 or an age like 7d."""
    text = help_text(capsys, *verb)
    assert "DATE e.g. 2026-11-01" in text and "or 7d: that long ago" in text


def test_duration_flags_of_tokens_show_their_formats(capsys: pytest.CaptureFixture[str]) -> None:
    """--ttl says how a duration is written."""
    assert "--ttl DUR expires after this long, e.g. 2s" in help_text(capsys, "token", "create")


def test_an_age_is_that_long_before_now() -> None:
    """--since 7d is seven days before the moment it is read."""
    before = datetime.now(UTC)
    moment = date_flag("--since")("7d")
    after = datetime.now(UTC)
    assert before - timedelta(days=7) <= moment <= after - timedelta(days=7)


def test_a_date_without_a_zone_is_utc() -> None:
    """2026-11-01 is midnight UTC."""
    assert date_flag("--since")("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["7", "last week", "2026-13-01"])
def test_anything_else_is_refused_naming_the_forms(text: str) -> None:
    """A bare number (a date cut short?) or words are refused with the forms it takes."""
    with pytest.raises(argparse.ArgumentTypeError, match=r"like 2026-11-01 .* or an age like 7d"):
        date_flag("--since")(text)


def test_a_bad_date_flag_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`--since nope` exits 2 with one line naming the flag."""
    with pytest.raises(SystemExit) as exited:
        main(["audit", "export", "--since", "nope"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1 and "--since" in err


def test_vet_help_shows_examples_severities_and_exit_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`vet --help` names the severities --fail-on takes, with examples and exit statuses."""
    text = help_text(capsys, "vet")
    assert "--fail-on SEVERITY" in text and "info, low, medium (default), high, critical" in text
    assert "examples: skillrt vet ./my-skill" in text and "exit status:" in text
