"""Forward a call to an OpenAI-compatible upstream server configured per model.

Token counts come from the upstream's reported usage. Anything that keeps us from
a well-formed answer with usage (connection failure, timeout, an error status,
a body we cannot read) raises BackendError: the caller gets 502 and pays nothing.
The upstream's API key is read from the environment variable the route names.
"""

import json
import logging
import os
from collections.abc import Iterator

import httpx

from billing.pricing import CallQuantities
from gateway.backends import BackendError, Completion, Stream
from gateway.models import ModelRoute
from gateway.schema import ChatRequest

logger = logging.getLogger(__name__)

# Perplexity's answer fields worth passing on to clients unchanged.
PASSED_THROUGH = ("citations", "search_results")

# One pooled client per process: upstream connections are reused across calls.
_client = httpx.Client(follow_redirects=False)


def close_connections() -> None:
    """Close pooled upstream connections (tests, worker shutdown); reopens lazily."""
    global _client
    _client.close()
    _client = httpx.Client(follow_redirects=False)


def _payload(chat: ChatRequest, route: ModelRoute, *, stream: bool) -> dict:
    payload: dict = {
        "model": route.upstream_name,
        "messages": [{"role": m.role, "content": m.content} for m in chat.messages],
    }
    if chat.max_tokens is not None:
        payload["max_tokens"] = chat.max_tokens
    if chat.temperature is not None:
        payload["temperature"] = chat.temperature
    if chat.has_search_options:
        payload["web_search_options"] = {
            "search_context_size": chat.search_context_size
        }
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def _headers(route: ModelRoute) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if route.api_key_env:
        secret = os.environ.get(route.api_key_env)
        if not secret:
            logger.warning(
                "upstream key missing: env %s is not set (model %s)",
                route.api_key_env,
                route.model,
            )
            raise BackendError("upstream_misconfigured", "The upstream is not set up.")
        headers["Authorization"] = f"Bearer {secret}"
    return headers


def _request(chat: ChatRequest, route: ModelRoute, *, stream: bool) -> httpx.Request:
    return _client.build_request(
        "POST",
        route.base_url.rstrip("/") + "/chat/completions",
        json=_payload(chat, route, stream=stream),
        headers=_headers(route),
        timeout=httpx.Timeout(route.timeout_seconds),
    )


def _non_negative_int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BackendError("upstream_bad_response", "The upstream's usage is invalid.")
    return value


def quantities_from(usage, chat: ChatRequest) -> CallQuantities:
    """Read the upstream's usage: OpenAI names, plus Perplexity's extra counts."""
    if not isinstance(usage, dict):
        raise BackendError("upstream_bad_response", "The upstream reported no usage.")
    details = usage.get("completion_tokens_details") or {}
    reasoning = usage.get("reasoning_tokens", details.get("reasoning_tokens", 0))
    return CallQuantities(
        input_tokens=_non_negative_int(usage.get("prompt_tokens")),
        output_tokens=_non_negative_int(usage.get("completion_tokens")),
        citation_tokens=_non_negative_int(usage.get("citation_tokens", 0)),
        reasoning_tokens=_non_negative_int(reasoning or 0),
        search_queries=_non_negative_int(usage.get("num_search_queries", 0)),
        search_context_size=chat.search_context_size,
    )


def _failed(route: ModelRoute, error: Exception) -> BackendError:
    if isinstance(error, httpx.TimeoutException):
        logger.warning("upstream timeout model=%s", route.model)
        return BackendError("upstream_timeout", "The upstream did not answer in time.")
    logger.warning("upstream unreachable model=%s error=%s", route.model, type(error))
    return BackendError("upstream_unavailable", "The upstream could not be reached.")


def _check_status(route: ModelRoute, response: httpx.Response) -> None:
    if response.status_code != 200:
        logger.warning(
            "upstream error model=%s status=%s", route.model, response.status_code
        )
        raise BackendError(
            "upstream_error", f"The upstream answered {response.status_code}."
        )


def complete(chat: ChatRequest, route: ModelRoute) -> Completion:
    try:
        response = _client.send(_request(chat, route, stream=False))
    except httpx.HTTPError as error:
        raise _failed(route, error) from None
    _check_status(route, response)
    try:
        body = response.json()
        choice = body["choices"][0]
        content = choice["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError):
        raise BackendError(
            "upstream_bad_response", "The upstream's answer was unreadable."
        ) from None
    return Completion(
        content=content,
        used=quantities_from(body.get("usage"), chat),
        finish_reason=choice.get("finish_reason") or "stop",
        extra={name: body[name] for name in PASSED_THROUGH if name in body},
    )


class UpstreamStream(Stream):
    def __init__(self, chat: ChatRequest, route: ModelRoute) -> None:
        self._chat = chat
        self._route = route
        self.extra = {}
        try:
            self._response = _client.send(
                _request(chat, route, stream=True), stream=True
            )
        except httpx.HTTPError as error:
            raise _failed(route, error) from None
        if self._response.status_code != 200:
            self._response.close()
            _check_status(route, self._response)

    def __iter__(self) -> Iterator[str]:
        try:
            for line in self._response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                yield from self._take(json.loads(data))
        except (httpx.HTTPError, ValueError) as error:
            raise _failed(self._route, error) from None
        if self.used is None:
            raise BackendError(
                "upstream_bad_response", "The upstream's stream reported no usage."
            )

    def _take(self, chunk: dict) -> Iterator[str]:
        if chunk.get("usage"):
            self.used = quantities_from(chunk["usage"], self._chat)
        for name in PASSED_THROUGH:
            if name in chunk:
                self.extra[name] = chunk[name]
        for choice in chunk.get("choices") or []:
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text

    def close(self) -> None:
        self._response.close()


def open_stream(chat: ChatRequest, route: ModelRoute) -> Stream:
    return UpstreamStream(chat, route)
