"""Headless Chromium for tests that look at a page as a person would.

The browser is Debian's `chromium` package (`.ci/run` installs it), driven by Playwright's
Python package through `executable_path`: nothing is downloaded at test time. `playwright
install` would fetch a browser of its own, which this machine's closed network refuses.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

# Without the networking flags Chromium keeps dialling Google's hosts at start and in the
# background, and this machine's closed network refuses every one of those connections; the
# rest keep a fresh profile from doing first-run work. `--no-sandbox` because tests run as root.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
)


def require_chromium() -> Path:
    """Debian's Chromium, or skip the test, but never on CI: there a missing browser is a
    broken install step, and a skipped browser test would pass without looking at anything."""
    found = shutil.which("chromium")
    if found is not None:
        return Path(found)
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail("chromium is not installed on CI; .ci/run installs Debian's chromium package")
    pytest.skip("chromium is not installed: `apt-get install chromium` (CI installs it)")


@asynccontextmanager
async def headless_chromium(
    executable: Path, *, width: int = 1440, height: int = 900
) -> AsyncIterator[Page]:
    """One page of a headless Chromium with a new, empty profile, closed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ledgerd-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=list(FLAGS),
                viewport={"width": width, "height": height},
            )
            try:
                yield context.pages[0] if context.pages else await context.new_page()
            finally:
                await context.close()


async def wait_for_texts(page: Page, texts: Sequence[str], within_seconds: float = 60) -> str:
    """Poll the page's visible text until it holds every one of `texts`; return that text.

    A single-page app renders after `goto` returns, in several rounds of API calls, so this
    polls instead of sleeping; on timeout the failure names what never appeared.
    """
    deadline = time.monotonic() + within_seconds
    while True:
        shown = await page.inner_text("body")
        missing = [text for text in texts if text not in shown]
        if not missing:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{page.url} did not show {missing} within {within_seconds:.0f}s; it showed:\n{shown}"
            )
        await asyncio.sleep(0.25)
