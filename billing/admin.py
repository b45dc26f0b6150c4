from django import forms
from django.contrib import admin
from django.utils import timezone

from billing.models import (
    AutoTopUp,
    BillingAccount,
    BillingNotice,
    LedgerEntry,
    ModelPrice,
    Payment,
    PaymentMethod,
    StripeEvent,
)
from billing.pricing import CHANGE_LEAD, forget_price_book
from portal.money import format_money

# Credits, payments and the ledger: read-only here. Credits move only through
# billing/ledger.py (operators use `manage.py grant_credits`), so no admin form
# can invent or lose a cent.


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "group",
        "balance_micros",
        "lifetime_purchased_micros",
        "updated_at",
    ]
    search_fields = ["group__name", "group__slug", "stripe_customer_id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "group",
        "kind",
        "amount_micros",
        "balance_after_micros",
    ]
    list_filter = ["kind"]
    search_fields = ["group__slug", "note"]
    date_hierarchy = "created_at"


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "group", "kind", "status", "amount_micros"]
    list_filter = ["kind", "status"]
    search_fields = ["group__slug", "stripe_payment_intent_id"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ["group", "brand", "last4", "exp_month", "exp_year", "is_default"]
    search_fields = ["group__slug", "last4"]


@admin.register(AutoTopUp)
class AutoTopUpAdmin(ReadOnlyAdmin):
    list_display = ["group", "enabled", "threshold_micros", "amount_micros"]
    list_filter = ["enabled"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "type", "event_id"]
    search_fields = ["event_id"]


@admin.register(BillingNotice)
class BillingNoticeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "group", "kind", "sent_at"]
    list_filter = ["kind"]


class ModelPriceForm(forms.ModelForm):
    class Meta:
        model = ModelPrice
        fields = [
            "model",
            "effective_from",
            "input_per_million_micros",
            "output_per_million_micros",
            "citation_per_million_micros",
            "reasoning_per_million_micros",
            "request_low_per_thousand_micros",
            "request_medium_per_thousand_micros",
            "request_high_per_thousand_micros",
            "search_query_per_thousand_micros",
        ]
        help_texts = {
            "effective_from": "A new price applies from this moment; it must be at "
            f"least {int(CHANGE_LEAD.total_seconds() // 60)} minutes from now so that "
            "every server has it before it applies. Past prices never change.",
        }

    def clean_effective_from(self):
        effective_from = self.cleaned_data["effective_from"]
        if effective_from < timezone.now() + CHANGE_LEAD:
            minutes = int(CHANGE_LEAD.total_seconds() // 60)
            raise forms.ValidationError(
                f"Choose a moment at least {minutes} minutes from now: prices "
                "never change retroactively."
            )
        return effective_from


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    """The price book. A price change is a new row with a later effective date.

    Rows in effect (or about to be) are read-only and cannot be deleted: calls were
    priced with them. A row further in the future can still be corrected.
    """

    form = ModelPriceForm
    list_display = (
        "model",
        "effective_from",
        "input_per_million",
        "output_per_million",
        "request_fees_per_thousand",
        "search_queries_per_thousand",
        "in_effect",
    )
    list_filter = ("model",)
    ordering = ("model", "-effective_from")
    save_as = True

    @admin.display(description="input / 1M")
    def input_per_million(self, price: ModelPrice) -> str:
        return format_money(price.input_per_million_micros, places=6)

    @admin.display(description="output / 1M")
    def output_per_million(self, price: ModelPrice) -> str:
        return format_money(price.output_per_million_micros, places=6)

    @admin.display(description="requests / 1K (low, medium, high)")
    def request_fees_per_thousand(self, price: ModelPrice) -> str:
        fees = (
            price.request_low_per_thousand_micros,
            price.request_medium_per_thousand_micros,
            price.request_high_per_thousand_micros,
        )
        return ", ".join("none" if f is None else format_money(f, 3) for f in fees)

    @admin.display(description="searches / 1K")
    def search_queries_per_thousand(self, price: ModelPrice) -> str:
        return format_money(price.search_query_per_thousand_micros, places=3)

    @admin.display(boolean=True, description="in effect")
    def in_effect(self, price: ModelPrice) -> bool:
        return price.effective_from <= timezone.now()

    def _is_settled(self, price: ModelPrice | None) -> bool:
        # In effect, or so close to it that some worker may already hold it.
        return price is not None and price.effective_from < timezone.now() + CHANGE_LEAD

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and not self._is_settled(obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and not self._is_settled(obj)

    def get_actions(self, request):
        # Bulk delete would skip the per-row check above.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        forget_price_book()
