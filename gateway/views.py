"""The metered, OpenAI-compatible API: /v1/chat/completions and /v1/models.

A call: authenticate (one query: key, group, balance), validate, refuse when the
group cannot pay, check rate limits, call the backend, then record and debit the
call (one statement). Refused calls are never charged. No sessions, no CSRF.
"""

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from billing.models import ModelPrice
from billing.pricing import CallCost, CallQuantities, price_at
from gateway import errors
from gateway.auth import Caller, authenticate
from gateway.backends import BackendError, Completion, Stream, backend_for
from gateway.encoding import dumps
from gateway.errors import ApiError
from gateway.metering import charge, usage_body
from gateway.models import ModelRoute
from gateway.routes import enabled_routes, find_route
from gateway.schema import ChatRequest, parse_chat_request
from limits.ratelimit import RateLimitResult, check_rate_limit
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
def unknown_path(request: HttpRequest) -> HttpResponse:
    """404 in the API's JSON shape for any path under /v1 that no route answers."""
    return errors.unknown_path(request.method or "GET", request.path).response()


@csrf_exempt
def chat_completions(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if request.method != "POST":
        return errors.method_not_allowed("POST").response()
    try:
        return _chat_completions(request)
    except ApiError as error:
        return error.response()
    except Exception:
        # Clients get the API's JSON shape even for our own failures, never a page.
        incident = uuid.uuid4().hex[:12]
        logger.exception("chat completion failed incident=%s", incident)
        return errors.server_error(incident).response()


@dataclass(frozen=True)
class _Call:
    """An admitted call: who makes it, what it asks, where it goes, its price."""

    caller: Caller
    chat: ChatRequest
    route: ModelRoute
    price: ModelPrice
    request_id: str
    started: float

    def charge(self, used: CallQuantities, **options) -> CallCost:
        return charge(
            self.caller,
            self.chat,
            self.price,
            used,
            request_id=self.request_id,
            started=self.started,
            **options,
        )

    def chunk(self, **fields) -> bytes:
        payload = {
            "id": self.request_id,
            "object": "chat.completion.chunk",
            "created": int(self.caller.at.timestamp()),
            "model": self.chat.model,
            **fields,
        }
        return f"data: {dumps(payload)}\n\n".encode()


def _admit(request: HttpRequest, started: float) -> _Call:
    """Authenticate, validate and check the group can pay; raise ApiError if not."""
    caller = authenticate(request)
    chat = parse_chat_request(_body(request))
    route = find_route(chat.model)
    price = price_at(chat.model, caller.at)
    if route is None or price is None:
        raise errors.unknown_model(chat.model)
    if caller.balance_micros <= 0:
        raise errors.insufficient_credits()
    request_id = f"chatcmpl-{uuid.uuid4().hex}"
    return _Call(caller, chat, route, price, request_id, started)


def _chat_completions(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    call = _admit(request, started=time.monotonic())
    limit = _rate_limit(call)
    response = _answer(call)
    for name, value in limit.headers().items():
        response[name] = value
    return response


def _rate_limit(call: _Call) -> RateLimitResult:
    """Count the call against its group's limit for the model; refuse it above.

    After authentication and admission, before the backend is called, so that a
    limited call costs the backend nothing and is never charged.
    """
    limit = check_rate_limit(call.caller.group_id, call.chat.model)
    if not limit.allowed:
        error = errors.rate_limited(limit.retry_after)
        error.headers.update(limit.headers())
        raise error
    return limit


def _answer(call: _Call) -> HttpResponse | StreamingHttpResponse:
    backend = backend_for(call.route)
    try:
        if call.chat.stream:
            return _streamed(call, backend.open_stream(call.chat, call.route))
        completion = backend.complete(call.chat, call.route)
    except BackendError as error:
        raise errors.upstream_failed(error.code, error.message) from None
    return _completed(call, completion)


def _completed(call: _Call, completion: Completion) -> HttpResponse:
    cost = call.charge(completion.used)
    body = {
        "id": call.request_id,
        "object": "chat.completion",
        "created": int(call.caller.at.timestamp()),
        "model": call.chat.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.content},
                "finish_reason": completion.finish_reason,
            }
        ],
        "usage": usage_body(call.price, completion.used, cost),
        **completion.extra,
    }
    response = _json(body)
    response["X-Request-Id"] = call.request_id
    return response


def _streamed(call: _Call, stream: Stream) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _stream_events(call, stream), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    response["X-Request-Id"] = call.request_id
    return response


def _stream_events(call: _Call, stream: Stream) -> Iterator[bytes]:
    """Yield the SSE events; charge once the answer is complete.

    The last data chunk carries the usage and cost, then `data: [DONE]`. A client
    that leaves early is charged for what was generated, when the backend knows
    it; an upstream that fails mid-stream gets an error event and no charge.
    """
    settled = False
    try:
        role = {"index": 0, "delta": {"role": "assistant", "content": ""}}
        yield call.chunk(choices=[role])
        for text in stream:
            delta = {"index": 0, "delta": {"content": text}, "finish_reason": None}
            yield call.chunk(choices=[delta])

        settled = True
        used = stream.used
        if used is None:
            raise AssertionError("a backend's stream reports its usage once consumed")
        cost = call.charge(used, streamed=True)
        finish = {"index": 0, "delta": {}, "finish_reason": stream.finish_reason}
        yield call.chunk(choices=[finish], **stream.extra)
        yield call.chunk(choices=[], usage=usage_body(call.price, used, cost))
        yield b"data: [DONE]\n\n"
    except BackendError as error:
        settled = True
        failure = errors.upstream_failed(error.code, error.message).body()
        yield f"data: {json.dumps(failure)}\n\n".encode()
    finally:
        stream.close()
        if not settled:
            _charge_abandoned(call, stream)


def _charge_abandoned(call: _Call, stream: Stream) -> None:
    used = stream.partial_used()
    if used is None:
        logger.warning(
            "stream abandoned, usage unknown, not charged id=%s", call.request_id
        )
        return
    call.charge(used, streamed=True, status=CallStatus.CLIENT_DISCONNECTED)


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
