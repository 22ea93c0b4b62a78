"""Configuration: read from the environment and `.env`, validated at start-up, every invalid
value reported with its variable's name and never with a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledgerd.config import ConfigError, Settings, load_settings
from ledgerd.stack import free_port

SECRET = "sk-ant-api03-do-not-print-me"
PORT_VARIABLES = (
    "LEDGERD_TEMPORAL_PORT",
    "LEDGERD_TEMPORAL_UI_PORT",
    "LEDGERD_POSTGRES_PORT",
    "LEDGERD_OFFLINE_MODEL_PORT",
    "LEDGERD_API_PORT",
)
_STANDARD = {
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "DATABASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No configuration from the developer's shell or the project's `.env`."""
    for name in list(os.environ):
        if name.upper().startswith("LEDGERD_") or name.upper() in _STANDARD:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config_error(**env: str) -> str:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        with pytest.raises(ConfigError) as caught:
            load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("LEDGERD_POSTGRES_PORT", "abc", "valid integer"),
        ("LEDGERD_TEMPORAL_UI_PORT", "70000", "less than or equal to 65535"),
        ("LEDGERD_DB_POOL_MAX", "0", "greater than or equal to 1"),
        ("LEDGERD_EXECUTOR_MAX_TOKENS", "12", "greater than or equal to 1024"),
        ("LEDGERD_PLANNER_EFFORT", "extreme", "Input should be 'low'"),
        ("LEDGERD_JUDGE_THINKING", "sometimes", "Input should be 'on'"),
    ],
)
def test_an_invalid_value_names_the_variable_and_the_reason(
    variable: str, value: str, reason: str
) -> None:
    message = config_error(**{variable: value})
    assert f"{variable}: " in message
    assert reason in message


def test_a_harmless_bad_value_is_shown() -> None:
    assert "(got 'abc')" in config_error(LEDGERD_POSTGRES_PORT="abc")


def test_every_invalid_variable_is_named_at_once() -> None:
    message = config_error(LEDGERD_POSTGRES_PORT="abc", LEDGERD_DB_POOL_MAX="0")
    assert "LEDGERD_POSTGRES_PORT" in message
    assert "LEDGERD_DB_POOL_MAX" in message


def test_the_judge_must_differ_from_the_executor() -> None:
    message = config_error(LEDGERD_JUDGE_MODEL="claude-x", LEDGERD_EXECUTOR_MODEL="claude-x")
    assert "LEDGERD_JUDGE_MODEL" in message
    assert "LEDGERD_EXECUTOR_MODEL" in message
    assert "claude-x" in message


def test_a_bad_api_key_is_named_but_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(ANTHROPIC_API_KEY=[SECRET])
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_valid_api_key_is_not_echoed_by_errors_about_other_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    message = config_error(LEDGERD_JUDGE_MODEL="claude-x", LEDGERD_EXECUTOR_MODEL="claude-x")
    assert SECRET not in message
    settings = load_settings()
    assert settings.model_api_key == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings)


def test_dotenv_values_are_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    (clean_environment / ".env").write_text(
        "LEDGERD_POSTGRES_PORT=6543\n"
        "TEMPORAL_ADDRESS=temporal.internal:7233\n"
        "LEDGERD_JUDGE_MODEL=claude-judge-from-dotenv\n"
        f"ANTHROPIC_API_KEY={SECRET}\n"
    )
    monkeypatch.setenv("LEDGERD_JUDGE_MODEL", "claude-judge-from-env")

    settings = load_settings()

    assert settings.postgres_port == 6543
    assert settings.effective_database_url.endswith(":6543/ledgerd")
    assert settings.temporal_address == "temporal.internal:7233"
    assert settings.judge_model == "claude-judge-from-env"
    assert not settings.uses_offline_model
    assert settings.model_base_url == "https://api.anthropic.com"


def test_an_invalid_dotenv_value_names_the_variable(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("LEDGERD_DB_POOL_MAX=500\n")
    message = config_error()
    assert "LEDGERD_DB_POOL_MAX" in message
    assert "less than or equal to 200" in message


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_empty_variables_count_as_unset(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path, where: str
) -> None:
    # `ANTHROPIC_API_KEY=` in a `.env` template, or compose passing an unset `${VAR}`: an empty
    # key must not send the worker to Anthropic with no key instead of the offline model.
    empty = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "DATABASE_URL", "TEMPORAL_ADDRESS")
    if where == ".env":
        (clean_environment / ".env").write_text("".join(f"{name}=\n" for name in empty))
    else:
        for name in empty:
            monkeypatch.setenv(name, "")

    settings = load_settings()

    assert settings.uses_offline_model
    assert settings.model_base_url == f"http://127.0.0.1:{settings.offline_model_port}"
    assert settings.database_url is None
    assert settings.temporal_address is None
    assert settings == Settings()


def run_dev(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`ledgerd dev` in `folder`, on free ports and a private state folder: should the
    configuration wrongly pass, nothing touches a developer's stack."""
    full = dict(os.environ)
    full.update({name: str(free_port()) for name in PORT_VARIABLES})
    full["LEDGERD_STATE_DIR"] = str(folder / "state")
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "ledgerd.cli", "dev", *args],
        env=full,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dev_with_an_invalid_variable_exits_2_naming_it(clean_environment: Path) -> None:
    result = run_dev(clean_environment, LEDGERD_POSTGRES_PORT="abc", ANTHROPIC_API_KEY=SECRET)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "LEDGERD_POSTGRES_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert not (clean_environment / "state").exists(), "nothing may start on a bad config"


def test_dev_background_with_an_invalid_dotenv_value_exits_2_naming_it(
    clean_environment: Path,
) -> None:
    (clean_environment / ".env").write_text(
        "LEDGERD_JUDGE_MODEL=claude-same\nLEDGERD_EXECUTOR_MODEL=claude-same\n"
    )
    result = run_dev(clean_environment, "--background")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "LEDGERD_JUDGE_MODEL" in result.stderr
    assert not (clean_environment / "state").exists(), "nothing may start on a bad config"
