"""The HTTP app: `/v1/messages` as the real API answers it, plus a control API for tests.

Order of work for a Messages request: authentication, body parsing and validation first,
then injected faults, then the policy. Faults come after validation on purpose: an invalid
request gets its 400 and does not spend a fault, so "the next N requests fail" stays true
for the requests a test meant. Every response, errors included, carries a `request-id`
header, and error bodies use the real envelope, because clients log and classify on those.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
from collections import deque
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from standin._config import OfflineModelConfig
from standin._contract import (
    FORCED_TOOL_REFUSED,
    Checked,
    check_request,
    drop_blocks,
    model_profile,
)
from standin._faults import FaultQueue, FaultSpec, parse_faults
from standin._models import model_info, models_page
from standin._policy import decide
from standin._render import render
from standin._stream import sse_events
from standin._tokens import PromptCache, canonical_json, prompt_segments
from standin._wire import (
    InvalidRequest,
    MessagesRequest,
    MessagesResponse,
    describe_validation_error,
    error_body,
    error_type_for,
)

log = logging.getLogger("standin")


class _State:
    def __init__(self, config: OfflineModelConfig) -> None:
        from standin.scenarios._misbehave import Misbehaviour

        self.config = config
        self.misbehaviour: Misbehaviour | None = (
            Misbehaviour.parse(config.misbehave) if config.misbehave else None
        )
        self.faults = FaultQueue(
            config.faults,
            fault_rate=config.fault_rate,
            seed=config.seed,
            random_statuses=config.random_fault_statuses,
        )
        self.cache = PromptCache(config.cache_min_tokens)
        self.requests: deque[dict[str, Any]] = deque(maxlen=config.record_limit)
        self._ids = itertools.count(1)

    def reset(self) -> None:
        """Back to the just-started state, so tests sharing one server do not leak."""
        from standin.scenarios._misbehave import Misbehaviour

        self.faults.replace(self.config.faults)
        self.faults.reset_random()
        self.misbehaviour = (
            Misbehaviour.parse(self.config.misbehave) if self.config.misbehave else None
        )
        self.cache.clear()
        self.requests.clear()
        self._ids = itertools.count(1)

    def request_id(self) -> str:
        return f"req_offline_{next(self._ids):08d}"


def _json(
    status: int, body: Any, request_id: str, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(
        body, status_code=status, headers={**(headers or {}), "request-id": request_id}
    )


def _error(
    status: int,
    message: str,
    request_id: str,
    *,
    error_type: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = error_body(error_type or error_type_for(status), message, request_id, details)
    return _json(status, body, request_id, headers)


def _fault_response(fault: FaultSpec, request_id: str) -> Response:
    error_type, message, details = fault.error_fields()
    headers = {**fault.response_headers(), "x-offline-fault": fault.kind}
    return _error(
        fault.http_status(),
        message,
        request_id,
        error_type=error_type,
        details=details,
        headers=headers,
    )


def _preflight(request: Request, request_id: str) -> Response | None:
    if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
        return _error(401, "x-api-key header is required", request_id)
    if "anthropic-version" not in request.headers:
        return _error(400, "anthropic-version: header is required", request_id)
    return None


async def _body(request: Request, request_id: str) -> dict[str, Any] | Response:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError as problem:
        return _error(400, f"Request body is not valid JSON: {problem}", request_id)
    if not isinstance(body, dict):
        return _error(400, "Request body must be a JSON object", request_id)
    return body


def account_of(request: Request) -> str:
    """Who is asking, as the API key names an account: thinking blocks of some models are
    bound to the account that received them."""
    key = request.headers.get("x-api-key") or request.headers.get("authorization") or ""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def betas_of(request: Request) -> frozenset[str]:
    raw = request.headers.get("anthropic-beta", "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _validate(
    body: dict[str, Any], request: Request, request_id: str
) -> tuple[MessagesRequest, Checked] | Response:
    try:
        parsed = MessagesRequest.model_validate(body)
        checked = check_request(parsed, account=account_of(request), betas=betas_of(request))
    except ValidationError as problem:
        return _error(400, describe_validation_error(problem), request_id)
    except InvalidRequest as problem:
        return _error(problem.status, problem.message, request_id)
    return parsed, checked


def create_app(config: OfflineModelConfig | None = None) -> Starlette:
    """The stand-in as an ASGI app; `config` None reads `LEDGERD_OFFLINE_*` from the env."""
    # Imported here, not at module level, so scenario modules can import this package.
    import standin.scenarios  # noqa: F401
    from standin.scenarios._misbehave import CURRENT, Misbehaviour

    state = _State(config if config is not None else OfflineModelConfig.from_env())

    async def messages(request: Request) -> Response:
        request_id = state.request_id()
        record: dict[str, Any] = {"request_id": request_id, "status": None, "body": None}
        state.requests.append(record)
        response = await _messages(request, request_id, record)
        record["status"] = response.status_code
        return response

    async def _messages(request: Request, request_id: str, record: dict[str, Any]) -> Response:
        body = await _body(request, request_id)
        if not isinstance(body, Response):
            record["body"] = body
        refused = _preflight(request, request_id)
        if refused is not None:
            return refused
        if isinstance(body, Response):
            return body
        validated = _validate(body, request, request_id)
        if isinstance(validated, Response):
            return validated
        parsed, checked = validated
        # What the model sees: thinking blocks it cannot read are dropped, silently.
        seen = drop_blocks(parsed, checked.dropped)
        fault = state.faults.take(parsed.model, offers_tools=bool(parsed.tools))
        delay = state.config.latency_ms
        if fault is not None and (fault.kind != "stall" or not parsed.stream):
            delay += fault.latency_ms
        if fault is not None and fault.kind == "stream_error" and not parsed.stream:
            fault = FaultSpec(status=529)  # what breaks a stream midway fails a plain call
        if delay:
            await asyncio.sleep(delay / 1000)
        if fault is not None and fault.is_error():
            log.info(
                "offline stand-in %s: injected %s %s", request_id, fault.kind, fault.http_status()
            )
            return _fault_response(fault, request_id)
        # The scripts read the server's fault mode for this request only.
        token = CURRENT.set(state.misbehaviour)
        try:
            reply, source = decide(seen, state.config.scenarios)
        except Exception as problem:
            log.exception("offline stand-in %s: scenario failed", request_id)
            return _error(500, f"offline stand-in scenario failed: {problem!r}", request_id)
        finally:
            CURRENT.reset(token)
        rendered = render(parsed, reply, fault, checked, account_of(request))
        response = MessagesResponse(
            id="msg_offline_" + hashlib.sha256(canonical_json(body).encode()).hexdigest()[:24],
            model=parsed.model,
            content=rendered.content,
            stop_reason=rendered.stop_reason,
            stop_sequence=rendered.stop_sequence,
            stop_details=rendered.stop_details,
            usage=state.cache.usage(
                parsed, rendered.output_tokens, checked.profile.min_cache_tokens
            ),
        )
        headers = {"x-offline-policy": source}
        if fault is not None:
            headers["x-offline-fault"] = fault.kind
        if checked.dropped:
            # The real API reports drops only under a beta header; tests read them here.
            headers["x-offline-dropped-thinking"] = "; ".join(
                f"messages.{i}.content.{j} {reason}" for i, j, reason in checked.dropped
            )
        log.info(
            "offline stand-in %s: %s answered %s (%s)",
            request_id,
            source,
            rendered.stop_reason,
            parsed.model,
        )
        if parsed.stream:
            return StreamingResponse(
                sse_events(response, fault),
                media_type="text/event-stream",
                headers={**headers, "request-id": request_id, "cache-control": "no-cache"},
            )
        return _json(200, response.model_dump(mode="json"), request_id, headers)

    async def count_tokens(request: Request) -> Response:
        request_id = state.request_id()
        refused = _preflight(request, request_id)
        if refused is not None:
            return refused
        body = await _body(request, request_id)
        if isinstance(body, Response):
            return body
        try:
            parsed = MessagesRequest.model_validate({"max_tokens": 1, **body})
            if parsed.forces_tool() and not model_profile(parsed.model).forced_tool_choice:
                # "the same validation applies to the token counting endpoint"
                raise InvalidRequest(FORCED_TOOL_REFUSED)
        except ValidationError as problem:
            return _error(400, describe_validation_error(problem), request_id)
        except InvalidRequest as problem:
            return _error(problem.status, problem.message, request_id)
        total = sum(segment.tokens for segment in prompt_segments(parsed))
        return _json(200, {"input_tokens": total}, request_id)

    async def models(request: Request) -> Response:
        request_id = state.request_id()
        refused = _preflight(request, request_id)
        if refused is not None:
            return refused
        return _json(200, models_page(), request_id)

    async def model(request: Request) -> Response:
        request_id = state.request_id()
        refused = _preflight(request, request_id)
        if refused is not None:
            return refused
        found = model_info(request.path_params["model_id"])
        if found is None:
            return _error(404, f"model: {request.path_params['model_id']}", request_id)
        return _json(200, found, request_id)

    async def health(request: Request) -> Response:
        body = {"status": "ok", "service": "ledgerd offline model stand-in"}
        return _json(200, body, state.request_id())

    async def faults(request: Request) -> Response:
        request_id = state.request_id()
        if request.method == "POST":
            try:
                state.faults.replace(parse_faults(json.loads(await request.body())))
            except (ValueError, ValidationError) as problem:
                return _error(400, f"faults: {problem}", request_id)
        elif request.method == "DELETE":
            state.faults.clear()
        return _json(200, {"pending": state.faults.pending()}, request_id)

    async def misbehave(request: Request) -> Response:
        request_id = state.request_id()
        if request.method == "POST":
            try:
                body = json.loads(await request.body())
                state.misbehaviour = Misbehaviour(
                    str(body["mode"]), frozenset(str(d) for d in body.get("daemons") or [])
                )
            except (ValueError, KeyError, TypeError, AttributeError) as problem:
                return _error(400, f"misbehave: {problem}", request_id)
        elif request.method == "DELETE":
            state.misbehaviour = None
        current = state.misbehaviour.describe() if state.misbehaviour else None
        return _json(200, {"misbehave": current}, request_id)

    async def requests(request: Request) -> Response:
        request_id = state.request_id()
        if request.method == "DELETE":
            state.requests.clear()
            return _json(200, {"requests": []}, request_id)
        recorded = list(state.requests)
        limit = request.query_params.get("limit")
        if limit is not None and limit.isdigit():
            recorded = recorded[-int(limit) :] if int(limit) else []
        return _json(200, {"requests": recorded}, request_id)

    async def reset(request: Request) -> Response:
        state.reset()
        return _json(200, {"status": "reset"}, state.request_id())

    async def http_error(request: Request, problem: Exception) -> Response:
        status = problem.status_code if isinstance(problem, HTTPException) else 500
        message = problem.detail if isinstance(problem, HTTPException) else "Internal error"
        return _error(status, str(message), state.request_id())

    routes = [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", model, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    if state.config.control:
        routes += [
            Route("/_control/faults", faults, methods=["GET", "POST", "DELETE"]),
            Route("/_control/requests", requests, methods=["GET", "DELETE"]),
            Route("/_control/misbehave", misbehave, methods=["GET", "POST", "DELETE"]),
            Route("/_control/reset", reset, methods=["POST"]),
        ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.offline = state
    return app
