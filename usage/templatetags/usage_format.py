from django import template

from portal.money import format_money

register = template.Library()


@register.filter
def usage_cost(micros: int | None) -> str:
    """Usage costs to the hundredth of a cent: `$0.0205`."""
    return format_money(micros or 0, places=4)


@register.filter
def get_count(values: dict, name: str) -> int:
    """A model's figure in a chart bucket; zero where it made no calls."""
    return values.get(name, 0)


@register.filter
def querystring_with_key(query, key_id: int) -> str:
    """The current usage query, filtered to one key."""
    return query.querystring(key=key_id)


@register.inclusion_tag("usage/_key_usage_panel.html", takes_context=True)
def key_usage_panel(context, api_key) -> dict:
    """One key's usage and cost per model over the range in the page's URL."""
    from usage.queries import key_usage, total_of
    from usage.ranges import RangeError, parse_usage_query

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
    }
