"""The metered API through Django's test client, on the local backend."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from apikeys.services import regenerate_key, revoke_key
from billing.ledger import get_balance, post_entry
from billing.models import LedgerEntry, LedgerKind
from gateway.models import ModelRoute
from gateway.routes import forget_routes
from tests.api_helpers import chat_body, fund, new_secret, post_chat, seed_catalog
from tests.api_helpers import sse_events as events_of
from usage.models import CallStatus, UsageEvent

# 4,000 characters: 1,000 input tokens by the local backend's rule.
THOUSAND_TOKENS = "abcd" * 1000


@pytest.fixture(autouse=True)
def _catalog(db):
    seed_catalog()


@pytest.fixture
def secret(group):
    fund(group, "10")
    return new_secret(group)


def _worked_example(stream: bool = False) -> dict:
    return chat_body(
        "sonar-pro",
        THOUSAND_TOKENS,
        max_tokens=500,
        web_search_options={"search_context_size": "medium"},
        stream=stream,
    )


def _error(response) -> dict:
    return response.json()["error"]


def test_completion_is_priced_recorded_and_debited(client, group, secret):
    response = post_chat(client, secret, _worked_example())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert len(body["choices"][0]["message"]["content"].split()) == 500
    usage = body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (1000, 500)
    assert usage["num_search_queries"] == 2
    # Exact decimals in the JSON text itself, never a float's approximation.
    raw = response.content.decode()
    assert '"input_tokens_cost": 0.003000' in raw
    assert '"output_tokens_cost": 0.007500' in raw
    assert '"request_cost": 0.010000' in raw
    assert '"search_queries_cost": 0.000000' in raw
    assert '"total_cost": 0.020500' in raw

    event = UsageEvent.objects.get(request_id=body["id"])
    assert event.cost_micros == 20_500
    assert event.search_context_size == "medium"
    assert (event.input_tokens, event.output_tokens) == (1000, 500)
    assert get_balance(group.pk) == 10_000_000 - 20_500
    entry = LedgerEntry.objects.get(usage_event=event)
    assert entry.amount_micros == -20_500
    assert event.api_key.last_used_at is not None


@pytest.mark.parametrize(
    ("model", "total_micros"),
    [
        # "Hello there": 3 input tokens; 64 output tokens; low context: 1 search.
        ("sonar", 3 + 64 + 5_000),
        ("sonar-pro", 9 + 960 + 6_000),
        ("sonar-reasoning-pro", 6 + 512 + 6_000),
        # + 100 citation tokens ($2/1M), 128 reasoning tokens ($3/1M), 1 search.
        ("sonar-deep-research", 6 + 512 + 200 + 384 + 5_000),
    ],
)
def test_each_seeded_model_costs_exactly_the_predicted_amount(
    client, group, secret, model, total_micros
):
    response = post_chat(client, secret, chat_body(model, "Hello there"))
    assert response.status_code == 200, response.content
    event = UsageEvent.objects.get()
    assert event.cost_micros == total_micros
    assert get_balance(group.pk) == 10_000_000 - total_micros
    total = response.json()["usage"]["cost"]["total_cost"]
    assert f'"total_cost": {total_micros / 1e6:.6f}' in response.content.decode()
    assert round(total * 1_000_000) == total_micros


def test_deep_research_reports_citation_and_reasoning_costs(client, secret):
    response = post_chat(client, secret, chat_body("sonar-deep-research"))
    cost = response.json()["usage"]["cost"]
    assert set(cost) == {
        "input_tokens_cost",
        "output_tokens_cost",
        "citation_tokens_cost",
        "reasoning_tokens_cost",
        "request_cost",
        "search_queries_cost",
        "total_cost",
    }
    raw = response.content.decode()
    assert '"search_queries_cost": 0.005000' in raw
    assert '"request_cost": 0.000000' in raw


def test_stream_ends_with_usage_then_done_and_is_charged_once(client, group, secret):
    plain = post_chat(client, secret, _worked_example()).json()
    response = post_chat(client, secret, _worked_example(stream=True))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    events = events_of(response)
    assert events[-1] == "[DONE]"
    last = events[-2]
    assert last["choices"] == []
    assert last["usage"]["cost"]["total_cost"] == pytest.approx(0.0205)
    text = "".join(
        e["choices"][0]["delta"].get("content", "") for e in events[:-2] if e["choices"]
    )
    assert text == plain["choices"][0]["message"]["content"]
    streamed = UsageEvent.objects.get(streamed=True)
    assert streamed.cost_micros == 20_500
    assert get_balance(group.pk) == 10_000_000 - 2 * 20_500


# Transactional: closing a response early ends the request, which closes the
# connection when a test transaction is open.
@pytest.mark.django_db(transaction=True)
def test_a_client_leaving_a_stream_pays_for_what_it_received(client, group, secret):
    response = post_chat(client, secret, chat_body("sonar", stream=True))
    chunks = iter(response.streaming_content)
    next(chunks)  # the role
    next(chunks)  # the first eight words
    response.close()
    event = UsageEvent.objects.get()
    assert event.status == CallStatus.CLIENT_DISCONNECTED
    assert event.output_tokens == 8
    assert event.cost_micros == 3 + 8 + 5_000
    assert get_balance(group.pk) == 10_000_000 - event.cost_micros


def _nothing_charged(group, balance_micros: int = 10_000_000) -> None:
    assert not UsageEvent.objects.exists()
    assert get_balance(group.pk) == balance_micros
    assert not LedgerEntry.objects.filter(kind=LedgerKind.USAGE).exists()


def test_missing_key_is_401(client, group, secret):
    response = post_chat(client, None, chat_body())
    assert response.status_code == 401
    assert _error(response)["code"] == "missing_api_key"
    assert "Bearer" in response["WWW-Authenticate"]
    _nothing_charged(group)


def test_malformed_key_is_refused_without_a_query(
    client, group, secret, django_assert_num_queries
):
    broken = secret[:-1] + ("x" if secret[-1] != "x" else "y")
    for header in (f"Bearer {broken}", f"Basic {secret}", "Bearer", "Bearer sk-abc"):
        with django_assert_num_queries(0):
            response = post_chat(client, None, chat_body(), HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert _error(response)["code"] == "malformed_api_key"
    _nothing_charged(group)


def test_unknown_key_is_401(client, group, secret):
    from apikeys.secrets import generate_key

    response = post_chat(client, generate_key(), chat_body())
    assert response.status_code == 401
    assert _error(response)["code"] == "invalid_api_key"
    _nothing_charged(group)


def test_revoked_key_stops_on_the_next_request(client, group, secret):
    from apikeys.models import ApiKey

    assert post_chat(client, secret, chat_body()).status_code == 200
    revoke_key(ApiKey.objects.get(group=group), None)
    response = post_chat(client, secret, chat_body())
    assert response.status_code == 401
    assert _error(response)["code"] == "revoked_api_key"
    assert UsageEvent.objects.count() == 1


def test_regenerated_key_replaces_the_old_one_at_once(client, group, secret):
    from apikeys.models import ApiKey

    old = ApiKey.objects.get(group=group)
    assert post_chat(client, secret, chat_body()).status_code == 200
    new_secret_value = regenerate_key(old, None).secret
    assert post_chat(client, new_secret_value, chat_body()).status_code == 200
    # Usage stays with the key that incurred it.
    assert UsageEvent.objects.filter(api_key=old).count() == 1
    assert UsageEvent.objects.exclude(api_key=old).count() == 1


def test_key_replaced_at_once_answers_expired_not_revoked(client, group, secret):
    from apikeys.models import ApiKey

    regenerate_key(ApiKey.objects.get(group=group), None, grace_minutes=0)
    response = post_chat(client, secret, chat_body())
    assert response.status_code == 401
    assert _error(response)["code"] == "expired_api_key"
    assert "replaced by a new key" in _error(response)["message"]


def test_replaced_key_revoked_during_its_grace_period_answers_revoked(
    client, group, secret
):
    from apikeys.models import ApiKey

    old = ApiKey.objects.get(group=group)
    regenerate_key(old, None, grace_minutes=60)
    revoke_key(old, None)
    response = post_chat(client, secret, chat_body())
    assert response.status_code == 401
    assert _error(response)["code"] == "revoked_api_key"


def test_regenerated_key_works_through_its_grace_period_then_stops(
    client, group, secret
):
    from apikeys.models import ApiKey

    old = ApiKey.objects.get(group=group)
    regenerate_key(old, None, grace_minutes=5)
    old.refresh_from_db()
    assert post_chat(client, secret, chat_body()).status_code == 200
    with time_machine.travel(old.expires_at - timedelta(seconds=1), tick=False):
        assert post_chat(client, secret, chat_body()).status_code == 200
    with time_machine.travel(old.expires_at, tick=False):
        response = post_chat(client, secret, chat_body())
    assert response.status_code == 401
    assert _error(response)["code"] == "expired_api_key"


def test_group_without_credits_gets_402_and_pays_nothing(client, group):
    secret = new_secret(group)
    response = post_chat(client, secret, chat_body())
    assert response.status_code == 402
    assert _error(response)["code"] == "insufficient_credits"
    _nothing_charged(group, 0)


def test_keys_work_again_once_credits_are_added(client, group):
    secret = new_secret(group)
    post_entry(group.pk, LedgerKind.ADJUSTMENT, -1, actor_label="test")
    assert post_chat(client, secret, chat_body()).status_code == 402
    fund(group, "1")
    assert post_chat(client, secret, chat_body()).status_code == 200


def test_unknown_or_disabled_model_is_404(client, group, secret):
    response = post_chat(client, secret, chat_body("gpt-imaginary"))
    assert response.status_code == 404
    assert _error(response)["code"] == "model_not_found"
    assert _error(response)["param"] == "model"
    ModelRoute.objects.filter(model="sonar").update(enabled=False)
    forget_routes()
    assert post_chat(client, secret, chat_body("sonar")).status_code == 404
    _nothing_charged(group)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("{not json", "body"),
        ("[]", "body"),
        ('{"model": "sonar", "z": ' + "[" * 5000 + "]" * 5000 + "}", "body"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "sonar"}, "messages"),
        ({"model": "sonar", "messages": []}, "messages"),
        (
            chat_body() | {"messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
        ),
        (
            chat_body() | {"messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
        ),
        (chat_body(temperature="hot"), "temperature"),
        (chat_body(temperature=2.5), "temperature"),
        (chat_body(max_tokens=0), "max_tokens"),
        (chat_body(max_tokens=1.5), "max_tokens"),
        (chat_body(max_completion_tokens=-1), "max_completion_tokens"),
        (chat_body(stream="yes"), "stream"),
        (chat_body(web_search_options="big"), "web_search_options"),
        (
            chat_body(web_search_options={"search_context_size": "huge"}),
            "web_search_options.search_context_size",
        ),
    ],
)
def test_invalid_request_is_400_naming_the_field(client, group, secret, body, param):
    response = post_chat(client, secret, body)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid_request"
    assert error["param"] == param
    _nothing_charged(group)


def test_an_unexpected_failure_is_a_json_500_and_charges_nothing(
    client, group, secret, monkeypatch
):
    from gateway import views

    def broken(call):
        raise RuntimeError("backend exploded")

    monkeypatch.setattr(views, "_answer", broken)
    response = post_chat(client, secret, chat_body())
    assert response.status_code == 500
    assert _error(response)["code"] == "server_error"
    assert "exploded" not in response.content.decode()
    _nothing_charged(group)


def test_text_parts_are_accepted_as_content(client, secret):
    parts = [{"type": "text", "text": "abcd"}, {"type": "text", "text": "efgh"}]
    body = chat_body() | {"messages": [{"role": "user", "content": parts}]}
    response = post_chat(client, secret, body)
    assert response.status_code == 200
    assert response.json()["usage"]["prompt_tokens"] == 2


def test_chat_completions_is_post_only(client, secret):
    response = client.get("/v1/chat/completions", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_chat_completions_get_answers_json_405_with_allow_header(client, secret):
    response = client.get("/v1/chat/completions", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "application/json"
    assert _error(response)["message"] == "Use POST for this endpoint."


@pytest.mark.parametrize("method", ["get", "post", "delete", "put"])
@pytest.mark.parametrize(
    "path", ["/v1/foo", "/v1/chat/completions/", "/v1/models/sonar", "/v1"]
)
def test_unknown_api_path_answers_json_404(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "message": f"Unknown API path: {method.upper()} {path}",
            "type": "invalid_request_error",
            "param": None,
            "code": "unknown_url",
        }
    }


def test_unknown_api_path_needs_no_csrf_token():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/v1/completions", {})
    assert response.status_code == 404
    assert _error(response)["code"] == "unknown_url"


def test_bench_routes_still_resolve_before_the_unknown_path_answer(monkeypatch):
    import importlib

    from gateway import urls

    monkeypatch.setenv("PORTAL_BENCH_VIEWS", "1")
    try:
        names = [pattern.name for pattern in importlib.reload(urls).urlpatterns]
    finally:
        monkeypatch.delenv("PORTAL_BENCH_VIEWS")
        importlib.reload(urls)
    assert names[-1] == "unknown-path"
    assert {"bench-bare", "bench-floor"} <= set(names)


def test_models_lists_the_priced_enabled_models(client, secret):
    response = client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    ids = [m["id"] for m in response.json()["data"]]
    assert ids == ["sonar", "sonar-deep-research", "sonar-pro", "sonar-reasoning-pro"]
    assert client.get("/v1/models").status_code == 401


def test_api_calls_need_no_csrf_token_or_session(group, secret):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = post_chat(strict, secret, chat_body())
    assert response.status_code == 200
    assert "sessionid" not in response.cookies


@pytest.mark.django_db(transaction=True)
def test_a_metered_call_takes_at_most_two_database_round_trips(
    postgres, client, group, secret
):
    post_chat(client, secret, chat_body())  # warms this process's price book
    with CaptureQueriesContext(connection) as captured:
        response = post_chat(client, secret, _worked_example())
    assert response.status_code == 200
    assert len(captured.captured_queries) <= 2, captured.captured_queries
    assert get_balance(group.pk) == 10_000_000 - 5_067 - 20_500


@pytest.mark.django_db(transaction=True)
def test_the_key_lookup_and_debit_are_prepared_once_per_connection(
    postgres, client, secret
):
    # Parsing and planning them on every call cost PostgreSQL twice the CPU of
    # running them.
    for _ in range(3):
        assert post_chat(client, secret, chat_body()).status_code == 200

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
        )
        prepared = cursor.fetchall()
    runs = {statement.split()[0]: runs for statement, runs in prepared}
    assert runs == {"SELECT": 3, "WITH": 3}


@pytest.mark.django_db(transaction=True)
def test_a_call_after_the_database_dropped_the_connection_still_succeeds(
    postgres, client, settings, secret
):
    # With health checks on (the default), the hot path checks a reused
    # connection as Django's own cursors do, instead of failing on a dead one.
    settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    assert post_chat(client, secret, chat_body()).status_code == 200
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    # What every request starts with outside the test client, which skips it.
    connection.close_if_unusable_or_obsolete()

    assert post_chat(client, secret, chat_body()).status_code == 200


def test_assistant_turns_without_content_are_accepted(client, secret):
    body = chat_body() | {
        "messages": [
            {"role": "user", "content": "abcd"},
            {"role": "assistant", "content": None},
            {"role": "user", "content": "efgh"},
        ]
    }
    response = post_chat(client, secret, body)
    assert response.status_code == 200
    assert response.json()["usage"]["prompt_tokens"] == 2


def test_an_oversized_body_is_413_in_the_api_shape(client, group, secret, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = post_chat(client, secret, chat_body(content="x" * 2_000))
    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"
    _nothing_charged(group)


def test_readme_error_table_names_every_error_the_api_answers():
    from django.conf import settings

    from gateway import errors

    answers = [
        errors.missing_key(),
        errors.malformed_key(),
        errors.unknown_key(),
        errors.revoked_key(),
        errors.expired_key(),
        errors.insufficient_credits(),
        errors.unknown_model("m"),
        errors.unknown_path("GET", "/v1/foo"),
        errors.invalid_field("model", "bad"),
        errors.request_too_large(),
        errors.rate_limited(1),
        errors.method_not_allowed("POST"),
        errors.server_error("abc"),
    ]
    readme = (settings.BASE_DIR / "README.md").read_text()
    table = readme.split("Errors have the OpenAI shape")[1].split("\n\n")[1]
    rows = {
        (line.split("|")[1].strip(), code)
        for line in table.splitlines()
        for code in line.split("|")[2].replace("`", "").replace(",", " ").split()
    }
    for error in answers:
        assert (str(error.status), error.code) in rows, error.code
