"""The upstream backend against a fake OpenAI-compatible server on 127.0.0.1."""

from datetime import UTC, datetime

import pytest

from billing.ledger import get_balance
from billing.models import ModelPrice
from billing.pricing import forget_price_book
from gateway.backends.upstream import close_connections
from gateway.models import BackendKind, ModelRoute
from gateway.routes import forget_routes
from portal.money import to_micros
from tests.api_helpers import chat_body, fund, new_secret, post_chat, sse_events
from tests.fake_upstream import FakeUpstream
from usage.models import UsageEvent

MODEL = "partner-large"


@pytest.fixture
def upstream():
    fake = FakeUpstream()
    yield fake
    close_connections()
    fake.stop()


@pytest.fixture
def secret(group, upstream, monkeypatch):
    monkeypatch.setenv("FAKE_UPSTREAM_KEY", "upstream-secret-value")
    ModelRoute.objects.create(
        model=MODEL,
        backend=BackendKind.UPSTREAM,
        base_url=upstream.base_url,
        upstream_model="real-model-v2",
        api_key_env="FAKE_UPSTREAM_KEY",
        timeout_seconds=1,
    )
    ModelPrice.objects.create(
        model=MODEL,
        effective_from=datetime(2025, 1, 1, tzinfo=UTC),
        input_per_million_micros=to_micros("3"),
        output_per_million_micros=to_micros("15"),
        request_high_per_thousand_micros=to_micros("14"),
        search_query_per_thousand_micros=to_micros("5"),
    )
    forget_routes()
    forget_price_book()
    fund(group, "10")
    yield new_secret(group)
    forget_routes()
    forget_price_book()


HIGH = {"web_search_options": {"search_context_size": "high"}}
# 1,000 in at $3/1M + 500 out at $15/1M + $14/1K requests + 3 searches at $5/1K.
EXPECTED_MICROS = 3_000 + 7_500 + 14_000 + 15_000


def test_upstream_answer_is_priced_from_its_reported_usage(
    client, group, secret, upstream
):
    response = post_chat(client, secret, chat_body(MODEL, max_tokens=50, **HIGH))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "Upstream says hi."
    assert body["citations"] == ["https://example.com/a"]
    assert '"total_cost": 0.039500' in response.content.decode()
    assert UsageEvent.objects.get().cost_micros == EXPECTED_MICROS
    assert get_balance(group.pk) == 10_000_000 - EXPECTED_MICROS
    sent = upstream.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer upstream-secret-value"
    assert sent["body"]["model"] == "real-model-v2"
    assert sent["body"]["max_tokens"] == 50
    assert sent["body"]["web_search_options"] == {"search_context_size": "high"}


def test_upstream_stream_is_relayed_and_charged_from_its_usage(
    client, group, secret, upstream
):
    response = post_chat(client, secret, chat_body(MODEL, stream=True, **HIGH))
    assert response.status_code == 200
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    assert events[-2]["usage"]["prompt_tokens"] == 1000
    text = "".join(
        e["choices"][0]["delta"].get("content", "") for e in events[:-2] if e["choices"]
    )
    assert text == "Upstream streams hi."
    assert upstream.requests[0]["body"]["stream_options"] == {"include_usage": True}
    assert get_balance(group.pk) == 10_000_000 - EXPECTED_MICROS


@pytest.mark.parametrize(
    ("mode", "code"),
    [
        ("error", "upstream_error"),
        ("slow", "upstream_timeout"),
        ("garbage", "upstream_bad_response"),
        ("no_usage", "upstream_bad_response"),
    ],
)
def test_upstream_failure_is_502_and_not_charged(
    client, group, secret, upstream, mode, code
):
    upstream.mode = mode
    response = post_chat(client, secret, chat_body(MODEL))
    assert response.status_code == 502
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("upstream_error", code)
    assert not UsageEvent.objects.exists()
    assert get_balance(group.pk) == 10_000_000


def test_upstream_refusing_a_stream_is_502_before_any_event(
    client, group, secret, upstream
):
    upstream.mode = "error"
    response = post_chat(client, secret, chat_body(MODEL, stream=True))
    assert response.status_code == 502
    assert get_balance(group.pk) == 10_000_000


@pytest.mark.parametrize("mode", ["cut", "no_usage"])
def test_stream_without_usage_ends_with_an_error_event_and_is_not_charged(
    client, group, secret, upstream, mode
):
    upstream.mode = mode
    response = post_chat(client, secret, chat_body(MODEL, stream=True))
    events = sse_events(response)
    assert events[-1]["error"]["type"] == "upstream_error"
    assert not UsageEvent.objects.exists()
    assert get_balance(group.pk) == 10_000_000


def test_unreachable_upstream_is_502(client, group, secret, upstream):
    upstream.stop()
    response = post_chat(client, secret, chat_body(MODEL))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert get_balance(group.pk) == 10_000_000


def test_missing_upstream_key_variable_is_502(client, group, secret, monkeypatch):
    monkeypatch.delenv("FAKE_UPSTREAM_KEY")
    response = post_chat(client, secret, chat_body(MODEL))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_misconfigured"
    assert "upstream-secret-value" not in response.content.decode()
