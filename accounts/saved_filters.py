"""The order desk's saved filters: a person names the filters they are looking at, gets them
back from the desk's menu, and deletes them. Each person sees and deletes only their own."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .models import (
    SAVED_FILTER_NAME_MAX,
    SAVED_FILTER_QUERY_MAX,
    SAVED_FILTERS_MAX,
    SavedFilter,
)


def _desk(query: str) -> HttpResponseBase:
    return redirect(reverse("orders:list") + (f"?{query}" if query else ""))


def _clean_query(raw: str) -> str:
    """The filters only: no page number, re-encoded (only a query string is kept)."""
    query = QueryDict(raw[:SAVED_FILTER_QUERY_MAX], mutable=True)
    query.pop("page", None)
    return query.urlencode()[:SAVED_FILTER_QUERY_MAX]


@login_required
@permission_required("orders.view_order", raise_exception=True)
@require_POST
def saved_filter_save(request: HttpRequest) -> HttpResponseBase:
    user = request.user
    if not isinstance(user, User):  # login_required let only a signed-in person in
        raise PermissionDenied("Sign in to save filters.")
    query = _clean_query(request.POST.get("query", ""))
    name = " ".join(request.POST.get("name", "").split())
    if not name:
        messages.error(request, "Give the filter a name to save it.")
    elif len(name) > SAVED_FILTER_NAME_MAX:
        messages.error(request, f"A filter's name has at most {SAVED_FILTER_NAME_MAX} characters.")
    else:
        mine = SavedFilter.objects.filter(user=user)
        existing = mine.filter(name=name).first()
        if existing is not None:
            existing.query = query
            existing.save(update_fields=["query"])
            messages.success(request, f"Filter “{name}” updated.")
        elif mine.count() >= SAVED_FILTERS_MAX:
            messages.error(
                request, f"You have {SAVED_FILTERS_MAX} saved filters: delete one first."
            )
        else:
            SavedFilter.objects.create(user=user, name=name, query=query)
            messages.success(request, f"Filter “{name}” saved.")
    return _desk(query)


@login_required
@permission_required("orders.view_order", raise_exception=True)
@require_POST
def saved_filter_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    saved = get_object_or_404(SavedFilter, pk=pk, user=request.user)  # others' are 404
    saved.delete()
    messages.success(request, f"Filter “{saved.name}” deleted.")
    return _desk(_clean_query(request.POST.get("query", "")))
