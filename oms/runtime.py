"""Process-level tuning of the web and worker processes.

A list of orders leaves thousands of short-lived objects in reference cycles (instances and their
prefetched relations point at each other). CPython's default thresholds then run a full
collection every 15-20 requests, and a full collection walks every object the process holds —
Django's models, URL patterns, templates, DRF serializers — pausing the request for 100-200 ms
(docs/benchmarks.md). Freezing what exists once the app is loaded takes those objects out of
every later collection, and a larger first-generation threshold collects less often.
"""

import gc

# Young objects allocated before a first-generation collection (CPython's default is 700).
GC_THRESHOLD = (10_000, 10, 10)


def gc_tune() -> None:
    """Call once the application is loaded (oms/wsgi.py, the benchmarks)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
