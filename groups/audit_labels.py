"""Labels for coded values in the activity log, which higher apps register.

The log stores values as they were (say a ledger kind "auto_top_up"); the app that
owns the code registers its choices here, so the log can read it to people
without this bottom layer importing that app.
"""

from collections.abc import Iterable

_LABELS: dict[str, dict[str, str]] = {}


def register_value_labels(name: str, choices: Iterable[tuple[str, str]]) -> None:
    """Show values audited under `name` by their labels among `choices`."""
    _LABELS.setdefault(name, {}).update((str(v), str(label)) for v, label in choices)


def value_label(name: str, value: object) -> str | None:
    return _LABELS.get(name, {}).get(str(value))
