from typing import cast

from django import forms

from usage.ranges import PRESETS

# portal.js sets the form's range to "custom" when a date is picked; without
# JavaScript a date with another range gets the parser's clear 400.
_DATE_ATTRS = {"type": "date", "data-sets-range": "custom"}


class UsageFilterForm(forms.Form):
    """The usage page's filters. Parsing is `parse_usage_query`; this renders them."""

    range = forms.ChoiceField(choices=list(PRESETS.items()), required=False)
    start = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs=_DATE_ATTRS),
        help_text="With a custom range; in your time zone.",
    )
    end = forms.DateField(required=False, widget=forms.DateInput(attrs=_DATE_ATTRS))
    model = forms.ChoiceField(required=False)
    key = forms.ChoiceField(required=False, label="API key")

    def __init__(self, *args, models=(), keys=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        model_field = cast(forms.ChoiceField, self.fields["model"])
        model_field.choices = [("", "All models")] + [(m, m) for m in models]
        key_field = cast(forms.ChoiceField, self.fields["key"])
        key_field.choices = [("", "All keys")] + [
            (str(key.pk), key.display_name) for key in keys
        ]

    def show_only_error(self, field: str | None, message: str) -> None:
        """Show the one message the parser gave, without the fields' own checks.

        parse_usage_query checked every parameter already; the fields' checks
        would only say the same thing a second time, less clearly.
        """
        self.errors.clear()
        self.add_error(field, message)
