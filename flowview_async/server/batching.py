"""Apollo batching: a JSON array of operations answered with a JSON array of results, in order.

Prefect's legacy UI batches every request (``apollo-link-batch-http``, up to 25 operations). As
Apollo Server does, the batch itself is answered HTTP 200 and each result carries its own
``errors``, whether its operation was refused before execution (parse, validation, limits) or
failed while running. The batch as a whole is refused (HTTP 400, one error) when it holds more than
:attr:`~.limits.Limits.max_batch` operations or when the estimated costs of its operations add up
to more than :attr:`~.limits.Limits.max_cost`: every operation is checked before any runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import DocumentNode

from flowview_async.server.database import Database
from flowview_async.server.documents import Checked, DocumentChecker, Refused
from flowview_async.server.limits import cost_message
from flowview_async.server.payloads import Payload, error_body

Execute = Callable[
    [DocumentChecker, Database, Payload, DocumentNode], Awaitable[tuple[int, dict[str, Any]]]
]


async def answer_batch(
    checker: DocumentChecker, database: Database, operations: Sequence[Payload], execute: Execute
) -> tuple[int, Any]:
    """The HTTP status and the JSON body (a list, or one error object) for a batch."""
    checked: list[Checked | tuple[int, dict[str, Any]]] = []
    total = 0
    for payload in operations:
        if payload.error is not None:
            checked.append(payload.error)
            continue
        try:
            found = await checker.check(payload)
        except Refused as refusal:
            checked.append((refusal.status, refusal.body))
            continue
        checked.append(found)
        total += found.cost.cost
    if total > checker.limits.max_cost:
        message = "the batch's operations together: " + cost_message(total, checker.limits)
        return 400, error_body(message, "QUERY_TOO_COMPLEX")
    answers = []
    for payload, outcome in zip(operations, checked, strict=True):
        if isinstance(outcome, Checked):
            _status, body = await execute(checker, database, payload, outcome.document)
        else:
            _status, body = outcome
        answers.append(body)
    return 200, answers
