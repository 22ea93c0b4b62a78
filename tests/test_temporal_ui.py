"""The Temporal Web UI tells a daemon's story: headless Chromium opens a finished vendor
hydration's event history and finds each step under its readable summary.

Every activity is scheduled with a `summary=` ("plan: vendor_hydration", "tool: search_vendors
text='…'", ...) so that a person reading the UI sees what the daemon did, not a column of
`call_tool` rows. This test reads the page as that person would: the embedded stack's own
Temporal dev server and UI, a real worker, the offline model, and the rendered page's text.
The screenshot is kept in `test-artifacts/` (ignored by git); `docs/img/` holds a copy.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from ledgerd.api._codec import codec_app
from ledgerd.config import load_settings
from ledgerd.contracts import Outcome
from ledgerd.plugin import LedgerdPlugin
from ledgerd.runtime import Dependencies
from ledgerd.stack import EmbeddedTemporal, free_port
from starter import start_vendor_hydration
from tests._browser import headless_chromium, require_chromium, wait_for_texts
from tests._ledger import ACCOUNTANT, BLUE_BOTTLE, small_ledger
from tests.conftest import running_worker

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
# What a person must be able to read off the history of a completed hydration.
SUMMARIES = (
    "plan: vendor_hydration",
    f"tool: search_vendors text={BLUE_BOTTLE!r}",
    f"tool: lookup_company query={BLUE_BOTTLE!r}",
    "guardrail: vendor_hydration",
    "notify: completed",
)


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Module-scoped, so a machine without Chromium skips before any server starts."""
    return require_chromium()


CODEC_UI_KEY = "test-ui-capability"


@pytest.fixture(scope="module")
def codec_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def temporal_with_ui(codec_port: int) -> Iterator[EmbeddedTemporal]:
    """The Temporal dev server and UI exactly as `ledgerd dev` starts them, on free ports,
    decoding payloads (encrypted) through the codec server's UI path."""
    with tempfile.TemporaryDirectory(prefix="ledgerd-test-temporal-ui-") as folder:
        server = EmbeddedTemporal(
            Path(folder),
            free_port(),
            free_port(),
            namespace="default",
            codec_endpoint=f"http://127.0.0.1:{codec_port}/codec/ui/{CODEC_UI_KEY}",
        )
        server.start(Path(folder) / "temporal.log")
        try:
            yield server
        finally:
            server.stop()


@asynccontextmanager
async def codec_server(port: int, ui_origin: str) -> AsyncIterator[None]:
    """The API's codec server (the app `ledgerd dev` serves), in this process."""
    settings = load_settings(codec_ui_key=CODEC_UI_KEY, codec_cors_origins=ui_origin)
    app = FastAPI()
    app.mount("/codec", codec_app(settings, lambda: None))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):  # bounded: a server that never starts fails the test
            if server.started:
                break
            await asyncio.sleep(0.05)
        yield
    finally:
        server.should_exit = True
        await task


async def test_the_event_history_shows_each_step_by_its_summary(
    chromium: Path, temporal_with_ui: EmbeddedTemporal, codec_port: int, deps: Dependencies
) -> None:
    await small_ledger(deps.pool)
    client = await Client.connect(
        temporal_with_ui.address, namespace=temporal_with_ui.namespace, plugins=[LedgerdPlugin()]
    )
    async with running_worker(WorkflowEnvironment.from_client(client)) as queue:
        handle = await start_vendor_hydration(
            client, principal=ACCOUNTANT, descriptor=BLUE_BOTTLE, task_queue=queue
        )
        result = await handle.result()
    assert result.outcome is Outcome.COMPLETED, result.reason

    history = (
        f"{temporal_with_ui.ui_url}/namespaces/{temporal_with_ui.namespace}"
        f"/workflows/{handle.id}/{handle.result_run_id}/history"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "temporal-ui-vendor-hydration.png"
    # Summaries are payloads, encrypted like the rest: the UI shows them through the codec.
    async with (
        codec_server(codec_port, temporal_with_ui.ui_url),
        headless_chromium(chromium, width=1680, height=1350) as page,
    ):
        try:
            await page.goto(history)
            await wait_for_texts(page, SUMMARIES)
            # The compact view has one row per activity: the whole run on one screen.
            await page.get_by_role("button", name="Compact").click()
            await expect(page.get_by_text("Activity Task Scheduled")).to_have_count(
                0, timeout=30_000
            )
            await wait_for_texts(page, SUMMARIES)
        finally:
            # Kept on failure too: then it shows what the UI rendered instead.
            await page.screenshot(path=screenshot)
    print(f"Temporal UI screenshot: {screenshot}")
