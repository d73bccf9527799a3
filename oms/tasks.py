"""Celery tasks of the project package: thin, ids only (found by ``app.autodiscover_tasks()``,
``oms`` being an installed app)."""

from celery import shared_task


@shared_task(name="oms.import_job_run", acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(job_id: int) -> str:
    """Run one confirmed import (a no-op when the job has ended already)."""
    from .imports.jobs import import_job_run

    return import_job_run(job_id=job_id)
