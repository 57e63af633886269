"""text-stats/analyze, run in its real sandbox."""

from __future__ import annotations

import json

import pytest

from runtime.errors import InputValidationError
from tests.skills.runner import Cli, SkillRunner, assert_one_line_error, tool_error

POEM = "One fish. Two fish!\nRed fish, blue fish?\n"


def test_counts_characters_words_lines_and_sentences(skills: SkillRunner) -> None:
    """Characters, words, lines and sentences of a short text are counted exactly."""
    out = skills.output("text-stats", "analyze", {"text": POEM})
    assert (out["characters"], out["words"], out["lines"], out["sentences"]) == (41, 8, 2, 3)


def test_output_has_exactly_the_documented_fields(skills: SkillRunner) -> None:
    """The result object carries the documented fields and nothing else."""
    out = skills.output("text-stats", "analyze", {"text": POEM})
    assert set(out) == {
        "characters",
        "words",
        "lines",
        "sentences",
        "unique_words",
        "average_word_length",
        "top_words",
        "reading_time_seconds",
    }


def test_top_words_rank_by_count_then_alphabet_ignoring_case(skills: SkillRunner) -> None:
    """Top words are case-folded, most frequent first, ties alphabetical, cut at ``top``."""
    out = skills.output("text-stats", "analyze", {"text": POEM + "FISH two", "top": 3})
    assert out["unique_words"] == 5
    assert out["top_words"] == [
        {"word": "fish", "count": 5},
        {"word": "two", "count": 2},
        {"word": "blue", "count": 1},
    ]


def test_top_defaults_to_ten(skills: SkillRunner) -> None:
    """Without ``top`` the ten most frequent words are listed."""
    text = " ".join(f"w{n}" for n in range(20))
    out = skills.output("text-stats", "analyze", {"text": text})
    assert len(out["top_words"]) == 10


def test_words_join_across_apostrophes_hyphens_and_decimal_points(skills: SkillRunner) -> None:
    """ "don't", "nsjail-based", "3.14" and "1,000" are one word each; punctuation is none."""
    out = skills.output("text-stats", "analyze", {"text": "Don't -- nsjail-based 3.14 1,000 !!"})
    assert out["words"] == 4
    assert [w["word"] for w in out["top_words"]] == ["1,000", "3.14", "don't", "nsjail-based"]


def test_typographic_apostrophe_counts_as_a_plain_one(skills: SkillRunner) -> None:
    """ "Don\u2019t" and "don't" are the same word."""
    out = skills.output("text-stats", "analyze", {"text": "Don\u2019t. don't"})
    assert out["top_words"] == [{"word": "don't", "count": 2}]


def test_a_decimal_point_does_not_end_a_sentence(skills: SkillRunner) -> None:
    """Only . ! ? … followed by whitespace or the end close a sentence; a last open one counts."""
    out = skills.output("text-stats", "analyze", {"text": "Pi is 3.14 roughly... Is it? Yes"})
    assert out["sentences"] == 3


def test_reading_time_is_238_words_per_minute(skills: SkillRunner) -> None:
    """476 words take two minutes to read."""
    out = skills.output("text-stats", "analyze", {"text": "word " * 476})
    assert out["reading_time_seconds"] == 120.0


def test_average_word_length_is_rounded_to_two_decimals(skills: SkillRunner) -> None:
    """The mean word length of "a a bb", 4/3, is reported as 1.33."""
    out = skills.output("text-stats", "analyze", {"text": "a a bb"})
    assert out["average_word_length"] == 1.33


def test_empty_text_counts_zero_everywhere(skills: SkillRunner) -> None:
    """An empty text has no lines, words or sentences and an empty top list."""
    out = skills.output("text-stats", "analyze", {"text": ""})
    assert out == {
        "characters": 0,
        "words": 0,
        "lines": 0,
        "sentences": 0,
        "unique_words": 0,
        "average_word_length": 0.0,
        "top_words": [],
        "reading_time_seconds": 0.0,
    }


def test_counts_unicode_code_points_and_words(skills: SkillRunner) -> None:
    """Non-ASCII letters are word characters and each code point is one character."""
    out = skills.output("text-stats", "analyze", {"text": "Über déjà vu\r\nçà"})
    assert (out["characters"], out["words"], out["lines"]) == (16, 4, 2)
    assert out["top_words"][0] == {"word": "déjà", "count": 1}


def test_a_million_characters_fit_the_skill_limits(skills: SkillRunner) -> None:
    """The largest text the schema allows is analyzed within the skill's tightened limits."""
    text = ("sandbox " * 125_000)[:1_000_000]
    out = skills.output("text-stats", "analyze", {"text": text})
    assert out["words"] == 125_000
    assert out["top_words"] == [{"word": "sandbox", "count": 125_000}]


def test_a_million_characters_of_distinct_words_fit_the_memory_limit(
    skills: SkillRunner,
) -> None:
    """A million characters of 333,333 different words stay within the 128 MiB limit."""
    cjk = [chr(0x4E00 + n) for n in range(600)]
    text = "".join(f"{a}{b} " for a in cjk for b in cjk)[: 333_333 * 3]
    out = skills.output("text-stats", "analyze", {"text": text, "top": 1})
    assert (out["words"], out["unique_words"]) == (333_333, 333_333)
    assert out["top_words"] == [{"word": "\u4e00\u4e00", "count": 1}]


def test_schema_rejects_top_out_of_range(skills: SkillRunner) -> None:
    """``top`` above 100 is refused before any sandbox starts."""
    with pytest.raises(InputValidationError, match=r"input\['top'\]"):
        skills.run("text-stats", "analyze", {"text": "x", "top": 101})


def test_schema_rejects_text_over_a_million_characters(skills: SkillRunner) -> None:
    """A text longer than 1,000,000 characters is refused before any sandbox starts."""
    with pytest.raises(InputValidationError, match=r"input\['text'\]"):
        skills.run("text-stats", "analyze", {"text": "x" * 1_000_001})


def test_tool_refuses_stdin_that_is_not_json(skills: SkillRunner) -> None:
    """Run outside the runtime's schema check, the tool answers garbage with a JSON error."""
    result = skills.raw("text-stats", "analyze", b"not json")
    assert tool_error(result).startswith("input is not valid JSON")


def test_tool_refuses_a_wrongly_typed_field_itself(skills: SkillRunner) -> None:
    """Run outside the runtime's schema check, the tool still names the bad field."""
    result = skills.raw("text-stats", "analyze", b'{"text": "a", "top": true}')
    assert tool_error(result) == "input.top must be an integer from 1 to 100"


def test_cli_run_prints_the_analysis_as_json(cli: Cli) -> None:
    """``skillrt run text-stats --json`` exits 0 and prints the tool's output in the result."""
    proc = cli(
        "run", "text-stats", "--tool", "analyze", "--input", json.dumps({"text": POEM}), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "ok"
    assert result["output"]["words"] == 8


def test_cli_refuses_input_without_text(cli: Cli) -> None:
    """Input missing ``text`` is a one-line schema error and exit code 2, no traceback."""
    proc = cli("run", "text-stats", "--tool", "analyze", "--input", '{"top": 3}')
    assert_one_line_error(proc, "'text' is a required property")
    assert proc.returncode == 2
