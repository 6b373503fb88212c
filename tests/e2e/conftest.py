"""A real browser against the live server, and a real background worker in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django_tasks_db.management.commands.db_worker import Worker
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from imports.models import Layout
from imports.presets import install_presets

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Long enough for a slow machine, short enough that a broken page fails the run quickly.
TIMEOUT_MS = 10_000


class ThreadWorker:
    """django-tasks-db's worker run in a thread of the test process, started when the test asks.

    Starting it late lets a test see a job queued before it is processed. The worker's run loop
    installs no signal handlers (its command does), so it runs as it is outside the main thread.
    """

    def __init__(self) -> None:
        self.worker: Worker | None = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        assert self.thread is None, "the worker is already running"
        self.worker = Worker(
            queue_names=["default"],
            interval=0.2,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="e2e",
            excluded_queue_names=[],
        )
        self.thread = threading.Thread(target=self._run, name="e2e-task-worker", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.worker is None or self.thread is None:
            return
        self.worker.running = False
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the worker did not stop within 30 seconds"
        self.worker, self.thread = None, None
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        assert self.worker is not None
        try:
            self.worker.run()
        except BaseException as exc:  # handed to the test thread by stop()
            self.error = exc
        finally:
            # The test database is flushed after the test; an open connection would block it.
            connections.close_all()


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API keeps an event loop running in the test thread, and Django refuses
    # database access from a thread with a running loop unless told it is safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def presets(transactional_db: None) -> None:
    """The built-in layouts, which an earlier transactional test may have flushed away."""
    install_presets(Layout)


@pytest.fixture
def task_worker(live_server: LiveServer) -> Iterator[ThreadWorker]:
    worker = ThreadWorker()
    yield worker
    worker.stop()


@pytest.fixture
def browser(transactional_db: None) -> Iterator[Browser]:
    """Chromium, started after the test database is ready and closed before it is flushed."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian package 'chromium')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's loop runs, Django gives this thread other connections than
            # outside it; they must be closed now, or they stay open and block the database's
            # flush and removal.
            connections.close_all()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser tab on the live server, asking for Italian like the agency's browsers."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="it-IT",
        viewport={"width": 1440, "height": 1000},
        accept_downloads=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
