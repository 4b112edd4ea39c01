"""The parse/validation cache stays within its memory bound, however many distinct documents."""

from __future__ import annotations

import pytest

from flowview_async.server.app import served_schema
from flowview_async.server.documents import DocumentCache, DocumentChecker, Refused
from flowview_async.server.limits import Limits
from flowview_async.server.payloads import Payload


async def test_distinct_large_documents_do_not_grow_the_cache_past_its_bound() -> None:
    limits = Limits(cache_bytes=2 * 1024 * 1024)
    checker = DocumentChecker(served_schema(), limits)
    for number in range(300):
        query = "{ flow_run(limit: 1) { " + f"n{number}: id " * 300 + "} }"
        await checker.check(Payload(query))
        assert checker.cache.estimated_bytes <= limits.cache_bytes
    assert 0 < len(checker.cache) < 300
    # The most recent documents are the ones kept.
    assert checker.cached_document(query) is not None


async def test_refused_documents_are_cached_too_and_stay_refused() -> None:
    checker = DocumentChecker(served_schema(), Limits())
    for _ in range(2):
        with pytest.raises(Refused) as refused:
            await checker.check(Payload("{ flow_run { nope } }"))
        assert refused.value.status == 400
        assert refused.value.body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert len(checker.cache) == 1


def test_an_entry_larger_than_the_whole_cache_is_not_kept() -> None:
    cache = DocumentCache(max_bytes=10_000)
    cache.put("x" * 1_000, object())  # type: ignore[arg-type]
    assert len(cache) == 0
    assert cache.estimated_bytes == 0
