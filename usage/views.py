import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apikeys.models import ApiKey
from groups.access import group_view
from groups.models import ApiGroup, Capability
from usage.charts import chart_svg, model_colors, series_table, stacked_chart
from usage.export import csv_lines
from usage.forms import UsageFilterForm
from usage.queries import (
    has_usage,
    has_used_model,
    models_ever_used,
    models_used,
    usage_report,
)
from usage.ranges import DEFAULT_PRESET, RangeError, UsageQuery, parse_usage_query
from usage.templatetags.usage_format import format_cost

logger = logging.getLogger(__name__)


def _group_keys(group: ApiGroup) -> list[ApiKey]:
    return list(
        ApiKey.objects.filter(group=group)
        .only("name", "last_four", "group_id")
        .order_by("name", "pk")
    )


def _parse(request: HttpRequest, group: ApiGroup, keys: list[ApiKey]) -> UsageQuery:
    query = parse_usage_query(request.GET)
    if query.key_id is not None and query.key_id not in {k.pk for k in keys}:
        raise RangeError("That key filter is not a key of this group.", "key")
    if query.model and not has_used_model(group.pk, query.model):
        raise RangeError(
            f"This group has no usage of a model named {query.model[:64]!r}: "
            "choose a model from the list.",
            "model",
        )
    return query


def _filter_data(request: HttpRequest) -> QueryDict | None:
    """The submitted filters, showing the range the page used when none was sent."""
    if not request.GET:
        return None
    data = request.GET.copy()
    if not data.get("range"):
        data["range"] = DEFAULT_PRESET
    return data


@require_GET
@group_view(Capability.VIEW_USAGE)
def usage_dashboard(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    keys = _group_keys(group)
    context = {"group": group, "base_url": settings.PORTAL_BASE_URL + "/v1"}
    try:
        query = _parse(request, group, keys)
    except RangeError as error:
        form = UsageFilterForm(
            _filter_data(request), models=sorted(models_ever_used(group.pk)), keys=keys
        )
        form.show_only_error(error.field, str(error))
        return render(
            request, "usage/dashboard.html", {**context, "form": form}, status=400
        )

    report = usage_report(group.pk, query, keys)
    form = UsageFilterForm(
        _filter_data(request),
        initial={"range": query.preset},
        models=_filter_models(group, query, report.models),
        keys=keys,
    )
    models = report.models
    unit = "hour" if query.by_hour else "day"
    calls = stacked_chart(report.series, models, "requests", _count)
    cost = stacked_chart(report.series, models, "cost_micros", format_cost)
    context.update(
        form=form,
        query=query,
        report=report,
        unit=unit,
        colors=model_colors(models),
        calls_svg=chart_svg(calls, "calls-chart", f"API calls per {unit} by model"),
        cost_svg=chart_svg(cost, "cost-chart", f"Cost per {unit} by model"),
        calls_table=series_table(report.series, models, "requests", unit, _count),
        cost_table=series_table(
            report.series, models, "cost_micros", unit, format_cost
        ),
        first_call=not report.by_model and not has_usage(group.pk),
    )
    return render(request, "usage/dashboard.html", context)


def _filter_models(group: ApiGroup, query: UsageQuery, shown: list[str]) -> list[str]:
    """The model filter's choices: with a model chosen, the others stay offered."""
    if not query.model:
        return shown
    return sorted({query.model, *models_used(group.pk, query)})


def _count(value: int) -> str:
    return f"{value:,}"


@require_GET
@group_view(Capability.VIEW_USAGE)
def usage_export(
    request: HttpRequest, group: ApiGroup
) -> HttpResponse | StreamingHttpResponse:
    keys = _group_keys(group)
    try:
        query = _parse(request, group, keys)
    except RangeError as error:
        return HttpResponse(
            str(error), status=400, content_type="text/plain; charset=utf-8"
        )
    report = usage_report(group.pk, query, keys)
    response = StreamingHttpResponse(
        csv_lines(report), content_type="text/csv; charset=utf-8"
    )
    filename = f"usage-{group.slug}-{query.first_day}-to-{query.last_day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    logger.debug(
        "usage export group=%s user=%s from=%s to=%s",
        group.pk,
        request.user.pk,
        query.first_day,
        query.last_day,
    )
    return response
