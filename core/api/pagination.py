"""Pages of lists without counting the whole table.

- ``Pagination`` (DRF's ``DEFAULT_PAGINATION_CLASS``): ``{"count", "count_exact", "next",
  "previous", "results"}``, ``?page_size=`` up to 200; an unfiltered list stops counting at
  ``COUNT_CAP`` and says so with ``count_exact: false``.
- ``CappedPaginator``, ``requested_page``: shared by the API and the order desk (orders.views).
"""

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

if TYPE_CHECKING:  # rest_framework.views imports this module (API settings): no cycle
    from rest_framework.views import APIView

# An unfiltered list counts at most this many rows (or up to the page asked for): an exact
# COUNT(*) grows with the table (~50 ms for 1,000,000 orders on 2 cores, docs/benchmarks.md).
COUNT_CAP = 10_000
# No list has this many pages; a larger number asked for counts as this one (and is then past
# the end: the API answers 404 "Invalid page", the desk shows its last page). Without the bound
# ``?page=9223372036854775807`` made a LIMIT beyond bigint: a 500 on PostgreSQL and SQLite.
MAX_PAGE = 1_000_000


def requested_page(value: Any) -> int:
    """The page number asked for (1 for anything that is not a positive number, at most
    ``MAX_PAGE``)."""
    try:
        return min(max(int(value), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


# Paginator is generic in the stubs only (not subscriptable at run time).
class CappedPaginator(Paginator):  # type: ignore[type-arg]
    """A Django paginator that counts at most ``cap`` rows, so the cost of the count does not
    grow with the table; ``capped`` tells whether there are more (``count`` is then a lower
    bound). The cap grows with the ``page`` asked for, so that page and the next one exist
    whenever they have rows. Shared by the order desk and the API's ``Pagination``."""

    def __init__(
        self,
        object_list: QuerySet[Any],
        per_page: int | str,
        *,
        cap: int = COUNT_CAP,
        page: int = 1,
    ) -> None:
        super().__init__(object_list, per_page)
        self.queryset = object_list
        self.cap = max(cap, (min(page, MAX_PAGE) + 1) * int(per_page))
        self.capped = False

    @cached_property
    def count(self) -> int:
        found = self.queryset.order_by()[: self.cap + 1].count()
        self.capped = found > self.cap
        return min(found, self.cap)


class Pagination(PageNumberPagination):
    """``{"count", "count_exact", "next", "previous", "results"}``.

    ``count`` is exact for a filtered list (any query parameter but ``page``, ``page_size`` and
    ``format``) and for ``?page=last``. An unfiltered list stops counting at ``COUNT_CAP`` rows
    (more on later pages): ``count`` is then a lower bound and ``count_exact`` is false. ``next``
    is there whenever another page has rows, either way."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    count_cap = COUNT_CAP
    paging_params = frozenset({"page", "page_size", "format"})

    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any], request: Request, view: "APIView | None" = None
    ) -> list[Any] | None:
        page = request.query_params.get(self.page_query_param)
        filtered = any(
            value for key, value in request.query_params.items() if key not in self.paging_params
        )
        if filtered or page in self.last_page_strings:
            self.django_paginator_class = Paginator
        else:
            # A class in all but name: called like one, it makes a CappedPaginator.
            self.django_paginator_class = cast(
                "type[Paginator[Any]]",
                partial(CappedPaginator, cap=self.count_cap, page=requested_page(page)),
            )
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None  # paginate_queryset made it
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_exact": not getattr(paginator, "capped", False),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "count_exact", "next", "previous", "results"]
        response["properties"] = {
            "count": {
                "type": "integer",
                "example": 123,
                "description": "How many results; a lower bound when `count_exact` is false.",
            },
            "count_exact": {
                "type": "boolean",
                "description": (
                    f"False when an unfiltered list has more than {COUNT_CAP:,} results and "
                    "counting stopped; filter the list (or ask for ?page=last) for an exact count."
                ),
            },
            **{k: v for k, v in response["properties"].items() if k != "count"},
        }
        return response
