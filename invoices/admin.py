from django.contrib import admin

from invoices.models import DocumentSequence, Invoice, InvoiceLine, Receipt


class ReadOnlyAdmin(admin.ModelAdmin):
    """Issued documents are history: operators read them and never edit them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = (
        "position",
        "model",
        "key_name",
        "key_last_four",
        "requests",
        "input_tokens",
        "output_tokens",
        "search_queries",
        "amount_micros",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer_name", "period", "total_micros", "issued_at")
    list_filter = ("period",)
    search_fields = ("number", "customer_name", "group__slug")
    date_hierarchy = "issued_at"
    inlines = [InvoiceLineInline]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer_name", "kind", "amount_micros", "paid_at")
    list_filter = ("kind",)
    search_fields = ("number", "customer_name", "group__slug")
    date_hierarchy = "paid_at"


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(ReadOnlyAdmin):
    list_display = ("series", "year", "last_value")
