from django import template

register = template.Library()


def format_cost(micros: int | None) -> str:
    """Usage costs exact to the micro-dollar, as calls are priced: `$1,234.020500`.

    Never rounded, so that the rows visibly add up to the total. Integer
    arithmetic: the usage page formats thousands of these per render.
    """
    micros = micros or 0
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), 1_000_000)
    return f"{sign}${whole:,}.{fraction:06d}"


register.filter("usage_cost", format_cost)


@register.filter
def count(value: int | None) -> str:
    return f"{value or 0:,}"


@register.filter
def querystring_with_key(query, key_id: int) -> str:
    """The current usage query, filtered to one key."""
    return query.querystring(key=key_id)


@register.inclusion_tag("usage/_key_usage_panel.html", takes_context=True)
def key_usage_panel(context, api_key) -> dict:
    """One key's usage and cost per model over the range in the page's URL."""
    from usage.queries import key_usage, total_of
    from usage.ranges import PRESETS, RangeError, parse_usage_query

    request = context["request"]
    try:
        query = parse_usage_query(request.GET)
    except RangeError as error:
        return {"error": str(error), "api_key": api_key}
    rows = key_usage(api_key, query)
    return {
        "api_key": api_key,
        "query": query,
        "rows": rows,
        "total": total_of(rows),
        "group_slug": context["group"].slug,
        "presets": [(k, v) for k, v in PRESETS.items() if k != "custom"],
    }
