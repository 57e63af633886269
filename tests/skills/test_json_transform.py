"""json-transform/csv_to_json and json-transform/query, run in their real sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.errors import InputValidationError
from tests.skills.runner import Cli, SkillRunner, assert_one_line_error, tool_error

DOC: dict[str, Any] = {
    "items": [{"name": "pen", "price": 2}, {"name": "ink", "price": 2.0}, {"name": "pad"}],
    "users": [
        {"email": "a@x", "active": True},
        {"email": "b@x", "active": 1},
        {"email": "c@x", "active": "true"},
        {"name": "no email", "active": True},
    ],
    "hosts": {"example.com": "93.184.216.34", "*": "any"},
    "teams": {
        "red": {"members": [{"n": "ann", "lead": True}, {"n": "bo"}]},
        "blue": {"members": [{"n": "cy", "lead": True}]},
    },
}


def csv(skills: SkillRunner, **value: Any) -> Any:
    return skills.output("json-transform", "csv_to_json", value)


def query(skills: SkillRunner, select: list[str], **extra: Any) -> Any:
    output = skills.output("json-transform", "query", {"data": DOC, "select": select, **extra})
    return output


# csv_to_json -------------------------------------------------------------------------------------


def test_csv_header_names_the_columns_of_each_row(skills: SkillRunner) -> None:
    """With a header, each row is an object keyed by the header's names; values stay strings."""
    out = csv(skills, csv="name,age\nAda,36\nAlan,41\n")
    assert out == {
        "columns": ["name", "age"],
        "rows": [{"name": "Ada", "age": "36"}, {"name": "Alan", "age": "41"}],
    }


def test_csv_quoted_fields_keep_delimiters_quotes_and_newlines(skills: SkillRunner) -> None:
    """RFC 4180 quoting: commas, doubled quotes and line breaks inside quotes are data."""
    out = csv(skills, csv='a,b\n"x, y","say ""hi""\nthere"\n')
    assert out["rows"] == [{"a": "x, y", "b": 'say "hi"\nthere'}]


def test_csv_other_delimiter(skills: SkillRunner) -> None:
    """A tab delimiter parses TSV."""
    out = csv(skills, csv="k\tv\none\t1\n", delimiter="\t")
    assert out["rows"] == [{"k": "one", "v": "1"}]


def test_csv_without_header_names_columns_by_position(skills: SkillRunner) -> None:
    """Without a header the columns are column_1..column_N, N the widest row."""
    out = csv(skills, csv="1,2\n3,4,5\n", header=False)
    assert out == {
        "columns": ["column_1", "column_2", "column_3"],
        "rows": [
            {"column_1": "1", "column_2": "2", "column_3": None},
            {"column_1": "3", "column_2": "4", "column_3": "5"},
        ],
    }


def test_csv_short_rows_are_padded_with_null_and_blank_lines_skipped(skills: SkillRunner) -> None:
    """A row with fewer fields than the header gets null; an empty line is no row."""
    out = csv(skills, csv="a,b,c\n1\n\n2,3,4\n")
    assert out["rows"] == [{"a": "1", "b": None, "c": None}, {"a": "2", "b": "3", "c": "4"}]


def test_csv_byte_order_mark_and_header_spaces_are_dropped(skills: SkillRunner) -> None:
    """A leading BOM (Excel exports) and spaces around header names do not leak into names."""
    out = csv(skills, csv="\ufeffid , name\n1,x\n")
    assert out["columns"] == ["id", "name"]


def test_csv_empty_text_has_no_columns_or_rows(skills: SkillRunner) -> None:
    """An empty CSV is an empty table, not an error."""
    assert csv(skills, csv="") == {"columns": [], "rows": []}


def test_csv_row_longer_than_header_is_an_error(skills: SkillRunner) -> None:
    """A row with more fields than the header would lose data: it is refused, naming the line."""
    message = skills.error("json-transform", "csv_to_json", {"csv": "a,b\n1,2\n1,2,3\n"})
    assert message == "csv line 3: 3 fields, but the header has 2"


def test_csv_repeated_header_name_is_an_error(skills: SkillRunner) -> None:
    """Two columns of the same name would overwrite each other: the header is refused."""
    message = skills.error("json-transform", "csv_to_json", {"csv": "a,b,a\n1,2,3\n"})
    assert message.startswith("csv header: column 3 repeats the name 'a' of column 1")


def test_csv_malformed_quoting_is_an_error(skills: SkillRunner) -> None:
    """Text after a closing quote is a parse error naming the line, not a silent guess."""
    message = skills.error("json-transform", "csv_to_json", {"csv": 'a,b\n1,"2"x\n'})
    assert message == "csv line 2: ',' expected after '\"'"


def test_csv_schema_rejects_a_two_character_delimiter(skills: SkillRunner) -> None:
    """The delimiter must be one character; longer is refused before any sandbox starts."""
    with pytest.raises(InputValidationError, match=r"input\['delimiter'\]"):
        skills.run("json-transform", "csv_to_json", {"csv": "a", "delimiter": "::"})


def test_csv_schema_rejects_a_quote_as_delimiter(skills: SkillRunner) -> None:
    """A double quote cannot be the delimiter."""
    with pytest.raises(InputValidationError, match=r"input\['delimiter'\]"):
        skills.run("json-transform", "csv_to_json", {"csv": "a", "delimiter": '"'})


