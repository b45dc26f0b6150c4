"""Helpers for the API tests: a funded group with a real key, and calls to the API."""

import json

from apikeys.services import issue_key
from billing.ledger import post_entry
from billing.models import LedgerKind
from portal.money import to_micros


def fund(group, dollars: str = "10") -> None:
    post_entry(group.pk, LedgerKind.GRANT, to_micros(dollars), actor_label="test")


def new_secret(group, name: str = "test key") -> str:
    return issue_key(group, None, name, actor_label="test").secret


def chat_body(model: str = "sonar", content: str = "Hello there", **fields) -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        **fields,
    }


def post_chat(client, secret: str | None, body, **headers):
    if secret is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        "/v1/chat/completions", data=data, content_type="application/json", **headers
    )


def sse_events(response) -> list:
    """The data payloads of a streamed response, decoded (the last is [DONE])."""
    text = b"".join(response.streaming_content).decode()
    events = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def seed_catalog() -> None:
    """Make sure the seeded price book and model routes exist, and are reloaded.

    Migrations seed them, but a transactional test elsewhere empties every table.
    """
    from datetime import UTC, datetime

    from billing.models import ModelPrice
    from billing.price_book import DEFAULT_PRICE_BOOK
    from billing.pricing import forget_price_book
    from gateway.models import ModelRoute
    from gateway.routes import forget_routes

    for prices in DEFAULT_PRICE_BOOK:
        fields = {k: v for k, v in prices.items() if k != "model"}
        ModelPrice.objects.get_or_create(
            model=prices["model"],
            effective_from=datetime(2025, 1, 1, tzinfo=UTC),
            defaults=fields,
        )
        ModelRoute.objects.get_or_create(model=prices["model"])
    forget_price_book()
    forget_routes()
