import uuid

from django import forms

from apikeys.services import GRACE_PERIOD_CHOICES
from portal.text import refuse_bidi_controls


def _grace_label(minutes: int) -> str:
    if minutes == 0:
        return "Stop the old key now"
    if minutes < 60:
        return f"Keep the old key working for {minutes} minutes"
    hours = minutes // 60
    return f"Keep the old key working for {hours} hour{'s' if hours > 1 else ''}"


class KeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        help_text="What the key is for, e.g. “production backend”. "
        "Shown on the keys page and on invoices.",
    )
    # Drawn when the form is shown: submitting it twice creates one key.
    form_token = forms.RegexField(
        regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("form_token", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = refuse_bidi_controls(self.cleaned_data["name"].strip())
        if not name:
            raise forms.ValidationError("Enter a name for the key.")
        return name


class KeyRegenerateForm(forms.Form):
    grace_minutes = forms.TypedChoiceField(
        label="Old key",
        choices=[(m, _grace_label(m)) for m in GRACE_PERIOD_CHOICES],
        coerce=int,
        initial=0,
        help_text="A grace period lets running deployments switch to the new key.",
    )
