"""Keyset paging: walk a large result page by page, in constant memory, with no row lost or
repeated even when rows are added meanwhile or share their first sort key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from flowview_async._rows import Row, root_rows
from flowview_async.errors import InvalidArgumentError

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = ["DEFAULT_PAGE_SIZE", "check_page_size", "keyset_pages"]

DEFAULT_PAGE_SIZE = 1000


def check_page_size(page_size: int) -> int:
    if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
        msg = f"page_size must be a positive integer, got {page_size!r}."
        raise InvalidArgumentError(msg)
    return page_size


def _after(keys: tuple[str, str], cursor: tuple[Any, Any]) -> dict[str, Any]:
    first, second = keys
    return {
        "_or": [
            {first: {"_gt": cursor[0]}},
            {first: {"_eq": cursor[0]}, second: {"_gt": cursor[1]}},
        ]
    }


async def keyset_pages(
    client: Client,
    document: str,
    *,
    root: str,
    where: Mapping[str, Any],
    keys: tuple[str, str],
    page_size: int,
    what: str,
) -> AsyncIterator[list[Row]]:
    """Yield the rows of ``document`` page by page.

    ``document`` must take ``$where`` and ``$limit`` and order by ``keys`` (both ascending); the
    last row of each page becomes the cursor of the next.
    """
    check_page_size(page_size)
    cursor: tuple[Any, Any] | None = None
    while True:
        page_where = dict(where) if cursor is None else {"_and": [dict(where), _after(keys, cursor)]}
        # One row more than a page says whether another page follows, so a result that is an
        # exact multiple of the page size costs no extra, empty request.
        data = await client.execute(document, {"where": page_where, "limit": page_size + 1})
        rows = root_rows(data, root, what)
        page = rows[:page_size]
        if page:
            yield page
        if len(rows) <= page_size:
            return
        last = page[-1].raw
        cursor = (last.get(keys[0]), last.get(keys[1]))
