"""JSON with exact decimals: Decimal values become JSON numbers, never via float."""

import json
import re
import secrets
from decimal import Decimal

from portal.money import from_micros

_SIX_PLACES = Decimal("0.000001")

# A Decimal is first written as a string carrying this per-process mark, then the
# quotes and mark are removed. The NUL makes json escape it, and the random part
# means no string from a client or an upstream can imitate it.
_MARK = f"\x00{secrets.token_hex(8)}:"
_MARKED = re.compile(
    '"' + re.escape(json.dumps(_MARK)[1:-1]) + r'(-?[0-9]+(?:\.[0-9]+)?)"'
)


class _ExactEncoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return _MARK + format(o, "f")
        return super().default(o)


def dumps(payload) -> str:
    return _MARKED.sub(r"\1", json.dumps(payload, cls=_ExactEncoder))


def dollars(micros: int) -> Decimal:
    """An amount of micros as a Decimal with exactly six places."""
    return from_micros(micros).quantize(_SIX_PLACES)
