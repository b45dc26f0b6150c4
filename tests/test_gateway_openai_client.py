"""The official openai client against a running portal (pytest-django's live_server)."""

import openai
import pytest

from billing.ledger import get_balance
from billing.models import LedgerEntry, LedgerKind
from tests.api_helpers import fund, new_secret, seed_catalog
from tests.factories import GroupFactory
from usage.models import UsageEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded():
    seed_catalog()
    group = GroupFactory()
    fund(group, "5")
    return group, new_secret(group)


@pytest.fixture
def connect(live_server):
    """Open openai clients on the live server; close them (and their sockets) after."""
    opened: list[openai.OpenAI] = []

    def open_client(secret: str) -> openai.OpenAI:
        client = openai.OpenAI(
            api_key=secret, base_url=f"{live_server.url}/v1", max_retries=0
        )
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def test_openai_client_gets_a_completion_and_it_is_debited(connect, funded):
    group, secret = funded
    completion = connect(secret).chat.completions.create(
        model="sonar-pro",
        messages=[{"role": "user", "content": "abcd" * 1000}],
        max_tokens=500,
        extra_body={"web_search_options": {"search_context_size": "medium"}},
    )
    assert completion.choices[0].message.content
    assert completion.usage.prompt_tokens == 1000
    assert completion.usage.completion_tokens == 500
    assert completion.usage.model_extra["cost"]["total_cost"] == pytest.approx(0.0205)
    event = UsageEvent.objects.get(request_id=completion.id)
    assert event.cost_micros == 20_500
    assert LedgerEntry.objects.get(usage_event=event).kind == LedgerKind.USAGE
    assert get_balance(group.pk) == 5_000_000 - 20_500


def test_openai_client_streams_and_the_last_chunk_has_usage(connect, funded):
    group, secret = funded
    stream = connect(secret).chat.completions.create(
        model="sonar",
        messages=[{"role": "user", "content": "Hello there"}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 64
    assert chunks[-1].usage.completion_tokens == 64
    assert UsageEvent.objects.get(streamed=True).cost_micros == 3 + 64 + 5_000
    assert get_balance(group.pk) == 5_000_000 - 5_067


def test_openai_client_lists_models(connect, funded):
    _, secret = funded
    models = [m.id for m in connect(secret).models.list()]
    assert "sonar-deep-research" in models


def test_openai_client_sees_the_refusals(connect, funded):
    _, secret = funded
    client = connect(secret)
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "x"}]
        )
    assert not_found.value.code == "model_not_found"
    with pytest.raises(openai.AuthenticationError):
        connect(secret[:-2] + "zz").models.list()
    broke = GroupFactory()
    with pytest.raises(openai.APIStatusError) as refused:
        connect(new_secret(broke)).chat.completions.create(
            model="sonar", messages=[{"role": "user", "content": "x"}]
        )
    assert refused.value.status_code == 402
    assert refused.value.code == "insufficient_credits"
    assert not UsageEvent.objects.exists()
