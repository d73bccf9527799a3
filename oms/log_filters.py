"""Logging filters referenced by ``LOGGING`` in settings."""

import logging


class ConciseClientErrors(logging.Filter):
    """A 4xx answer is the client's mistake or a role's limit, not a fault of the server: log its
    one warning line ("Forbidden (Permission denied): /stock/") without the traceback that
    Django attaches to a ``PermissionDenied``. 5xx records keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
