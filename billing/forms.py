import uuid
from decimal import Decimal

from django import forms
from django.conf import settings

from billing.models import AutoTopUp
from portal.money import from_micros, to_micros


class MoneyField(forms.DecimalField):
    """An amount in currency units with cents; cleans to integer micros."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else to_micros(amount)


def _purchase_help() -> str:
    low, high = settings.CREDIT_PURCHASE_MIN, settings.CREDIT_PURCHASE_MAX
    return f"Between ${low:,} and ${high:,}, charged to your default card."


def check_purchase_range(micros: int) -> int:
    low, high = settings.CREDIT_PURCHASE_MIN, settings.CREDIT_PURCHASE_MAX
    if not to_micros(low) <= micros <= to_micros(high):
        raise forms.ValidationError(f"Enter an amount between ${low:,} and ${high:,}.")
    return micros


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
        field.widget.attrs.update(
            min=settings.CREDIT_PURCHASE_MIN,
            max=settings.CREDIT_PURCHASE_MAX,
            step="0.01",
        )
        field.help_text = _purchase_help()

    def clean_amount(self):
        return check_purchase_range(self.cleaned_data["amount"])


class AutoTopUpForm(forms.Form):
    enabled = forms.BooleanField(label="Automatic top-up on", required=False)
    threshold = MoneyField(
        label="When the balance falls below (USD)",
        help_text="Admins are also emailed when the balance first drops below this.",
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

    @classmethod
    def for_settings(cls, top_up: AutoTopUp, data=None):
        initial = {
            "enabled": top_up.enabled,
            "threshold": from_micros(top_up.threshold_micros),
            "amount": from_micros(top_up.amount_micros),
            "monthly_cap": from_micros(top_up.monthly_cap_micros),
        }
        return cls(data, initial=initial)

    def clean_amount(self):
        return check_purchase_range(self.cleaned_data["amount"])

    def clean(self):
        cleaned = super().clean()
        amount, cap = cleaned.get("amount"), cleaned.get("monthly_cap")
        if amount is not None and cap is not None and cap < amount:
            self.add_error("monthly_cap", "The cap must be at least one top-up amount.")
        return cleaned


class SaveCardForm(forms.Form):
    setup_intent = forms.RegexField(regex=r"^seti_[A-Za-z0-9_]+$", max_length=255)
    make_default = forms.BooleanField(required=False)