# query -------------------------------------------------------------------------------------------


def test_query_keys_and_indexes(skills: SkillRunner) -> None:
    """Segments are object keys or array indexes, -1 being the last element."""
    out = query(skills, ["items.0.name", "items.-1.name", "hosts"])
    assert out["results"] == {
        "items.0.name": "pen",
        "items.-1.name": "pad",
        "hosts": DOC["hosts"],
    }


def test_query_missing_path_is_null_and_listed(skills: SkillRunner) -> None:
    """A path that does not exist gives null and is listed under ``missing``."""
    out = query(skills, ["items.9.name", "items.name", "users.0.email"])
    assert out == {
        "results": {"items.9.name": None, "items.name": None, "users.0.email": "a@x"},
        "missing": ["items.9.name", "items.name"],
    }


def test_query_wildcard_lists_values_and_skips_items_without_the_rest(skills: SkillRunner) -> None:
    """users.*.email lists every email, leaving out users that have none."""
    out = query(skills, ["users.*.email"])
    assert out == {"results": {"users.*.email": ["a@x", "b@x", "c@x"]}, "missing": []}


def test_query_wildcard_over_object_values_and_nested(skills: SkillRunner) -> None:
    """'*' also walks an object's values, and wildcards nest."""
    out = query(skills, ["teams.*.members.*.n"])
    assert out["results"] == {"teams.*.members.*.n": ["ann", "bo", "cy"]}


def test_query_escaped_dot_and_star_are_literal_key_characters(skills: SkillRunner) -> None:
    """hosts.example\\.com reads the key "example.com"; hosts.\\* reads the key "*"."""
    out = query(skills, ["hosts.example\\.com", "hosts.\\*"])
    assert out["results"] == {"hosts.example\\.com": "93.184.216.34", "hosts.\\*": "any"}


def test_query_empty_path_is_the_whole_document(skills: SkillRunner) -> None:
    """The path "" selects the data itself."""
    assert query(skills, [""])["results"] == {"": DOC}


def test_query_where_filters_the_items_of_the_last_wildcard(skills: SkillRunner) -> None:
    """where keeps the items matched by the last '*' whose where.path equals where.equals."""
    out = query(skills, ["teams.*.members.*.n"], where={"path": "lead", "equals": True})
    assert out["results"] == {"teams.*.members.*.n": ["ann", "cy"]}


def test_query_where_uses_json_equality(skills: SkillRunner) -> None:
    """true equals only true (not 1 or "true"), while 2 equals 2.0."""
    active = query(skills, ["users.*.email"], where={"path": "active", "equals": True})
    priced = query(skills, ["items.*.name"], where={"path": "price", "equals": 2})
    assert active["results"] == {"users.*.email": ["a@x"]}
    assert priced["results"] == {"items.*.name": ["pen", "ink"]}


def test_query_where_needs_a_wildcard_in_every_select_path(skills: SkillRunner) -> None:
    """where with a select path that has no '*' is refused: there is nothing to filter."""
    message = skills.error(
        "json-transform",
        "query",
        {"data": DOC, "select": ["items.0"], "where": {"path": "price", "equals": 2}},
    )
    assert message == "select path 'items.0' has no '*': 'where' filters the items a '*' matches"


def test_query_empty_segment_is_an_error(skills: SkillRunner) -> None:
    """a..b has an empty segment: the path passes the schema but the tool refuses it."""
    message = skills.error("json-transform", "query", {"data": DOC, "select": ["items..name"]})
    assert message == "input.select: 'items..name' has an empty segment"


def test_query_star_inside_a_segment_is_an_error(skills: SkillRunner) -> None:
    """'*' is not a glob: "it*ms" is refused rather than matched literally by surprise."""
    message = skills.error("json-transform", "query", {"data": DOC, "select": ["it*ms"]})
    assert "'*' must be a whole segment" in message


def test_query_refuses_data_nested_too_deeply_to_parse(skills: SkillRunner) -> None:
    """Arrays nested 5,000 deep get a JSON error from the tool, not a Python traceback."""
    stdin = b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b', "select": [""]}'
    assert tool_error(skills.raw("json-transform", "query", stdin)) == "input is nested too deeply"


def test_query_schema_requires_select(skills: SkillRunner) -> None:
    """Input without ``select`` is refused before any sandbox starts."""
    with pytest.raises(InputValidationError, match="'select' is a required property"):
        skills.run("json-transform", "query", {"data": DOC})


def test_cli_query_prints_the_results_as_json(cli: Cli) -> None:
    """``skillrt run json-transform --tool query --json`` exits 0 with the selected values."""
    value = {"data": DOC, "select": ["users.*.email"]}
    proc = cli("run", "json-transform", "--tool", "query", "--input", json.dumps(value), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"]["results"] == {"users.*.email": ["a@x", "b@x", "c@x"]}


def test_cli_csv_to_json_refuses_a_wrongly_typed_header_flag(cli: Cli) -> None:
    """``header`` given as a string is a one-line schema error and exit code 2."""
    value = {"csv": "a\n1\n", "header": "yes"}
    proc = cli("run", "json-transform", "--tool", "csv_to_json", "--input", json.dumps(value))
    assert_one_line_error(proc, "input['header']: 'yes' is not of type 'boolean'")
    assert proc.returncode == 2
