"""The codec server: `POST /codec/decode` and `/codec/encode`, for the Temporal UI and
`temporal workflow show --codec-endpoint http://127.0.0.1:8000/codec --codec-auth 'Bearer <token>'`.

Decoding shows tenants' data, so only platform administrators may (their bearer token).
`ledgerd dev` also gives the local UI a capability path, `/codec/ui/<key>` (LEDGERD_CODEC_UI_KEY),
because `temporal server start-dev` cannot send a token with the UI's codec calls; it is off
unless configured. Browsers may call it only from the origins in LEDGERD_CODEC_CORS_ORIGINS.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from ledgerd.config import Settings
from ledgerd.db import Pool
from ledgerd.security import payload_keyring
from ledgerd.security.admins import AdminRefused, authenticate_admin
from ledgerd.security.codec import EncryptionCodec, PayloadDecryptionError

PoolOf = Callable[[], Pool | None]


def _error(status: int, message: str) -> Response:
    return Response(
        content=f'{{"error": {{"type": "codec", "message": "{message}"}}}}',
        status_code=status,
        media_type="application/json",
    )


def codec_app(settings: Settings, pool_of: PoolOf) -> FastAPI:
    app = FastAPI(title="ledgerd codec server", openapi_url=None, docs_url=None)
    codec = EncryptionCodec(payload_keyring(settings))
    ui_key = settings.codec_ui_key.get_secret_value() if settings.codec_ui_key else None
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.codec_cors_origins),
        allow_methods=["POST"],
        allow_headers=["*"],  # the UI sends X-Namespace and others; the origin is what is checked
        allow_credentials=True,
    )

    async def authorised(request: Request, key: str | None) -> str | None:
        """None if allowed, else why not."""
        if key is not None:
            if ui_key and hmac.compare_digest(key.encode(), ui_key.encode()):
                return None
            return "unknown codec path"
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "send Authorization: Bearer <platform administrator token>"
        pool = pool_of()
        if pool is None:
            return "not connected to the database yet; retry shortly"
        try:
            await authenticate_admin(pool, token.strip())
        except AdminRefused as error:
            return str(error)
        return None

    async def transform(
        request: Request, key: str | None, how: Callable[[Payloads], Awaitable[None]]
    ) -> Response:
        refused = await authorised(request, key)
        if refused is not None:
            return _error(403 if key is None else 404, refused)
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError:
            return _error(400, "the body is not a JSON Payloads message")
        try:
            await how(payloads)
        except PayloadDecryptionError as error:
            return _error(422, str(error))
        return Response(content=json_format.MessageToJson(payloads), media_type="application/json")

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await transform(request, None, codec.decode_wrapper)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await transform(request, None, codec.encode_wrapper)

    @app.post("/ui/{key}/decode")
    async def ui_decode(key: str, request: Request) -> Response:
        return await transform(request, key, codec.decode_wrapper)

    @app.post("/ui/{key}/encode")
    async def ui_encode(key: str, request: Request) -> Response:
        return await transform(request, key, codec.encode_wrapper)

    return app
