"""The public surface: complete, sorted exports and a closed error tree."""

from __future__ import annotations

import inspect

import flowview_async
from flowview_async import _queries, _schema, errors


def test_all_is_sorted_and_complete() -> None:
    assert flowview_async.__all__ == sorted(flowview_async.__all__)
    for name in flowview_async.__all__:
        assert hasattr(flowview_async, name), name


def test_every_public_error_derives_from_flowview_error() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if name == "SchemaDriftWarning":
            assert issubclass(obj, Warning)
            continue
        assert inspect.isclass(obj), name
        assert issubclass(obj, errors.FlowViewError), name


def test_not_found_errors_are_lookup_errors_and_usage_errors_are_value_errors() -> None:
    assert issubclass(errors.FlowRunNotFoundError, LookupError)
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.RequestTimeoutError, TimeoutError)
    assert issubclass(errors.ImmutableViewError, TypeError)


def test_every_sdk_query_is_named_and_fits_the_bundled_schema() -> None:
    for name, document in _queries.ALL_DOCUMENTS.items():
        ast = _schema.parse_and_validate(document)
        operations = [d for d in ast.definitions if d.kind == "operation_definition"]
        assert len(operations) == 1
        assert operations[0].name is not None
        assert operations[0].name.value == name


def test_redact_hides_credentials() -> None:
    headers = {"Authorization": "Bearer pnu_x", "X-PREFECT-TENANT-ID": "t", "Accept": "*/*"}
    assert errors.redact(headers) == {
        "Authorization": "<redacted>", "X-PREFECT-TENANT-ID": "<redacted>", "Accept": "*/*",
    }
