"""Connections through Temporal's environment configuration: TOML profiles and TEMPORAL_*
variables, the embedded default when nothing is set, and secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from ledgerd.config import ConfigError, load_settings
from ledgerd.connection import connect_client, describe_connection, resolve_connection

API_KEY = "tmprl-api-key-do-not-print-me"
CLIENT_KEY = (
    "-----BEGIN PRIVATE KEY-----\nnot-a-real-key-do-not-print-me\n-----END PRIVATE KEY-----\n"
)
CLIENT_CERT = "-----BEGIN CERTIFICATE-----\nnot-a-real-cert\n-----END CERTIFICATE-----\n"

CLOUD_PROFILE = f"""
[profile.default]
address = "127.0.0.1:7233"

# Temporal Cloud with an API key: the regional endpoint, TLS with an explicit server name.
[profile.cloud]
address = "us-east-1.aws.api.temporal.io:7233"
namespace = "ledgerd-prod.a1b2c"
api_key = "{API_KEY}"

[profile.cloud.tls]
server_name = "us-east-1.aws.api.temporal.io"
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Temporal configuration from the developer's shell, home or `.env`."""
    for name in list(os.environ):
        if name.startswith(("TEMPORAL_", "LEDGERD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/temporalio/temporal.toml
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _profile_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text(text)
    return path


def test_a_cloud_profile_with_tls_and_an_api_key_gives_the_cloud_connect_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(_profile_file(tmp_path, CLOUD_PROFILE)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")

    config = resolve_connection(load_settings()).connect_config()

    assert config["target_host"] == "us-east-1.aws.api.temporal.io:7233"
    assert config["namespace"] == "ledgerd-prod.a1b2c"
    assert config["api_key"] == API_KEY
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.domain == "us-east-1.aws.api.temporal.io"
    # API-key auth: server verified against system roots, no client certificate.
    assert tls.server_root_ca_cert is None and tls.client_cert is None


def test_an_mtls_profile_reads_the_certificate_and_key_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "client.pem").write_text(CLIENT_CERT)
    (tmp_path / "client.key").write_text(CLIENT_KEY)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "ledgerd")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(tmp_path / "client.pem"))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(tmp_path / "client.key"))

    config = resolve_connection(load_settings()).connect_config()

    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == CLIENT_CERT.encode()
    assert tls.client_private_key == CLIENT_KEY.encode()
    assert "api_key" not in config


def test_variables_override_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(_profile_file(tmp_path, CLOUD_PROFILE)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "ledgerd-staging.a1b2c")

    connection = resolve_connection(load_settings())

    assert connection.namespace == "ledgerd-staging.a1b2c"
    assert connection.address == "us-east-1.aws.api.temporal.io:7233"


def test_nothing_set_means_the_embedded_dev_server_without_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGERD_TEMPORAL_PORT", "7299")

    connection = resolve_connection(load_settings())

    assert connection.connect_config() == {"target_host": "127.0.0.1:7299", "namespace": "default"}
    assert connection.address_source == "embedded dev server"


def test_dotenv_temporal_variables_count_like_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"TEMPORAL_ADDRESS=temporal.example:7233\nTEMPORAL_API_KEY={API_KEY}\n"
    )

    config = resolve_connection(load_settings()).connect_config()

    assert config["target_host"] == "temporal.example:7233"
    assert config["api_key"] == API_KEY
    assert config["tls"] is not False  # an API key turns TLS on


def test_the_description_masks_every_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "client.key").write_text(CLIENT_KEY)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(_profile_file(tmp_path, CLOUD_PROFILE)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_DATA", CLIENT_CERT)
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(tmp_path / "client.key"))
    monkeypatch.setenv("TEMPORAL_GRPC_META_AUTHORIZATION", "Bearer do-not-print-me")

    shown = describe_connection(load_settings())

    assert shown["api key"] == "set (masked)"
    assert shown["tls client key"] == "set (masked)"
    assert shown["tls client cert"].startswith("inline PEM")
    assert shown["grpc meta authorization"] == "set (masked)"
    assert shown["address"].startswith("us-east-1.aws.api.temporal.io:7233")
    assert "do-not-print-me" not in repr(shown)


def test_ledgerd_connection_prints_the_masked_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(_profile_file(tmp_path, CLOUD_PROFILE)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")

    shown = subprocess.run(
        [sys.executable, "-m", "ledgerd.cli", "connection"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert shown.returncode == 0, shown.stderr
    assert "us-east-1.aws.api.temporal.io:7233" in shown.stdout
    assert "api key" in shown.stdout and "set (masked)" in shown.stdout
    assert API_KEY not in shown.stdout + shown.stderr


def test_a_missing_profile_or_file_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(_profile_file(tmp_path, CLOUD_PROFILE)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "prod")
    with pytest.raises(ConfigError, match=r"Temporal profile 'prod' .*not found"):
        resolve_connection(load_settings())

    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "missing.toml"))
    failed = subprocess.run(
        [sys.executable, "-m", "ledgerd.cli", "connection"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 1
    assert (
        failed.stderr.strip() == f"TEMPORAL_CONFIG_FILE: no such file: {tmp_path / 'missing.toml'}"
    )


async def test_a_profile_reaches_a_real_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dev_env: WorkflowEnvironment
) -> None:
    """The same function the worker, API, CLI and starter use connects where the profile says."""
    target = dev_env.client.service_client.config.target_host
    profile = f'[profile.local]\naddress = "{target}"\nnamespace = "default"\n'
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(_profile_file(tmp_path, profile)))
    monkeypatch.setenv("TEMPORAL_PROFILE", "local")

    client = await connect_client(load_settings())

    assert client.service_client.config.target_host == target
    assert (await client.service_client.check_health()) is True
