"""Request bodies: the API's JSON parser checks every body once, here, before any view sees it;
``json_object`` gives a view the body as an object."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.request import Request

from core.text import find_problems

# Deeper than any document of the API (an order is 3 levels deep), far below Python's recursion
# limit, so nothing after the parser (serializers, fingerprints, renderers) can overflow it.
MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what no view could handle (see ``core.text``):

    - nesting deeper than ``MAX_JSON_DEPTH`` (5,000 levels raised ``RecursionError``): 400;
    - NUL characters and unpaired surrogates in any string or key, integers beyond 64 bits,
      ``1e400`` (infinite): 400 naming each field, ``{"customer": {"name": ["..."]}}``.
    """

    max_depth = MAX_JSON_DEPTH

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(self._too_deep()) from None
        errors, too_deep = find_problems(data, max_depth=self.max_depth)
        if too_deep:
            raise ParseError(self._too_deep())
        if errors:
            raise ValidationError(errors)
        return data

    def _too_deep(self) -> str:
        return f"JSON parse error - nested more than {self.max_depth} levels deep."


def json_object(request: Request) -> dict[str, Any]:
    """The request body as an object: an empty body is ``{}``, anything else but an object
    (a list, a string) is a 400 naming the problem."""
    data: object = request.data
    if data is None or data == "" or (hasattr(data, "keys") and not data):
        return {}
    if not isinstance(data, dict):
        raise ValidationError({"detail": "Send a JSON object."})
    return data
