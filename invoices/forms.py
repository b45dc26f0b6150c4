from django import forms


class YearFilterForm(forms.Form):
    """Narrow the invoice history to one year; an empty choice shows them all."""

    year = forms.TypedChoiceField(
        label="Year", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", "All years")] + [
            (year, str(year)) for year in years
        ]
