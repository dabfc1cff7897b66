"""A real headless Chromium (Debian's `chromium`, driven by Playwright, no browser download)
for the report's pages. Without one the browser tests are skipped, unless
DATAGEN_REQUIRE_BROWSER=1 (set by `.ci/run`), where a missing browser is a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(os.environ.get("DATAGEN_TEST_ARTIFACTS", "test-artifacts"))


def _unavailable(why: str) -> None:
    if os.environ.get("DATAGEN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why} (DATAGEN_REQUIRE_BROWSER=1): apt-get install chromium, "
                    "pip install -e '.[test]'")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module: Playwright's sync API runs an event loop on the test thread while it is
    open, and the tests after these start their own."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        _unavailable("no chromium on PATH")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class Page:
    """A browser page that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any, downloads: Path) -> None:
        self.context = browser.new_context(accept_downloads=True,
                                           viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.downloads = downloads

    def open(self, path: Path, timeout_ms: int = 30_000) -> None:
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=timeout_ms)

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Page]:
    p = Page(browser, tmp_path / "downloads")
    try:
        yield p
    finally:
        p.context.close()
