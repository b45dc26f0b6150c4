"""The metered, OpenAI-compatible API: /v1/chat/completions and /v1/models.

A call: authenticate (one query: key, group, balance), validate, refuse when the
group cannot pay, check rate limits, call the backend, then record and debit the
call (one statement). Refused calls are never charged. No sessions, no CSRF.
"""

import json
import logging
import time
import uuid

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from billing.pricing import price_at
from gateway import errors
from gateway.auth import Caller, authenticate
from gateway.backends import BackendError, Stream, backend_for
from gateway.encoding import dumps
from gateway.errors import ApiError
from gateway.metering import charge, usage_body
from gateway.routes import enabled_routes, find_route
from gateway.schema import ChatRequest, parse_chat_request
from usage.models import CallStatus

logger = logging.getLogger(__name__)

JSON = "application/json"


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        raise errors.request_too_large() from None


def _json(payload: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(payload), status=status, content_type=JSON)


@csrf_exempt
def chat_completions(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return errors.method_not_allowed("POST").response()
    try:
        return _chat_completions(request)
    except ApiError as error:
        return error.response()


def _chat_completions(request: HttpRequest) -> HttpResponse:
    started = time.monotonic()
    caller = authenticate(request)
    chat = parse_chat_request(_body(request))
    route = find_route(chat.model)
    price = price_at(chat.model, caller.at)
    if route is None or price is None:
        raise errors.unknown_model(chat.model)
    if caller.balance_micros <= 0:
        raise errors.insufficient_credits()

    # Rate limits go here: after authentication and admission, before the backend
    # is called, so that a limited call costs the backend nothing and is never
    # charged. The limits app raises errors.rate_limited(retry_after_seconds).

    backend = backend_for(route)
    request_id = f"chatcmpl-{uuid.uuid4().hex}"
    if chat.stream:
        try:
            stream = backend.open_stream(chat, route)
        except BackendError as error:
            raise errors.upstream_failed(error.code, error.message) from None
        events = _stream_events(caller, chat, price, stream, request_id, started)
        response = StreamingHttpResponse(events, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        response["X-Request-Id"] = request_id
        return response

    try:
        completion = backend.complete(chat, route)
    except BackendError as error:
        raise errors.upstream_failed(error.code, error.message) from None
    cost = charge(
        caller, chat, price, completion.used, request_id=request_id, started=started
    )
    body = {
        "id": request_id,
        "object": "chat.completion",
        "created": int(caller.at.timestamp()),
        "model": chat.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.content},
                "finish_reason": completion.finish_reason,
            }
        ],
        "usage": usage_body(price, completion.used, cost),
        **completion.extra,
    }
    response = _json(body)
    response["X-Request-Id"] = request_id
    return response


def _chunk(request_id: str, chat: ChatRequest, created: int, **fields) -> bytes:
    payload = {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": chat.model,
        **fields,
    }
    return f"data: {dumps(payload)}\n\n".encode()


def _stream_events(
    caller: Caller,
    chat: ChatRequest,
    price,
    stream: Stream,
    request_id: str,
    started: float,
):
    """Yield the SSE events; charge once the answer is complete.

    The last data chunk carries the usage and cost, then `data: [DONE]`. A client
    that leaves early is charged for what was generated, when the backend knows
    it; an upstream that fails mid-stream gets an error event and no charge.
    """
    created = int(caller.at.timestamp())
    settled = False
    try:
        yield _chunk(
            request_id,
            chat,
            created,
            choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}}],
        )
        for text in stream:
            delta = {"index": 0, "delta": {"content": text}, "finish_reason": None}
            yield _chunk(request_id, chat, created, choices=[delta])
        settled = True
        cost = charge(
            caller,
            chat,
            price,
            stream.used,
            request_id=request_id,
            started=started,
            streamed=True,
        )
        finish = {"index": 0, "delta": {}, "finish_reason": stream.finish_reason}
        yield _chunk(request_id, chat, created, choices=[finish], **stream.extra)
        usage = usage_body(price, stream.used, cost)
        yield _chunk(request_id, chat, created, choices=[], usage=usage)
        yield b"data: [DONE]\n\n"
    except BackendError as error:
        settled = True
        failure = errors.upstream_failed(error.code, error.message).body()
        yield f"data: {json.dumps(failure)}\n\n".encode()
    finally:
        stream.close()
        if not settled:
            _charge_abandoned(caller, chat, price, stream, request_id, started)


def _charge_abandoned(caller, chat, price, stream, request_id, started) -> None:
    used = stream.partial_used()
    if used is None:
        logger.warning("stream abandoned, usage unknown, not charged id=%s", request_id)
        return
    charge(
        caller,
        chat,
        price,
        used,
        request_id=request_id,
        started=started,
        streamed=True,
        status=CallStatus.CLIENT_DISCONNECTED,
    )


@csrf_exempt
def list_models(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return errors.method_not_allowed("GET").response()
    try:
        authenticate(request)
    except ApiError as error:
        return error.response()
    now = timezone.now()
    data = [
        {
            "id": route.model,
            "object": "model",
            "created": int(route.created_at.timestamp()),
            "owned_by": "api-portal",
        }
        for route in sorted(enabled_routes(), key=lambda r: r.model)
        if price_at(route.model, now) is not None
    ]
    return _json({"object": "list", "data": data})
