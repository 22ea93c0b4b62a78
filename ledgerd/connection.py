"""The one way every ledgerd process reaches Temporal: worker, API, CLI and starter.

Connection options come from Temporal's own environment configuration
(`temporalio.envconfig`), so the same TOML profiles and `TEMPORAL_*` variables that the
`temporal` CLI and every other SDK read work here unchanged:

- a profile from `TEMPORAL_CONFIG_FILE` (default `~/.config/temporalio/temporal.toml`),
  chosen by `TEMPORAL_PROFILE` (default `default`);
- overridden by `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`,
  `TEMPORAL_TLS_CLIENT_CERT_PATH`/`_DATA`, `TEMPORAL_TLS_CLIENT_KEY_PATH`/`_DATA`,
  `TEMPORAL_TLS_SERVER_CA_CERT_PATH`/`_DATA`, `TEMPORAL_TLS_SERVER_NAME`,
  `TEMPORAL_GRPC_META_*`.

`.env` counts as environment, as it does for the rest of ledgerd's settings. What neither
names falls back to ledgerd's own settings: `LEDGERD_TEMPORAL_ADDRESS`/`_NAMESPACE`, and
finally the embedded dev server on `127.0.0.1:$LEDGERD_TEMPORAL_PORT`, so `ledgerd dev` works
with nothing set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile, ClientConnectConfig
from temporalio.plugin import SimplePlugin

from ledgerd.config import ConfigError, Settings

EMBEDDED = "embedded dev server"
"""`Connection.address_source` when nothing names a server: `ledgerd dev` serves its own."""


@dataclass(frozen=True)
class Connection:
    """Where and how to connect, resolved from profile, environment and settings."""

    profile: ClientConfigProfile
    """The envconfig profile with defaults applied (address and namespace always set)."""
    profile_name: str
    config_file: str | None
    """The TOML file read, or None when only the environment (and defaults) applied."""
    address_source: str
    """Which setting gave the address: a variable, the profile, or the embedded default."""

    @property
    def address(self) -> str:
        assert self.profile.address is not None
        return self.profile.address

    @property
    def namespace(self) -> str:
        assert self.profile.namespace is not None
        return self.profile.namespace

    @property
    def tls_enabled(self) -> bool:
        tls = self.profile.tls
        if tls is not None and tls.disabled is not None:
            return not tls.disabled
        # Temporal's rule: an API key turns TLS on, as does any TLS setting.
        return self.profile.api_key is not None or tls is not None

    def connect_config(self) -> ClientConnectConfig:
        """Keyword arguments for `Client.connect` (reads certificate files named by path)."""
        try:
            return self.profile.to_client_connect_config()
        except OSError as error:
            raise ConfigError(
                f"Temporal TLS: cannot read {error.filename}: {error.strerror}"
            ) from None


def _environment(env: Mapping[str, str] | None) -> dict[str, str]:
    """The process environment over `.env`'s TEMPORAL_* lines (pydantic-settings reads `.env`
    for everything else; Temporal's loader reads only real variables)."""
    if env is not None:
        return dict(env)
    merged: dict[str, str] = {}
    dotenv = Path(".env")
    if dotenv.is_file():
        from dotenv import dotenv_values

        merged = {
            name: value
            for name, value in dotenv_values(dotenv).items()
            if name.startswith("TEMPORAL_") and value
        }
    merged.update(os.environ)
    # An empty variable counts as unset, as for every other setting (compose's `${VAR}`).
    return {name: value for name, value in merged.items() if value != ""}


def _config_file(env: Mapping[str, str]) -> str | None:
    named = env.get("TEMPORAL_CONFIG_FILE")
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"TEMPORAL_CONFIG_FILE: no such file: {named}")
        return named
    home = env.get("HOME")
    default = Path(home) / ".config/temporalio/temporal.toml" if home else None
    return str(default) if default is not None and default.is_file() else None


def resolve_connection(settings: Settings, env: Mapping[str, str] | None = None) -> Connection:
    """The connection every ledgerd process uses; `ConfigError` (one line) if it is invalid."""
    environment = _environment(env)
    config_file = _config_file(environment)
    profile_name = environment.get("TEMPORAL_PROFILE", "default")
    try:
        loaded = ClientConfigProfile.load(
            profile=environment.get("TEMPORAL_PROFILE"),
            config_source=Path(config_file) if config_file else None,
            override_env_vars=environment,
        )
    except Exception as error:  # the Rust loader's ConfigError is not importable by name
        where = f" in {config_file}" if config_file else ""
        raise ConfigError(f"Temporal profile {profile_name!r}{where}: {error}") from None
    if loaded.address:
        source = "TEMPORAL_ADDRESS" if environment.get("TEMPORAL_ADDRESS") else "profile"
        address = loaded.address
    elif settings.temporal_address:
        source, address = "LEDGERD_TEMPORAL_ADDRESS", settings.temporal_address
    else:
        source, address = EMBEDDED, settings.effective_temporal_address
    profile = ClientConfigProfile(
        address=address,
        namespace=loaded.namespace or settings.temporal_namespace,
        api_key=loaded.api_key,
        tls=loaded.tls,
        grpc_meta=loaded.grpc_meta,
    )
    return Connection(profile, profile_name, config_file, source)


async def connect_client(
    settings: Settings,
    plugins: Sequence[SimplePlugin] = (),
    env: Mapping[str, str] | None = None,
) -> Client:
    """A Temporal client for `settings` with `plugins`; the only `Client.connect` in ledgerd."""
    from ledgerd.temporal_runtime import temporal_runtime

    config: dict[str, Any] = dict(resolve_connection(settings, env).connect_config())
    target = config.pop("target_host")
    # The process's own runtime, released before Python exits (the default one can abort it).
    config.setdefault("runtime", temporal_runtime())
    return await Client.connect(target, plugins=list(plugins), **config)


def _source(value: object) -> str:
    if isinstance(value, Path):
        return str(value)
    return f"inline PEM ({len(value)} bytes)" if isinstance(value, str | bytes) else "none"


def describe_connection(settings: Settings, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The connection this process would use, for people: every secret masked.

    Certificates are named by path (or "inline PEM"), never read; the API key, the client
    key and gRPC metadata values (often credentials) show only that they are set.
    """
    connection = resolve_connection(settings, env)
    profile = connection.profile
    tls = profile.tls
    shown = {
        "address": f"{connection.address} (from {connection.address_source})",
        "namespace": connection.namespace,
        "profile": connection.profile_name,
        "config file": connection.config_file or "none",
        "api key": "set (masked)" if profile.api_key else "none",
        "tls": "on" if connection.tls_enabled else "off",
    }
    if connection.tls_enabled:
        shown["tls server name"] = (tls.server_name if tls else None) or "from the address"
        shown["tls server CA"] = (
            _source(tls.server_root_ca_cert) if tls and tls.server_root_ca_cert else "system roots"
        )
        shown["tls client cert"] = _source(tls.client_cert) if tls else "none"
        shown["tls client key"] = (
            "set (masked)" if tls is not None and tls.client_private_key is not None else "none"
        )
    for name in sorted(profile.grpc_meta):
        shown[f"grpc meta {name}"] = "set (masked)"
    return shown
