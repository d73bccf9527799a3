"""Running jobs in threads at the same instant, for the PostgreSQL concurrency tests."""

import threading
from collections.abc import Callable

from django.db import connection


def run_together(jobs: list[Callable[[], object]], *, timeout: float = 30) -> list:
    """Start ``jobs`` in threads at the same instant; return each one's result or exception."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[i] = job()
        except BaseException as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return results
