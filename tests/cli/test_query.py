"""flowview query: JSON output, variables, query files, and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowview_async.cli.query_command import parse_variables
from flowview_async.errors import InvalidArgumentError
from tests.cli.conftest import ThreadedBackend

BY_NAME = "query Run($name: String!) { flow_run(where: {name: {_eq: $name}}) { id name } }"


def test_prints_the_data_as_json(served: ThreadedBackend, flowview: Any) -> None:
    document = """{ flow_run(where: {name: {_in: ["woodoo-leopard", "tranquil-dolphin"]}},
                             order_by: {name: asc}) { name } }"""
    result = flowview("query", document, "--api", served.url)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"flow_run": [
        {"name": "tranquil-dolphin"}, {"name": "woodoo-leopard"}]}


def test_variables_and_json(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("query", BY_NAME, "--var", "name=woodoo-leopard", "--api", served.url, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"flow_run": [
        {"id": "8e445d74-9ca6-425b-98e5-72754b7ea174", "name": "woodoo-leopard"}]}
    limited = flowview("query", "query Few($n: Int) { flow_run(limit: $n) { id } }", "--var", "n=2",
                       "--api", served.url, "--json")
    assert len(json.loads(limited.stdout)["flow_run"]) == 2


def test_query_from_a_file(served: ThreadedBackend, flowview: Any, tmp_path: Path) -> None:
    path = tmp_path / "run.graphql"
    path.write_text(BY_NAME)
    result = flowview("query", f"@{path}", "--var", "name=tranquil-dolphin", "--api", served.url,
                      "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["flow_run"][0]["name"] == "tranquil-dolphin"


def test_errors(served: ThreadedBackend, flowview: Any, tmp_path: Path) -> None:
    invalid = flowview("query", "{ flow_run { nme } }", "--api", served.url)
    assert invalid.exit_code == 3  # found locally, before anything is sent
    assert "Did you mean 'name'?" in invalid.stderr
    assert len(invalid.stderr.strip().splitlines()) == 1
    syntax = flowview("query", "{ flow_run { id ", "--api", served.url)
    assert syntax.exit_code == 3
    assert syntax.stderr.startswith("Error: ")
    bad_var = flowview("query", BY_NAME, "--var", "name", "--api", served.url)
    assert bad_var.exit_code == 3
    missing = flowview("query", f"@{tmp_path / 'nope.graphql'}", "--api", served.url)
    assert missing.exit_code == 3
    assert "Cannot read the query file" in missing.stderr
    unreachable = flowview("query", "{ flow_run { id } }", "--api", "http://127.0.0.1:9")
    assert unreachable.exit_code == 7
    assert "could not reach http://127.0.0.1:9" in unreachable.stderr


NAMED = "query ($n: String!) { flow_run(where: {name: {_eq: $n}}) { id } }"


def test_a_string_variable_keeps_text_that_looks_like_json(served: ThreadedBackend,
                                                           flowview: Any) -> None:
    # Before, "123" became the integer 123 and the query was refused.
    result = flowview("query", NAMED, "--var", "n=123", "--api", served.url, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"flow_run": []}


@pytest.mark.parametrize(("declared", "raw", "value"), [
    ("String", "123", "123"),
    ("String!", "true", "true"),
    ("ID", "7", "7"),
    ("uuid", "null", "null"),
    ("timestamptz", "2021-05-13T09:00:00Z", "2021-05-13T09:00:00Z"),
    ("order_by", "asc", "asc"),
    ("Int", "3", 3),
    ("Float", "1", 1),
    ("Float", "2.5", 2.5),
    ("Boolean", "false", False),
    ("jsonb", '{"a": [1]}', {"a": [1]}),
    ("JSON", "12", 12),
    ("[uuid!]", '["a", "b"]', ["a", "b"]),
    ("flow_run_bool_exp", '{"name": {"_eq": "x"}}', {"name": {"_eq": "x"}}),
])
def test_values_follow_the_declared_type(declared: str, raw: str, value: Any) -> None:
    document = f"query ($v: {declared}) {{ hello }}"
    assert parse_variables((f"v={raw}",), document) == {"v": value}


@pytest.mark.parametrize(("declared", "raw", "message"), [
    ("Int", "three", "$v is declared Int; give an Int value, e.g. --var v=10"),
    ("Int", "2.5", "give an Int value"),
    ("Boolean", "yes", "e.g. --var v=true"),
    ("[String]", "a,b", "must be a list"),
    ("[String]", '"a"', "give a JSON list"),
    ("flow_run_bool_exp", "[]", "give a JSON object"),
    ("jsonb", "{oops", "must be a value written as JSON"),
])
def test_values_that_do_not_fit_are_clear_usage_errors(declared: str, raw: str,
                                                       message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_variables((f"v={raw}",), f"query ($v: {declared}) {{ hello }}")
    assert message in str(caught.value)


def test_a_variable_the_query_does_not_declare(served: ThreadedBackend, flowview: Any) -> None:
    result = flowview("query", NAMED, "--var", "name=x", "--api", served.url)
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: --var name: the query declares no $name (it declares $n)")
