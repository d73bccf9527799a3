"""The Celery app. Configuration comes from Django settings (``CELERY_*``); the periodic tasks
(outbox sweeper every minute, late orders and low stock hourly) are ``CELERY_BEAT_SCHEDULE`` in
oms/settings.py. Run ``celery -A oms worker`` and ``celery -A oms beat`` next to gunicorn.
Tasks subclass Celery's ``DjangoTask`` (set by Celery's Django fix-up), acks late."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
