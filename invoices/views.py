from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from groups.access import group_view
from groups.models import ApiGroup, Capability
from invoices.forms import YearFilterForm
from invoices.models import Invoice, Receipt
from invoices.pdf import render_invoice_pdf, render_receipt_pdf
from invoices.queries import history, history_years, sections_by_model, usage_url

HISTORY_PAGE_SIZE = 50


@require_GET
@group_view(Capability.VIEW_INVOICES)
def document_list(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    form = YearFilterForm(request.GET or None, years=history_years(group))
    year = form.cleaned_data["year"] if form.is_valid() else None
    page = Paginator(history(group, year), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "invoices/list.html",
        {"form": form, "year": year, "page": page},
    )


@require_GET
@group_view(Capability.VIEW_INVOICES)
def invoice_detail(request: HttpRequest, group: ApiGroup, number: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice, group=group, number=number)
    sections = sections_by_model(invoice)
    for section in sections:
        for line in section.lines:
            line.usage_url = usage_url(group, invoice, line)  # type: ignore[attr-defined]
    return render(
        request,
        "invoices/invoice_detail.html",
        {"invoice": invoice, "sections": sections},
    )


@require_GET
@group_view(Capability.VIEW_INVOICES)
def invoice_pdf(request: HttpRequest, group: ApiGroup, number: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice, group=group, number=number)
    return _pdf_response(render_invoice_pdf(invoice), invoice.number)


@require_GET
@group_view(Capability.VIEW_INVOICES)
def receipt_detail(request: HttpRequest, group: ApiGroup, number: str) -> HttpResponse:
    receipt = get_object_or_404(Receipt, group=group, number=number)
    return render(request, "invoices/receipt_detail.html", {"receipt": receipt})


@require_GET
@group_view(Capability.VIEW_INVOICES)
def receipt_pdf(request: HttpRequest, group: ApiGroup, number: str) -> HttpResponse:
    receipt = get_object_or_404(Receipt, group=group, number=number)
    return _pdf_response(render_receipt_pdf(receipt), receipt.number)


def _pdf_response(content: bytes, number: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{number}.pdf"'
    # A financial document: never kept by a shared cache or the browser's.
    patch_cache_control(response, private=True, no_store=True)
    return response
