"""`EncryptionCodec`: every payload ledgerd writes to Temporal is compressed, then encrypted
with AES-256-GCM under the newest payload key; its key id travels in the clear so older keys
still decrypt after a rotation.

Temporal's database and UI then hold ciphertext: bank descriptors, amounts, names and emails
are readable only through the codec, in a worker or client holding the key, or through the
codec server (`ledgerd.api._codec`) for those allowed. Payloads that are not ours (plain JSON
sent with the `temporal` CLI) pass through decoding unchanged.

A receipt (`ClearReceipt`: the ids and time an Update answers with, never tenant data) is
marked `ledgerd-clear` by the payload converter and left in clear, so the plain `temporal` CLI
can show the answer to `temporal workflow update execute` without the codec server.

Compressing first leaks a little about content through the length (as any compression
does); payloads mix no attacker-chosen text with secrets that length could reveal.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from ledgerd.receipts import CLEAR
from ledgerd.security._keys import Keyring

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
CIPHER = "encryption-cipher"
CIPHER_NAME = b"AES256-GCM+zlib"
NONCE_BYTES = 12


class PayloadDecryptionError(ValueError):
    """A payload cannot be decrypted: an unknown or retired key, or altered ciphertext."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._keyring.current
        cipher = self._ciphers[key_id]
        encoded = []
        for payload in payloads:
            if CLEAR in payload.metadata:
                encoded.append(payload)
                continue
            nonce = os.urandom(NONCE_BYTES)
            plain = zlib.compress(payload.SerializeToString())
            # The key id is authenticated data: moving a ciphertext under another id fails.
            sealed = cipher.encrypt(nonce, plain, key_id.encode())
            encoded.append(
                Payload(
                    metadata={
                        "encoding": ENCODING,
                        KEY_ID: key_id.encode(),
                        CIPHER: CIPHER_NAME,
                    },
                    data=nonce + sealed,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload key {key_id!r} is not configured; add it back to LEDGERD_PAYLOAD_KEYS "
                "(older keys must stay listed while histories encrypted with them exist)"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload encrypted under {key_id!r} fails authentication: altered or corrupt"
            ) from None
        return Payload.FromString(zlib.decompress(plain))
