"""Checks on text that people type and others read: names in lists and invoices."""

from django.core.exceptions import ValidationError

# Unicode's bidirectional controls: invisible, they reorder the text around them,
# so "invoice\u202etxt.exe" displays as something else. Names never need them.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def refuse_bidi_controls(text: str) -> str:
    """Return `text`, or refuse it if it holds a bidirectional control character."""
    found = sorted({f"U+{ord(char):04X}" for char in text if char in BIDI_CONTROLS})
    if found:
        raise ValidationError(
            "Remove the invisible text-direction characters (%(found)s): they "
            "make a name display differently from what it is.",
            code="bidi_control",
            params={"found": ", ".join(found)},
        )
    return text
