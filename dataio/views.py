"""Back-office pages for imports (upload -> preview -> import) and exports. Thin: the reading,
checking and importing is in ``dataio.imports``.

Between the preview and the confirmation the uploaded file is kept in the user's session
(server-side, compressed, under a random token, for an hour): it works with any number of
processes and machines, and nobody else can confirm it. The confirmation starts a background
job (``dataio.imports.jobs``) and sends the user to its page, which shows a progress bar (polling
``job_status``) and then the outcome; the job reads and checks the file again, so the import
never relies on a preview of data that has changed meanwhile.
"""

import base64
import binascii
import io
import secrets
import time
import zlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from core.spreadsheet import csv_lines, write_xlsx
from orders.models import ImportJob

from .imports import IMPORTERS, FileRejected, importer_for, read_table, row_limit
from .imports.base import Importer
from .imports.exports import order_lines, order_rows, product_rows
from .imports.forms import OrderExportForm, UploadForm
from .imports.jobs import import_job_create, import_job_enqueue, job_status

SESSION_KEY = "imports_pending"
PENDING_SECONDS = 3600
PREVIEW_ROWS = 20
SHOWN_ERRORS = 200


def _importer(request: HttpRequest, kind: str) -> Importer:
    if kind not in IMPORTERS:
        raise Http404(f"No import of {kind}.")
    importer = importer_for(kind)
    if not request.user.has_perms(importer.permissions):
        raise PermissionDenied(f"You may not import {importer.label.lower()}.")
    return importer


def _allowed_kinds(user: User | AnonymousUser) -> list[Importer]:
    return [importer_for(k) for k in IMPORTERS if user.has_perms(importer_for(k).permissions)]


# --- the pending file -------------------------------------------------------------------------
def _pending(request: HttpRequest) -> dict[str, dict[str, Any]]:
    now = time.time()
    return {
        token: item
        for token, item in request.session.get(SESSION_KEY, {}).items()
        if now - item.get("at", 0) < PENDING_SECONDS
    }


def _store(request: HttpRequest, kind: str, filename: str, data: bytes) -> str:
    pending = {t: item for t, item in _pending(request).items() if item["kind"] != kind}
    token = secrets.token_urlsafe(16)
    pending[token] = {
        "kind": kind,
        "filename": filename[:200],
        "data": base64.b64encode(zlib.compress(data)).decode("ascii"),
        "at": time.time(),
    }
    request.session[SESSION_KEY] = pending
    return token


def _load(request: HttpRequest, kind: str, token: str) -> tuple[str, bytes] | None:
    item = _pending(request).get(token)
    if item is None or item["kind"] != kind:
        return None
    try:
        return item["filename"], zlib.decompress(base64.b64decode(item["data"]))
    except (binascii.Error, zlib.error, KeyError, TypeError):
        return None


def _drop(request: HttpRequest, token: str) -> None:
    pending = _pending(request)
    pending.pop(token, None)
    request.session[SESSION_KEY] = pending


