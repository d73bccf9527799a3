"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
``live_server``.

No browser is ever downloaded (``playwright install`` is not used): the tests launch the
system Chromium (``/usr/bin/chromium``, or ``OMS_CHROMIUM``). Without it they skip with a reason
on a developer's machine, and FAIL in CI (``CI`` set), so a missing install step cannot pass
silently. Screenshots go to ``test-artifacts/browser/`` at the repository root (git-ignored).
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.db import connections

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("OMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 800, "height": 1100}
TIMEOUT_MS = 15_000


def _missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"Chromium not found at {CHROMIUM}: install Debian's package "
            "(apt-get install -y chromium) or set OMS_CHROMIUM to a Chromium binary"
        )
    return None


def _skip_or_fail(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser test skipped: {reason}")


@pytest.fixture
def browser(monkeypatch):
    """Chromium for one test. Function-scoped on purpose: while Playwright's sync API is
    running, its event loop is current in the test's thread and Django refuses ORM calls
    there unless DJANGO_ALLOW_ASYNC_UNSAFE is set (safe here: the loop is Playwright's, not
    Django's). Both end with the test, so no later test (nor the ``check --deploy`` test,
    which rejects that variable) runs with either."""
    reason = _missing_reason()
    if reason:
        _skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
        # While Playwright's loop is running, Django keeps this thread's database connections
        # apart from the ones outside it (asgiref's Local): close them here, or the test
        # database cannot be dropped at the end of the run ("being accessed by other users").
        connections.close_all()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=LAPTOP, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


class Shots:
    """Numbered screenshots of one test: ``shots(page, "placed")`` -> 01-placed.png."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.count = 0

    def __call__(self, page, name: str, *, tablet: bool = False) -> Path:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.directory / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        if tablet:
            page.set_viewport_size(TABLET)
            page.screenshot(path=str(path.with_name(path.stem + "-tablet.png")), full_page=True)
            page.set_viewport_size(LAPTOP)
        return path


@pytest.fixture
def shots(request):
    directory = ARTIFACTS / request.node.name
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    return Shots(directory)
