"""flowview query: JSON output, variables, query files, and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    assert invalid.exit_code == 8
    assert "Did you mean 'name'?" in invalid.stderr
    assert len(invalid.stderr.strip().splitlines()) == 1
    bad_var = flowview("query", BY_NAME, "--var", "name", "--api", served.url)
    assert bad_var.exit_code == 3
    missing = flowview("query", f"@{tmp_path / 'nope.graphql'}", "--api", served.url)
    assert missing.exit_code == 3
    assert "Cannot read the query file" in missing.stderr
    unreachable = flowview("query", "{ flow_run { id } }", "--api", "http://127.0.0.1:9")
    assert unreachable.exit_code == 7
    assert "could not reach http://127.0.0.1:9" in unreachable.stderr
