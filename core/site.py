"""This site's own address, for links that leave it (e-mails, partner callbacks)."""

from django.conf import settings


def site_url(path: str) -> str:
    """The absolute address of a path of this site: the ``OMS_SITE_URL`` setting (scheme and
    host, e.g. ``https://oms.example.com``) + ``path``. An address that is already absolute (a
    carrier's tracking page) is returned as it is."""
    if not path or "://" in path:
        return path
    base = str(settings.OMS_SITE_URL).rstrip("/")
    return f"{base}/{path.lstrip('/')}"
