from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing.admin import ModelPriceForm
from billing.models import ModelPrice
from billing.pricing import CallQuantities, forget_price_book, price_at, price_call
from portal.money import to_micros
from tests.api_helpers import seed_catalog

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_price_book(db):
    seed_catalog()
    yield
    forget_price_book()


def _cost(model: str, **used) -> dict:
    cost = price_call(price_at(model, NOW), CallQuantities(**used))
    return {
        "input": cost.input_micros,
        "output": cost.output_micros,
        "citation": cost.citation_micros,
        "reasoning": cost.reasoning_micros,
        "request": cost.request_micros,
        "search": cost.search_micros,
        "total": cost.total_micros,
    }


@pytest.mark.django_db
def test_the_worked_example_costs_exactly_0_0205():
    cost = _cost(
        "sonar-pro", input_tokens=1000, output_tokens=500, search_context_size="medium"
    )
    assert cost["input"] == to_micros("0.003")
    assert cost["output"] == to_micros("0.0075")
    assert cost["request"] == to_micros("0.010")
    assert cost["total"] == to_micros("0.0205")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "size", "request_fee"),
    [
        ("sonar", "low", "0.005"),
        ("sonar", "medium", "0.008"),
        ("sonar", "high", "0.012"),
        ("sonar-pro", "low", "0.006"),
        ("sonar-pro", "high", "0.014"),
        ("sonar-reasoning-pro", "low", "0.006"),
        ("sonar-reasoning-pro", "medium", "0.010"),
        ("sonar-reasoning-pro", "high", "0.014"),
    ],
)
def test_request_fee_follows_the_search_context_size(model, size, request_fee):
    cost = _cost(model, search_context_size=size)
    assert cost["request"] == cost["total"] == to_micros(request_fee)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "input_total", "output_total"),
    [
        ("sonar", "1", "1"),
        ("sonar-pro", "3", "15"),
        ("sonar-reasoning-pro", "2", "8"),
        ("sonar-deep-research", "2", "8"),
    ],
)
def test_a_million_tokens_cost_the_list_price(model, input_total, output_total):
    cost = _cost(model, input_tokens=1_000_000, output_tokens=1_000_000)
    assert cost["input"] == to_micros(input_total)
    assert cost["output"] == to_micros(output_total)


@pytest.mark.django_db
def test_deep_research_charges_citations_reasoning_and_searches_but_no_request_fee():
    cost = _cost(
        "sonar-deep-research",
        input_tokens=33,
        output_tokens=1_000,
        citation_tokens=5_000,
        reasoning_tokens=20_000,
        search_queries=7,
        search_context_size="high",
    )
    assert cost == {
        "input": 66,  # 33 x $2 / 1M
        "output": 8_000,
        "citation": 10_000,  # 5,000 x $2 / 1M
        "reasoning": 60_000,  # 20,000 x $3 / 1M
        "request": 0,
        "search": 35_000,  # 7 x $5 / 1K
        "total": 113_066,
    }


@pytest.mark.django_db
def test_each_component_rounds_half_up_to_the_micro():
    # sonar: 1 token costs 1 micro exactly; sonar-pro output: 15 micros a token.
    assert _cost("sonar", input_tokens=1)["input"] == 1
    # 333,333 tokens x $3 / 1M = 999,999 micros: exact.
    assert _cost("sonar-pro", input_tokens=333_333)["input"] == 999_999
    price = ModelPrice(model="x", effective_from=NOW, input_per_million_micros=500_000)
    half = price_call(price, CallQuantities(input_tokens=1))
    assert half.input_micros == 1  # 0.5 micro rounds up
    less = price_call(price, CallQuantities(input_tokens=3))
    assert less.input_micros == 2  # 1.5 → 2


@pytest.mark.django_db
def test_a_price_change_applies_from_its_date_and_never_reprices_the_past():
    ModelPrice.objects.create(
        model="sonar",
        effective_from=NOW,
        input_per_million_micros=to_micros("2"),
        output_per_million_micros=to_micros("1"),
        request_low_per_thousand_micros=to_micros("5"),
    )
    forget_price_book()
    before = NOW - timedelta(microseconds=1)
    assert price_at("sonar", before).input_per_million_micros == to_micros("1")
    assert price_at("sonar", NOW).input_per_million_micros == to_micros("2")
    assert price_at("sonar", datetime(2024, 1, 1, tzinfo=UTC)) is None
    assert price_at("no-such-model", NOW) is None


@pytest.mark.django_db
def test_admin_refuses_a_price_that_would_apply_retroactively_or_too_soon():
    data = {
        "model": "sonar",
        "input_per_million_micros": 1,
        "output_per_million_micros": 1,
        "citation_per_million_micros": 0,
        "reasoning_per_million_micros": 0,
        "search_query_per_thousand_micros": 0,
    }
    soon = timezone.now() + timedelta(seconds=30)
    form = ModelPriceForm({**data, "effective_from": soon})
    assert not form.is_valid()
    assert "effective_from" in form.errors
    later = timezone.now() + timedelta(days=1)
    assert ModelPriceForm({**data, "effective_from": later}).is_valid()


@pytest.mark.django_db
def test_prices_in_effect_are_read_only_in_admin(admin_user):
    from django.contrib.admin.sites import site
    from django.test import RequestFactory

    admin_user.is_staff = admin_user.is_superuser = True
    request = RequestFactory().get("/")
    request.user = admin_user
    model_admin = site._registry[ModelPrice]
    past = ModelPrice.objects.get(model="sonar")
    future = ModelPrice.objects.create(
        model="sonar", effective_from=timezone.now() + timedelta(days=3)
    )
    assert not model_admin.has_change_permission(request, past)
    assert not model_admin.has_delete_permission(request, past)
    assert model_admin.has_change_permission(request, future)
    imminent = ModelPrice.objects.create(
        model="sonar", effective_from=timezone.now() + timedelta(seconds=30)
    )
    assert not model_admin.has_change_permission(request, imminent)
    assert "delete_selected" not in model_admin.get_actions(request)
