"""Celery tasks of imports and exports: thin, ids only (found by ``app.autodiscover_tasks()``)."""

from celery import shared_task


@shared_task(name="dataio.import_job_run", acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(job_id: int) -> str:
    """Run one confirmed import (a no-op when the job has ended already)."""
    from .imports.jobs import import_job_run

    return import_job_run(job_id=job_id)
