from django.contrib import admin

from billing.models import (
    AutoTopUp,
    BillingAccount,
    BillingNotice,
    LedgerEntry,
    Payment,
    PaymentMethod,
    StripeEvent,
)

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