# --- pages ------------------------------------------------------------------------------------
@login_required
def index(
    request: HttpRequest, export_form: OrderExportForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    kinds = _allowed_kinds(user)
    can_export_products = user.has_perm("inventory.view_product")
    can_export_orders = user.has_perm("orders.view_order")
    if not (kinds or can_export_products or can_export_orders):
        raise PermissionDenied("You may not import or export data.")
    return render(
        request,
        "dataio/index.html",
        {
            "kinds": kinds,
            "can_export_products": can_export_products,
            "can_export_orders": can_export_orders,
            "export_form": export_form or OrderExportForm(),
        },
        status=status,
    )


@login_required
def upload(request: HttpRequest, kind: str) -> HttpResponseBase:
    importer = _importer(request, kind)
    posted = request.method == "POST"
    form = UploadForm(request.POST, request.FILES) if posted else UploadForm()
    if posted and form.is_valid():
        upload_file = form.cleaned_data["file"]
        data = upload_file.read()
        try:
            table = read_table(data, upload_file.name)
            importer.check_columns(table)
        except FileRejected as exc:
            form.add_error("file", exc.message)
        else:
            token = _store(request, kind, upload_file.name, data)
            return redirect("imports:preview", kind=kind, token=token)
    return render(
        request,
        "dataio/upload.html",
        {"importer": importer, "form": form, "max_rows": row_limit()},
        status=400 if form.errors else 200,
    )


@login_required
def preview(request: HttpRequest, kind: str, token: str) -> HttpResponseBase:
    importer = _importer(request, kind)
    pending = _load(request, kind, token)
    if pending is None:
        messages.error(
            request,
            "That upload is no longer waiting to be imported (it was imported, "
            "replaced by a newer upload or is older than an hour). Upload the file again.",
        )
        return redirect("imports:upload", kind=kind)
    filename, data = pending
    try:
        table = read_table(data, filename)
        if request.method == "POST":
            # Claim the upload once: a double click or a second tab must not import it twice.
            if not cache.add(f"oms-import-claim:{token}", 1, timeout=3600):
                messages.error(request, "That upload is already being imported.")
                return redirect("imports:index")
            _drop(request, token)
            job = import_job_create(
                user=request.user, kind=kind, filename=filename, data=data, rows=len(table.rows)
            )
            import_job_enqueue(job)
            return redirect("imports:job", pk=job.pk)
        else:
            _plan, report = importer.preview(table)
    except FileRejected as exc:
        _drop(request, token)
        form = UploadForm()
        form.add_error(None, exc.message)
        return render(
            request, "dataio/upload.html", {"importer": importer, "form": form}, status=400
        )
    errors_by_row: dict[int | None, list[str]] = {}
    for error in report.errors:
        errors_by_row.setdefault(error.row, []).append(error.message)
    shown = table.rows[:PREVIEW_ROWS]
    return render(
        request,
        "dataio/preview.html",
        {
            "importer": importer,
            "report": report,
            "filename": filename,
            "format": table.format,
            "headers": table.headers,
            "rows": [
                {
                    "number": row.number,
                    "cells": [row.values.get(h, "") for h in table.headers],
                    "errors": errors_by_row.get(row.number, []),
                }
                for row in shown
            ],
            "more_rows": len(table.rows) - len(shown),
            "errors": report.errors[:SHOWN_ERRORS],
            "more_errors": max(len(report.errors) - SHOWN_ERRORS, 0),
            "token": token,
        },
    )


def _job(request: HttpRequest, pk: int) -> ImportJob:
    """The user's own import job (someone else's is not found)."""
    return get_object_or_404(ImportJob, pk=pk, user_id=request.user.pk)


@login_required
def job(request: HttpRequest, pk: int) -> HttpResponse:
    item = _job(request, pk)
    return render(
        request,
        "dataio/job.html",
        {"job": item, "importer": importer_for(item.kind), "state": job_status(item)},
    )


@login_required
def job_status_json(request: HttpRequest, pk: int) -> HttpResponse:
    return JsonResponse(job_status(_job(request, pk)))


# --- exports ----------------------------------------------------------------------------------
def _attachment(response: HttpResponseBase, name: str) -> HttpResponseBase:
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@permission_required("inventory.view_product", raise_exception=True)
def export_products(request: HttpRequest) -> HttpResponseBase:
    fmt = request.GET.get("format", "csv")
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response: HttpResponseBase = StreamingHttpResponse(
            csv_lines(product_rows()), content_type="text/csv; charset=utf-8"
        )
        return _attachment(response, f"products-{stamp}.csv")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(product_rows(), buffer, title="Products")
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        return _attachment(response, f"products-{stamp}.xlsx")
    return HttpResponseBadRequest(f"Unknown format '{fmt}': use csv or xlsx.")


@login_required
@permission_required("orders.view_order", raise_exception=True)
def export_orders(request: HttpRequest) -> HttpResponseBase:
    form = OrderExportForm(request.GET)
    if not form.is_valid():
        return index(request, export_form=form, status=400)
    data = form.cleaned_data
    lines = order_lines(
        start=data["start"],
        end=data["end"],
        status=data["status"],
        channel=data["channel"].code if data["channel"] else "",
    )
    response = StreamingHttpResponse(
        csv_lines(order_rows(lines)), content_type="text/csv; charset=utf-8"
    )
    span = "-".join(d.isoformat() for d in (data["start"], data["end"]) if d) or "all"
    return _attachment(response, f"orders-{span}.csv")
