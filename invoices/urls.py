from django.urls import path

from invoices import views

app_name = "invoices"

# Numbers are `INV-2026-000042` and `RCT-2026-000007`: letters, digits, dashes.
urlpatterns = [
    path("g/<slug:group_slug>/invoices/", views.document_list, name="list"),
    path(
        "g/<slug:group_slug>/invoices/<slug:number>/",
        views.invoice_detail,
        name="invoice",
    ),
    path(
        "g/<slug:group_slug>/invoices/<slug:number>/pdf/",
        views.invoice_pdf,
        name="invoice-pdf",
    ),
    path(
        "g/<slug:group_slug>/invoices/receipts/<slug:number>/",
        views.receipt_detail,
        name="receipt",
    ),
    path(
        "g/<slug:group_slug>/invoices/receipts/<slug:number>/pdf/",
        views.receipt_pdf,
        name="receipt-pdf",
    ),
]
