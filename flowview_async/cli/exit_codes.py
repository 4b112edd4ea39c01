"""Exit codes of ``flowview``: one per kind of failure, so that scripts can tell them apart.

``flowview watch`` also ends with the final state of the run: 0 success, 1 failed, 2 any other
finished state (cancelled, skipped, looped…). Errors therefore start at 3. Click's own usage errors
(an unknown option) exit with 2, as with every click program.

=====  ====================================================================
code   meaning
=====  ====================================================================
0      done (``watch``: the run succeeded)
1      ``watch``: the run failed
2      ``watch``: the run finished in another state; or a bad command line
3      bad arguments or settings (``UsageError``: fix the command or config), or a GraphQL
       document that does not parse or fit the schema (``QueryValidationError``, found
       locally before anything is sent)
4      no such flow run / task run / flow (``NotFoundError``)
5      a name matched several flow runs (``AmbiguousMatchError``)
6      the backend refused the credentials (``AuthenticationError``)
7      the backend could not be reached, timed out, or answered garbage
8      the backend answered with GraphQL errors (``GraphQLQueryError``)
9      ``watch``/``logs --follow``: the run did not finish in time
10     record/replay: bad cassette, or a request with no recorded answer
11     a task run result that cannot be read here (``ResultError``)
12     any other flowview error
70     a bug in flowview (an unexpected exception): rerun with ``--debug``
130    interrupted (Ctrl+C)
=====  ====================================================================
"""

from __future__ import annotations

from flowview_async import errors

__all__ = [
    "EXIT_CODES",
    "FAILED",
    "OTHER_STATE",
    "SUCCESS",
    "UNEXPECTED",
    "exit_code_for",
]

SUCCESS = 0
FAILED = 1
OTHER_STATE = 2
OTHER_ERROR = 12
UNEXPECTED = 70

# Most specific first: the first class an error is an instance of decides.
EXIT_CODES: tuple[tuple[type[errors.FlowViewError], int], ...] = (
    (errors.UsageError, 3),
    # Found before anything is sent: the query given is wrong, like any other bad argument.
    (errors.QueryValidationError, 3),
    (errors.FixtureError, 3),
    (errors.NotFoundError, 4),
    (errors.AmbiguousMatchError, 5),
    (errors.AuthenticationError, 6),
    (errors.TransportError, 7),
    (errors.GraphQLQueryError, 8),
    (errors.WatchTimeoutError, 9),
    (errors.RecordingError, 10),
    (errors.ResultError, 11),
)


def exit_code_for(error: errors.FlowViewError) -> int:
    """The exit code ``flowview`` ends with when ``error`` stops it."""
    for error_class, code in EXIT_CODES:
        if isinstance(error, error_class):
            return code
    return OTHER_ERROR
