import re
import uuid

from django import forms
from django.conf import settings

from billing.models import AutoTopUp
from portal.money import from_micros, to_micros

# Dollars in ASCII digits only: Python's Decimal would also take "1e3" or
# Arabic-Indic digits, which nobody means to type as an amount.
PLAIN_AMOUNT = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
# Ten digits keep any amount's micros well inside a 64-bit integer, far above
# every range the forms allow, which then name the range.
MAX_DIGITS = 10
# A monthly cap of top-ups may be many top-ups, not without end.
MONTHLY_CAP_TOP_UPS = 100


class MoneyField(forms.CharField):
    """An amount in currency units with cents; cleans to integer micros.

    The form checks the range, so that an amount out of range names the range.
    """

    widget = forms.NumberInput
    default_error_messages = {
        "invalid": "Enter a plain amount in dollars, like 25 or 25.50.",
        "cents": "Use at most two decimal places (whole cents).",
        "too_large": "That amount is far too large.",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.update(inputmode="decimal", step="0.01")

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        plain = PLAIN_AMOUNT.fullmatch(text)
        if plain is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        whole, cents = plain.group(1), plain.group(2) or ""
        if len(cents) > 2:
            raise forms.ValidationError(self.error_messages["cents"], code="cents")
        if len(whole.lstrip("0")) > MAX_DIGITS:
            raise forms.ValidationError(self.error_messages["too_large"], code="large")
        return to_micros(text)


def limit_field(field: forms.Field, low: int, high: int) -> None:
    """Let the browser know the range, in whole dollars, too."""
    field.widget.attrs.update(min=low, max=high)


def check_range(micros: int, low: int, high: int) -> int:
    """Refuse an amount outside [low, high] whole dollars, naming the range."""
    if not to_micros(low) <= micros <= to_micros(high):
        raise forms.ValidationError(f"Enter an amount between ${low:,} and ${high:,}.")
    return micros


def _purchase_help() -> str:
    low, high = settings.CREDIT_PURCHASE_MIN, settings.CREDIT_PURCHASE_MAX
    return f"Between ${low:,} and ${high:,}, charged to your default card."


def check_purchase_range(micros: int) -> int:
    return check_range(
        micros, settings.CREDIT_PURCHASE_MIN, settings.CREDIT_PURCHASE_MAX
    )


class BuyCreditsForm(forms.Form):
    amount = MoneyField(label="Amount (USD)")
    # Drawn when the form is shown: submitting the same form twice charges once.
    form_token = forms.RegexField(
        regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("form_token", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        field = self.fields["amount"]
        limit_field(field, settings.CREDIT_PURCHASE_MIN, settings.CREDIT_PURCHASE_MAX)
        field.help_text = _purchase_help()

    def clean_amount(self):
        return check_purchase_range(self.cleaned_data["amount"])


class AutoTopUpForm(forms.Form):
    enabled = forms.BooleanField(label="Automatic top-up on", required=False)
    threshold = MoneyField(
        label="When the balance falls below (USD)",
        help_text="Saving a threshold above the current balance charges a top-up "
        "right away. Admins are also emailed when the balance first drops below this.",
    )
    amount = MoneyField(label="Add this amount (USD)")
    monthly_cap = MoneyField(
        label="At most this much per month (USD)",
        help_text="Automatic charges stop for the rest of the month at this total.",
    )

    def __init__(self, *args, **kwargs):
        # The buy form on the same page has an `amount` too: distinct ids keep
        # each label naming its own input.
        kwargs.setdefault("auto_id", "id_top_up_%s")
        super().__init__(*args, **kwargs)
        high = settings.CREDIT_PURCHASE_MAX
        limit_field(self.fields["threshold"], 0, high)
        limit_field(self.fields["amount"], settings.CREDIT_PURCHASE_MIN, high)
        cap_high = high * MONTHLY_CAP_TOP_UPS
        limit_field(self.fields["monthly_cap"], 0, cap_high)

    @classmethod
    def for_settings(cls, top_up: AutoTopUp, data=None):
        initial = {
            "enabled": top_up.enabled,
            "threshold": from_micros(top_up.threshold_micros),
            "amount": from_micros(top_up.amount_micros),
            "monthly_cap": from_micros(top_up.monthly_cap_micros),
        }
        return cls(data, initial=initial)

    def clean_threshold(self):
        return check_range(
            self.cleaned_data["threshold"], 0, settings.CREDIT_PURCHASE_MAX
        )

    def clean_amount(self):
        return check_purchase_range(self.cleaned_data["amount"])

    def clean_monthly_cap(self):
        high = settings.CREDIT_PURCHASE_MAX * MONTHLY_CAP_TOP_UPS
        return check_range(self.cleaned_data["monthly_cap"], 0, high)

    def clean(self):
        cleaned = super().clean()
        amount, cap = cleaned.get("amount"), cleaned.get("monthly_cap")
        if amount is not None and cap is not None and cap < amount:
            self.add_error("monthly_cap", "The cap must be at least one top-up amount.")
        return cleaned


class SaveCardForm(forms.Form):
    setup_intent = forms.RegexField(regex=r"^seti_[A-Za-z0-9_]+$", max_length=255)
    make_default = forms.BooleanField(required=False)
