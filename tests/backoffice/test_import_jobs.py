"""Confirmed imports run as background jobs: the job's page and its JSON status, progress while
the import runs, the e-mail at the end; and the review fixes of issue 17 (formula cells, formula
injection in exports, the row limit as a setting, the disabled Import button)."""

import csv
import io
import re
import threading

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from dataio.imports.products import ProductImporter
from dataio.imports.reading import FileRejected
from inventory.models import Product, StockLevel
from orders.models import ImportJob, ImportJobStatus
from tests.factories import ProductFactory, WarehouseFactory, place, receive

from .conftest import user_with
from .test_imports import (
    PRODUCT_PERMS,
    STOCK_PERMS,
    confirm,
    csv_bytes,
    upload,
    upload_and_preview,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # progress counts are kept in the cache, by job id


@pytest.fixture
def manager(client):
    user = user_with(*PRODUCT_PERMS, "orders.view_order")
    user.email = "pat@example.com"
    user.save()
    client.force_login(user)
    return user


def products_csv(count: int, price: str = "2.00") -> bytes:
    return csv_bytes(
        [["sku", "name", "unit_price"], *[[f"S{i:04d}", f"P{i}", price] for i in range(count)]]
    )


def test_a_confirmed_import_is_a_job_whose_page_shows_the_outcome_and_the_user_is_emailed(
    manager, client
):
    ProductFactory(sku="S0000", name="Old")
    url, _ = upload_and_preview(client, "products", "p.csv", products_csv(3))
    posted = client.post(url)  # the job is queued; its task starts after commit
    assert posted.status_code == 302
    job = ImportJob.objects.get()
    assert posted["Location"] == reverse("imports:job", args=[job.pk])
    assert (job.status, job.user, job.kind, job.rows_total) == ("queued", manager, "products", 3)
    queued = client.get(reverse("imports:job_status", args=[job.pk])).json()
    assert (queued["status"], queued["finished"], queued["percent"]) == ("queued", False, 0)
    assert Product.objects.count() == 1  # nothing written before the job runs

    again = client.post(url, follow=True).content.decode()  # a double click imports once
    assert "already being imported" in again or "no longer waiting to be imported" in again
    assert ImportJob.objects.count() == 1
    from dataio.imports.jobs import import_job_run

    assert import_job_run(job_id=job.pk) == ImportJobStatus.DONE
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "Products imported" in page
    assert "3 rows done, 0 rejected." in page
    assert "2 products created" in page and "1 product updated" in page
    state = client.get(reverse("imports:job_status", args=[job.pk])).json()
    assert (state["status"], state["finished"], state["percent"]) == ("done", True, 100)
    assert Product.objects.get(sku="S0000").name == "P0"
    job.refresh_from_db()
    assert job.data == b"" and job.finished_at is not None  # the file is not kept


def test_the_user_gets_one_email_when_the_job_ends(manager, client):
    url, _ = upload_and_preview(client, "products", "p.csv", products_csv(2))
    confirm(client, url)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pat@example.com"]
    assert message.subject == "[OMS] Products import done: p.csv"
    assert "2 rows imported." in message.body and "2 products created" in message.body


def test_a_failed_job_shows_its_errors_saves_nothing_and_says_so_by_email(manager, client):
    rows = [["sku", "name", "unit_price"], ["A-1", "Fine", "1.00"], ["A-2", "Bad", "abc"]]
    url, _ = upload_and_preview(client, "products", "p.csv", csv_bytes(rows))
    page = confirm(client, url).content.decode()
    assert "Import failed" in page and "Nothing was imported" in page
    assert "Row 3: unit_price &#x27;abc&#x27; is not a number." in page
    job = ImportJob.objects.get()
    state = client.get(reverse("imports:job_status", args=[job.pk])).json()
    assert state["status"] == "failed" and state["finished"] is True
    assert state["errors"] == ["Row 3: unit_price 'abc' is not a number."]
    assert not Product.objects.exists()
    assert [m.subject for m in mail.outbox] == ["[OMS] Products import failed: p.csv"]
    assert "Row 3: unit_price 'abc' is not a number." in mail.outbox[0].body


def test_progress_is_shown_while_the_import_runs(manager, client, monkeypatch):
    """Mid-import (its transaction open), the status and the page — as after a reload — show
    the job running and the rows counted so far."""
    seen = {}
    real_apply = ProductImporter.apply

    def apply_and_look(self, plan, **kwargs):
        job = ImportJob.objects.get()
        seen["json"] = client.get(reverse("imports:job_status", args=[job.pk])).json()
        seen["page"] = client.get(reverse("imports:job", args=[job.pk])).content.decode()
        return real_apply(self, plan, **kwargs)

    monkeypatch.setattr(ProductImporter, "apply", apply_and_look)
    url, _ = upload_and_preview(client, "products", "p.csv", products_csv(600))
    confirm(client, url)
    state = seen["json"]
    assert (state["status"], state["phase"], state["done"], state["total"]) == (
        "running",
        "writing",
        0,
        600,
    )
    assert state["percent"] == 50 and state["finished"] is False  # checked, not yet written
    assert re.search(r'<progress[^>]*id="import-progress"[^>]*value="50"', seen["page"])
    assert "Importing rows: 0 of 600 (50%)" in seen["page"]
    assert "data-status-url" in seen["page"]  # the page polls while the job runs
    assert Product.objects.count() == 600


def test_a_redelivered_task_does_not_import_twice(client):
    """acks_late: a task may be delivered again after it ran; the job has ended, so nothing
    happens (the stock is received once)."""
    from dataio.tasks import import_job_run_task

    leeds = WarehouseFactory(code="LDS")
    mug = ProductFactory(sku="MUG-BLUE")
    client.force_login(user_with(*STOCK_PERMS))
    rows = [["warehouse", "sku", "quantity"], ["LDS", "MUG-BLUE", "5"]]
    url, _ = upload_and_preview(client, "stock", "s.csv", csv_bytes(rows))
    confirm(client, url)
    job = ImportJob.objects.get()
    assert import_job_run_task.apply(args=[job.pk]).get() == "not waiting"
    assert StockLevel.objects.get(product=mug, warehouse=leeds).on_hand == 5


def test_an_unreadable_file_at_run_time_fails_the_job(manager, client):
    from dataio.imports.jobs import import_job_create, import_job_run

    job = import_job_create(user=manager, kind="products", filename="x.csv", data=b"", rows=1)
    assert import_job_run(job_id=job.pk) == ImportJobStatus.FAILED
    job.refresh_from_db()
    assert job.error == "The file is empty."
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "Import failed" in page and "The file is empty." in page


def test_someone_elses_job_is_not_found(manager, client):
    url, _ = upload_and_preview(client, "products", "p.csv", products_csv(1))
    confirm(client, url)
    job = ImportJob.objects.get()
    other = Client()
    other.force_login(user_with(*PRODUCT_PERMS))
    assert other.get(reverse("imports:job", args=[job.pk])).status_code == 404
    assert other.get(reverse("imports:job_status", args=[job.pk])).status_code == 404
    assert Client().get(reverse("imports:job_status", args=[job.pk])).status_code == 302


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_to_another_connection_while_the_import_transaction_is_open(
    monkeypatch,
):
    """On PostgreSQL the import runs in its own connection and transaction (a worker thread
    here); the page's status request, on another connection, sees it running with its rows."""
    from dataio.imports.jobs import import_job_create, import_job_run

    user = user_with(*PRODUCT_PERMS)
    viewer = Client()
    viewer.force_login(user)
    in_apply, looked = threading.Event(), threading.Event()
    real_apply = ProductImporter.apply

    def apply_and_wait(self, plan, **kwargs):
        in_apply.set()
        looked.wait(timeout=30)
        return real_apply(self, plan, **kwargs)

    monkeypatch.setattr(ProductImporter, "apply", apply_and_wait)
    job = import_job_create(
        user=user, kind="products", filename="p.csv", data=products_csv(300), rows=300
    )
    outcome = []

    def worker():
        try:
            outcome.append(import_job_run(job_id=job.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert in_apply.wait(timeout=30)
        state = viewer.get(reverse("imports:job_status", args=[job.pk])).json()
    finally:
        looked.set()
        thread.join(timeout=60)
    assert (state["status"], state["phase"], state["total"], state["percent"]) == (
        "running",
        "writing",
        300,
        50,
    )
    assert not thread.is_alive() and outcome == ["done"]
    assert Product.objects.count() == 300


# --- the disabled Import button ----------------------------------------------------------------
def test_the_import_button_of_a_rejected_preview_is_disabled_and_looks_it(manager, client):
    rows = [["sku", "name", "unit_price"], ["A-1", "Bad", "abc"]]
    _, preview = upload_and_preview(client, "products", "p.csv", csv_bytes(rows))
    page = preview.content.decode()
    button = re.search(r'<button[^>]*id="import-submit"[^>]*>', page).group(0)
    assert " disabled" in button and 'aria-disabled="true"' in button
    assert 'type="button"' in button  # not a submit button either
    assert re.search(r'class="[^"]*\bis-disabled\b', button)
    assert re.search(r"button:disabled, button\.is-disabled \{[^}]*cursor: not-allowed", page)

    _, preview = upload_and_preview(client, "products", "p.csv", products_csv(1))
    button = re.search(r'<button[^>]*id="import-submit"[^>]*>', preview.content.decode()).group(0)
    assert "disabled" not in button and 'type="submit"' in button


# --- formula cells in .xlsx --------------------------------------------------------------------
def test_formula_cells_in_a_workbook_are_refused_by_cell_and_row(manager, client):
    data = xlsx_bytes(
        [["sku", "name", "unit_price"], ["LAMP-1", "Lamp", 20], ["LAMP-2", '=B2&" XL"', 30]]
    )
    response = upload(client, "products", "p.xlsx", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Cell B3 (row 3) holds a formula" in page
    assert "formula cells are not read; paste values" in page
    assert "needs a name" not in page
    assert not Product.objects.exists()


# --- formula injection in CSV exports ----------------------------------------------------------
def test_every_text_column_of_the_csv_exports_is_neutralised_and_imports_back(manager, client):
    leeds = WarehouseFactory(code="LDS")
    sku = '=HYPERLINK("http://evil.example","x")'
    product = ProductFactory(sku=sku, name="+cmd")
    receive(leeds, {product: 3})
    place({product: 1}, reference="@ref")

    exported = b"".join(client.get(reverse("imports:export_products")).streaming_content)
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert (rows[0]["sku"], rows[0]["name"]) == ("'" + sku, "'+cmd")

    orders = b"".join(client.get(reverse("imports:export_orders")).streaming_content)
    line = next(csv.DictReader(io.StringIO(orders.decode("utf-8-sig"))))
    assert (line["sku"], line["order_ref"]) == ("'" + sku, "'@ref")

    url, preview = upload_and_preview(client, "products", "p.csv", exported)
    assert "1 valid" in preview.content.decode()
    page = confirm(client, url).content.decode()
    assert "1 product already up to date" in page, re.findall(r"<li>.*?</li>", page)
    assert Product.objects.get().sku == sku and Product.objects.get().name == "+cmd"


# --- the row limit ------------------------------------------------------------------------------
def test_the_row_limit_is_a_setting_and_an_export_within_it_round_trips(manager, client, settings):
    for i in range(3):
        ProductFactory(sku=f"R-{i}", name=f"Thing {i}")
    settings.OMS_IMPORT_MAX_ROWS = 3
    exported = b"".join(client.get(reverse("imports:export_products")).streaming_content)
    url, preview = upload_and_preview(client, "products", "p.csv", exported)
    assert "3 valid" in preview.content.decode()
    assert "3 products already up to date" in confirm(client, url).content.decode()

    ProductFactory(sku="R-3")
    exported = b"".join(client.get(reverse("imports:export_products")).streaming_content)
    response = upload(client, "products", "p.csv", exported)
    assert response.status_code == 400
    assert "more than 3 rows" in response.content.decode()
    settings.OMS_IMPORT_MAX_ROWS = 4
    url, preview = upload_and_preview(client, "products", "p.csv", exported)
    assert "4 valid" in preview.content.decode()


def test_the_default_row_limit_is_well_above_any_export(settings):
    from dataio.imports import read_table, row_limit

    # The default of oms/settings.py (the code no longer repeats it as a fallback).
    assert row_limit() == 200_000
    data = csv_bytes([["sku"], *[[f"S{i}"] for i in range(20_001)]])
    assert len(read_table(data, "x.csv").rows) == 20_001
    with pytest.raises(FileRejected, match="more than 2 rows"):
        read_table(data, "x.csv", max_rows=2)
