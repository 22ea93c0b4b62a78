"""Keys with ids: the newest signs or encrypts, every listed key still verifies or decrypts.

Configured as `<key id>=<base64 of 32 bytes>` pairs, comma-separated, newest first
(`LEDGERD_SIGNING_KEYS`, `LEDGERD_PAYLOAD_KEYS`). Rotating is prepending a new pair and, once
nothing signed or encrypted under the old key is still needed, dropping it.

Without configuration a development key is generated once into the state folder (mode 0600),
so `ledgerd dev`, its worker, API and CLI all share it; `LEDGERD_REQUIRE_CONFIGURED_KEYS=true`
(production) refuses to start on a generated key instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
KEY_BYTES = 32


class KeyConfigError(ValueError):
    """A key setting is malformed; the message names the variable, never the key."""


@dataclass(frozen=True)
class Keyring:
    """Keys by id; `current` is the one new signatures and ciphertexts use."""

    keys: dict[str, bytes]
    current: str

    def key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current]


def parse_keyring(text: str, variable: str) -> Keyring:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key_id, sep, encoded = part.partition("=")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise KeyConfigError(
                f"{variable}: each entry is <key id>=<base64 key>, the id of letters, digits, "
                "'.', '_' or '-' (at most 32)"
            )
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyConfigError(f"{variable}: key {key_id!r} is not valid base64") from None
        if len(raw) != KEY_BYTES:
            raise KeyConfigError(
                f"{variable}: key {key_id!r} must be {KEY_BYTES} bytes, not {len(raw)}; "
                "make one with `python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'`"
            )
        if key_id in keys:
            raise KeyConfigError(f"{variable}: key id {key_id!r} is listed twice")
        keys[key_id] = raw
        order.append(key_id)
    if not order:
        raise KeyConfigError(f"{variable}: no keys listed")
    return Keyring(keys=keys, current=order[0])


def dev_keyring(state_dir: Path, name: str) -> Keyring:
    """The generated development key `name` in the state folder, created on first use."""
    folder = state_dir / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.key"
    try:
        # O_EXCL: two processes starting at once agree on one key, the first one's.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode())
    raw = b""
    for _ in range(50):  # the creator may not have written it yet
        raw = base64.b64decode(path.read_text().strip() or "")
        if len(raw) == KEY_BYTES:
            break
        import time

        time.sleep(0.02)
    if len(raw) != KEY_BYTES:
        raise KeyConfigError(f"{path}: not a {KEY_BYTES}-byte key; delete it to generate one")
    key_id = "dev-" + hashlib.sha256(raw).hexdigest()[:8]
    return Keyring(keys={key_id: raw}, current=key_id)
