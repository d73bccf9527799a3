"""gunicorn settings for production (`gunicorn oms.wsgi`; gunicorn reads this file from the
working directory). Every value can be overridden on the command line or by the environment
variables gunicorn knows (WEB_CONCURRENCY for the worker count)."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Sync workers: a request is CPU work plus short database waits. Two per core: the load test
# (bench/load_orders) on 2 cores shared with PostgreSQL gave the same throughput with 3 or 4
# workers and less with 5 or 8 (more processes competing for the cores and the row locks).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
timeout = 30
# Restart a worker now and then, so that a slow leak can never grow without bound.
max_requests = 10_000
max_requests_jitter = 1_000
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
