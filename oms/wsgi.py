import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from oms.runtime import gc_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

application = get_wsgi_application()
# Load the URL configuration now (Django does on the first request) so that it is frozen too.
get_resolver().url_patterns  # noqa: B018
gc_tune()
