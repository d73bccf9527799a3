"""Imports confirmed on the back-office pages run as background jobs (``ImportJob``, run by the
Celery task ``dataio.import_job_run``), so a file of 20,000 rows never holds a web worker past its
timeout. The job is still all or nothing: the file is read and checked again, then written in
one transaction, and the job's outcome (done, with the summary; or failed, with the errors) is
recorded in that same transaction, with the e-mail telling the user (through the outbox).

How progress is seen while the import's transaction is open
    The import is one transaction, so nothing it writes to the database is visible to the page
    until it commits, and on SQLite a second connection could not even write meanwhile (one
    writer at a time). The running count therefore goes to the cache (``progress_key``), every
    few hundred rows: Redis when ``REDIS_URL`` is set (shared by the worker and every web
    process), the local memory cache otherwise — where the task runs eagerly in the web process
    that confirmed the import, so the request ends with the job done anyway. The job row holds
    what lasts: queued → running (its own short transaction, before the import starts), then
    done or failed. ``job_status`` merges the two for the page, which polls it.

Run once
    A redelivered task (``acks_late``: a worker died) finds the job done or failed and does
    nothing; if the worker died mid-import nothing was committed, and the job runs again. The
    job row is locked (``select_for_update``) for the import's transaction so two deliveries
    running at the same time cannot both import the file.
"""

import logging
import zlib
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from notifications.outbox import notice_build, outbox_save
from orders.models import ImportJob, ImportJobStatus

from . import FileRejected, importer_for, read_table
from .base import PHASE_LABELS, Progress, Report

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 24 * 3600
SHOWN_ERRORS = 200
ENDED = (ImportJobStatus.DONE, ImportJobStatus.FAILED)


def progress_key(job_id: int) -> str:
    return f"oms-import-job:{job_id}:progress"


def import_job_create(
    *, user: User | AnonymousUser | None, kind: str, filename: str, data: bytes, rows: int
) -> ImportJob:
    """A queued job for a file the user confirmed; the caller enqueues ``import_job_run_task``
    after commit (``delay_on_commit``)."""
    return ImportJob.objects.create(
        user=user if isinstance(user, User) else None,
        kind=kind,
        filename=filename[:200],
        data=zlib.compress(data),
        rows_total=rows,
    )


def import_job_run(*, job_id: int) -> str:
    """Run the job: read and check the file again, import it whole or not at all, record the
    outcome and e-mail the user. Returns the job's final status (or why nothing was done)."""
    claimed = ImportJob.objects.filter(pk=job_id).exclude(status__in=ENDED)
    if not claimed.update(status=ImportJobStatus.RUNNING, started_at=timezone.now()):
        return "not waiting"  # unknown, or ended already (a redelivered task)

    def progress(phase: str, done: int, total: int) -> None:
        cache.set(
            progress_key(job_id), {"phase": phase, "done": done, "total": total}, PROGRESS_SECONDS
        )

    try:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status != ImportJobStatus.RUNNING:
                return "not waiting"
            report = _import(job, progress)
            _finish(job, report)
        return job.status
    except Exception as exc:  # an unexpected failure: nothing was imported; say so on the page
        logger.exception("Import job %s failed", job_id)
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            report = Report(kind=job.kind)
            job.error = f"The import stopped on an unexpected error ({type(exc).__name__}); "
            job.error += "nothing was imported. Try again, or tell the system's administrators."
            _finish(job, report, failed=True)
        return job.status


def _import(job: ImportJob, progress: Progress) -> Report:
    importer = importer_for(job.kind)
    try:
        table = read_table(zlib.decompress(job.data), job.filename)
        # A failed import rolls back its own savepoint; the job's outcome is still written.
        return importer.run(table, user=job.user, progress=progress)
    except FileRejected as exc:
        job.error = exc.message
        return Report(kind=job.kind)


def _finish(job: ImportJob, report: Report, *, failed: bool = False) -> None:
    failed = failed or bool(job.error) or not report.imported
    job.status = ImportJobStatus.FAILED if failed else ImportJobStatus.DONE
    job.rows_total = report.rows_total or job.rows_total
    job.rows_done = report.rows_done
    job.summary = report.summary
    job.errors = [{"row": e.row, "message": e.message} for e in report.errors]
    job.data = b""
    job.finished_at = timezone.now()
    job.save()
    cache.delete(progress_key(job.pk))
    _email_user(job)


def _email_user(job: ImportJob) -> None:
    to = getattr(job.user, "email", "")
    if not to:
        return
    label = importer_for(job.kind).label
    if job.status == ImportJobStatus.DONE:
        title = f"{label} import done: {job.filename}"
        lines = [f"{job.rows_done} rows imported.", *job.summary]
    else:
        title = f"{label} import failed: {job.filename}"
        lines = ["Nothing was imported.", *([job.error] if job.error else [])]
        lines += [_error_text(e) for e in job.errors[:20]]
        if len(job.errors) > 20:
            lines.append(f"… and {len(job.errors) - 20} more errors (see the import's page).")
    outbox_save(
        [notice_build(key=f"import-job:{job.pk}:{job.status}", to=to, title=title, lines=lines)]
    )


def _error_text(error: dict[str, Any]) -> str:
    return f"Row {error['row']}: {error['message']}" if error.get("row") else error["message"]


def job_status(job: ImportJob) -> dict[str, Any]:
    """What the job's page shows and polls: status, phase, rows counted, percent, outcome."""
    live = cache.get(progress_key(job.pk)) if job.status not in ENDED else None
    phase, done, total = "", job.rows_done, job.rows_total
    percent = 100 if job.status == ImportJobStatus.DONE else 0
    if live:
        phase, done, total = live["phase"], live["done"], live["total"] or job.rows_total
        # Checking is the first half of the bar, writing the second.
        half = 50 if phase != "checking" else 0
        percent = half + (50 * done // total if total else 0)
    label = PHASE_LABELS.get(phase, "")
    return {
        "id": job.pk,
        "kind": job.kind,
        "filename": job.filename,
        "status": job.status,
        "status_label": job.get_status_display(),
        "phase": phase,
        "phase_label": f"{label} rows" if label else "",
        "done": done,
        "total": total,
        "percent": min(percent, 100),
        "finished": job.status in ENDED,
        "summary": job.summary,
        "error": job.error,
        "errors": [_error_text(e) for e in job.errors[:SHOWN_ERRORS]],
        "more_errors": max(len(job.errors) - SHOWN_ERRORS, 0),
    }


def import_job_enqueue(job: ImportJob) -> None:
    """Start the job's task once the surrounding transaction commits (at once outside one).
    If the broker cannot take it, the job fails with a message saying so, never stays queued."""

    def start() -> None:
        from dataio.tasks import import_job_run_task

        try:
            import_job_run_task.apply_async(args=(job.pk,), retry=False)
        except Exception:
            logger.exception("Could not enqueue import job %s", job.pk)
            ImportJob.objects.filter(pk=job.pk, status=ImportJobStatus.QUEUED).update(
                status=ImportJobStatus.FAILED,
                error="The import could not be started (the task queue is not reachable); "
                "nothing was imported. Upload the file again in a few minutes.",
                data=b"",
                finished_at=timezone.now(),
            )

    transaction.on_commit(start)
