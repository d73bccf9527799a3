"""Counting pages without counting the whole table: shared by the order desk (orders.views) and
the REST API's ``Pagination`` (oms.api)."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

# An unfiltered list counts at most this many rows (or up to the page asked for): an exact
# COUNT(*) grows with the table (~50 ms for 1,000,000 orders on 2 cores, docs/benchmarks.md).
COUNT_CAP = 10_000
# No list has this many pages; a larger number asked for counts as this one (and is then past
# the end: the API answers 404 "Invalid page", the desk shows its last page). Without the bound
# ``?page=9223372036854775807`` made a LIMIT beyond bigint: a 500 on PostgreSQL and SQLite.
MAX_PAGE = 1_000_000


def requested_page(value) -> int:
    """The page number asked for (1 for anything that is not a positive number, at most
    ``MAX_PAGE``)."""
    try:
        return min(max(int(value), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


class CappedPaginator(Paginator):
    """A Django paginator that counts at most ``cap`` rows, so the cost of the count does not
    grow with the table; ``capped`` tells whether there are more (``count`` is then a lower
    bound). The cap grows with the ``page`` asked for, so that page and the next one exist
    whenever they have rows. Shared by the order desk and the API's ``Pagination``."""

    def __init__(self, object_list, per_page, *, cap: int = COUNT_CAP, page: int = 1):
        super().__init__(object_list, per_page)
        self.cap = max(cap, (min(page, MAX_PAGE) + 1) * int(per_page))
        self.capped = False

    @cached_property
    def count(self) -> int:
        found = self.object_list.order_by()[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)
