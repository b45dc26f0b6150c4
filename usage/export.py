"""The usage page as CSV, written row by row as the response streams."""

import csv
from collections.abc import Iterator
from decimal import Decimal

from portal.money import from_micros
from usage.queries import UsageReport

HEADER = (
    "section",
    "period_start",
    "model",
    "key_name",
    "key_last_four",
    "calls",
    "input_tokens",
    "output_tokens",
    "search_queries",
    "cost",
)


# A cell starting with one of these is a formula to a spreadsheet.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """Neutralise names people chose (key names) so that no cell runs as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


class _Line:
    """A file-like sink that hands back what csv.writer writes to it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(report: UsageReport) -> Iterator[str]:
    """Yield the CSV one line at a time: chart periods, models, keys, then the total.

    Period rows carry calls and cost per model, as the charts' tables do; the
    breakdown rows carry every figure. Costs are exact, in currency units.
    """
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER)
    for bucket in report.series:
        start = bucket.start.isoformat()
        for model in sorted(bucket.requests):
            calls = bucket.requests[model]
            cost = _amount(bucket.cost_micros[model])
            yield writer.writerow(
                ("period", start, _text(model), "", "", calls, "", "", "", cost)
            )
    for row in report.by_model:
        figures = _figures(row.figures)
        yield writer.writerow(("model", "", _text(row.model), "", "", *figures))
    for key in report.by_key:
        yield writer.writerow(
            ("key", "", "", _text(key.name), key.last_four, *_figures(key.figures))
        )
    yield writer.writerow(("total", "", "", "", "", *_figures(report.total)))


def _figures(figures) -> tuple:
    return (
        figures.requests,
        figures.input_tokens,
        figures.output_tokens,
        figures.search_queries,
        _amount(figures.cost_micros),
    )


def _amount(micros: int) -> Decimal:
    return from_micros(micros).quantize(Decimal("0.000001"))
