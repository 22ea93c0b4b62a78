"""`ledgerd doctor` and the start-up model check: each role's real request shape, sent once."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from ledgerd.config import load_settings
from ledgerd.stack import free_port
from standin import OfflineModelServer
from worker import check_model_endpoint


def doctor(**env: str) -> subprocess.CompletedProcess[str]:
    # A port nothing listens on: the doctor must start its own stand-in.
    environment = {**os.environ, "LEDGERD_OFFLINE_MODEL_PORT": str(free_port()), **env}
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "ledgerd.cli", "doctor"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_doctor_checks_each_role_offline_and_exits_0() -> None:
    done = doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("  ok")]
    assert [(r[1], r[2]) for r in rows] == [
        ("planner", "claude-opus-5-5"),
        ("executor", "claude-sonnet-5-5"),
        ("judge", "claude-haiku-5-5"),
    ]
    assert "answer by forced_tool" in done.stdout  # the judge's verdict on Haiku 5.5


def test_doctor_fails_a_model_the_account_does_not_offer() -> None:
    done = doctor(LEDGERD_EXECUTOR_MODEL="claude-future-9")
    assert done.returncode == 1
    assert "claude-future-9 is not among this account's models" in done.stdout
    assert "Traceback" not in done.stderr


async def test_the_worker_refuses_to_start_on_a_refused_request_but_not_on_an_outage(
    model_server: OfflineModelServer, model_control: httpx.AsyncClient
) -> None:
    settings = load_settings(anthropic_api_key="sk-test", anthropic_base_url=model_server.base_url)
    assert await check_model_endpoint(settings)
    refused = {
        "status": 400,
        "message": "invalid model configuration",
        "match_model": "claude-opus-5-5",
    }
    (await model_control.post("/_control/faults", json=[refused])).raise_for_status()
    assert not await check_model_endpoint(settings)
    busy = {"status": 529, "match_model": "claude-opus-5-5"}
    (await model_control.post("/_control/faults", json=[busy])).raise_for_status()
    assert await check_model_endpoint(settings)  # Temporal retries an outage; start anyway
