from typing import cast

from django import forms


class YearFilterForm(forms.Form):
    """Narrow the invoice history to one year; an empty choice shows them all."""

    year = forms.TypedChoiceField(
        label="Year", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        year_field = cast(forms.TypedChoiceField, self.fields["year"])
        year_field.choices = [("", "All years")] + [(y, str(y)) for y in years]
