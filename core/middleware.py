"""Refusing hostile requests at the edge, before any view, form or query sees them.

``HostileInputMiddleware`` (placed right after ``SecurityMiddleware``):

- a NUL (``%00``) in the URL path: 404 (JSON under ``/api/``, like any unknown path), since no
  order number, SKU or code can contain one (PostgreSQL would refuse the lookup: a 500);
- a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (file uploads excepted): 413, JSON
  ``{"code": "too_large", "detail": ...}`` under ``/api/``, a short page elsewhere;
- a query-string or form parameter with a NUL, an unpaired surrogate or bytes that are not
  UTF-8: 400 naming the parameter (``{"code": "invalid", "q": ["Contains a NUL ..."]}`` under
  ``/api/``, a page listing them elsewhere). This one check covers every back-office form,
  formset, filter and search (see ``core.text`` for why here rather than in each form).

JSON bodies are checked by the API's parser (``core.api.parsers.JSONParser``).
"""

from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from core.api.errors import with_code
from core.errors import INVALID
from core.text import KEY_MESSAGE, NON_FIELD_KEY, text_problem

API_PREFIX = "/api/"
UNREADABLE_FORM = "The form data cannot be read (malformed multipart body)."


def _utf8(latin1: str) -> str:
    """A string whose characters are bytes (PEP 3333) as UTF-8 text; bad bytes become lone
    surrogates (``surrogateescape``), which ``text_problem`` then refuses."""
    return latin1.encode("latin-1").decode("utf-8", "surrogateescape")


def parameter_problems(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for key, value in pairs:
        if text_problem(key):
            errors.setdefault(NON_FIELD_KEY, [KEY_MESSAGE])
            continue
        problem = text_problem(value)
        if problem:
            errors.setdefault(key, [problem])
    return errors


def _encoded_pairs(raw: str) -> list[tuple[str, str]]:
    """``(name, value)`` of a query string or form body (characters standing for bytes)."""
    try:
        pairs = parse_qsl(
            raw,
            keep_blank_values=True,
            encoding="latin-1",
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except ValueError:  # too many fields: Django's own check answers 400 later
        return []
    return [(_utf8(key), _utf8(value)) for key, value in pairs]


class HostileInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path_info:
            raise Http404("No page has a NUL character in its address.")
        too_large = self._too_large(request)
        if too_large is not None:
            return too_large
        self._drop_bad_cookies(request)
        try:
            errors = parameter_problems(_encoded_pairs(request.META.get("QUERY_STRING", "")))
            if not errors:
                # Django decodes the query with the charset a Content-Type header names
                # (utf-7 turns "+AAA-" into a NUL): check what the views will read, too.
                errors = parameter_problems(
                    (key, value) for key, values in request.GET.lists() for value in values
                )
            if not errors:
                errors = self._body_problems(request)
        except RequestDataTooBig:
            return self._refuse(request, 413, None)
        except MultiPartParserError:
            return self._refuse(request, 400, {NON_FIELD_KEY: [UNREADABLE_FORM]})
        if errors:
            return self._refuse(request, 400, errors)
        return self.get_response(request)

    @staticmethod
    def _drop_bad_cookies(request: HttpRequest) -> None:
        """A cookie is not a field anybody can name in an error: one with a NUL or a lone
        surrogate (Django decodes "\\000" escapes) is dropped, as if never sent, so a session
        key never reaches the database with a NUL in it."""
        for name, value in list(request.COOKIES.items()):
            if text_problem(name) or text_problem(value):
                del request.COOKIES[name]

    def _too_large(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or request.content_type == "multipart/form-data":
            return None  # files stream to disk; their other fields are counted when read
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        return self._refuse(request, 413, None) if length > limit else None

    def _body_problems(self, request: HttpRequest) -> dict[str, list[str]]:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return {}
        if request.content_type == "application/x-www-form-urlencoded":
            return parameter_problems(_encoded_pairs(request.body.decode("latin-1")))
        if request.content_type == "multipart/form-data" and not request.path.startswith(
            API_PREFIX
        ):
            # The API takes JSON only: reading request.POST here would hand DRF the parsed form
            # (and a 400) instead of letting it answer 415 Unsupported Media Type.
            # Django decoded these already (invalid UTF-8 became U+FFFD); NUL is what is left.
            return parameter_problems(
                (key, value) for key, values in request.POST.lists() for value in values
            )
        return {}

    def _refuse(
        self, request: HttpRequest, status: int, errors: dict[str, list[str]] | None
    ) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = (
            f"The request body is larger than the {limit:,} bytes this server accepts."
            if status == 413
            else "Some parameters are not valid text."
        )
        if request.path.startswith(API_PREFIX):
            if errors is None:
                return JsonResponse({"code": "too_large", "detail": detail}, status=status)
            return JsonResponse(with_code(errors, INVALID), status=status)
        return render(
            request,
            "input_refused.html",
            {"status": status, "detail": detail, "errors": (errors or {}).items()},
            status=status,
        )
