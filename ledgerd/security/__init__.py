"""Who may do what, and the proof of it: credentials, the role matrix, payload encryption.

Keyrings are loaded once per process from the settings (see `_keys`), before any workflow
code runs, so verifying a credential inside a workflow never reads a file or the environment.
"""

from __future__ import annotations

from functools import lru_cache

from ledgerd.config import Settings, get_settings
from ledgerd.security._keys import KeyConfigError, Keyring, dev_keyring, parse_keyring

__all__ = ["KeyConfigError", "Keyring", "payload_keyring", "signing_keyring"]


def _keyring(settings: Settings, name: str) -> Keyring:
    configured = getattr(settings, f"{name}_keys")
    variable = f"LEDGERD_{name.upper()}_KEYS"
    if configured is not None:
        return parse_keyring(configured.get_secret_value(), variable)
    if settings.require_configured_keys:
        raise KeyConfigError(
            f"{variable} is not set and LEDGERD_REQUIRE_CONFIGURED_KEYS is true: configure "
            "the keys instead of using a generated development key"
        )
    return dev_keyring(settings.state_dir, name)


@lru_cache(maxsize=8)
def signing_keyring(settings: Settings | None = None) -> Keyring:
    """Keys of decision and action credentials (HMAC-SHA256)."""
    return _keyring(settings or get_settings(), "signing")


@lru_cache(maxsize=8)
def payload_keyring(settings: Settings | None = None) -> Keyring:
    """Keys of workflow payloads (AES-256-GCM)."""
    return _keyring(settings or get_settings(), "payload")
