"""Invoices and receipts as PDF, drawn with reportlab's built-in fonts only."""

from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from io import BytesIO

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from invoices.formatting import card_label, exact_money, quantity
from invoices.models import Invoice, IssuedDocument, Receipt
from invoices.queries import sections_by_model

MARGIN = 18 * mm
# The frame SimpleDocTemplate lays out in keeps this padding inside the margins.
FRAME_PADDING = 6
LEFT = MARGIN + FRAME_PADDING
WIDTH = A4[0] - 2 * LEFT
INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#5b6570")
RULE = colors.HexColor("#dde1e6")
SHADE = colors.HexColor("#f3f5f8")
ACCENT = colors.HexColor("#2f5bea")

_BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=9, leading=12)
STYLES = {
    "base": _BASE,
    "muted": ParagraphStyle("muted", _BASE, textColor=MUTED),
    "small": ParagraphStyle("small", _BASE, fontSize=7.5, leading=9, textColor=MUTED),
    "seller": ParagraphStyle("seller", _BASE, fontName="Helvetica-Bold", fontSize=13),
    "title": ParagraphStyle(
        "title",
        _BASE,
        fontName="Helvetica-Bold",
        fontSize=20,
        leading=24,
        alignment=TA_RIGHT,
        textColor=ACCENT,
    ),
    "label": ParagraphStyle(
        "label", _BASE, fontName="Helvetica-Bold", fontSize=7.5, textColor=MUTED
    ),
    "label_num": ParagraphStyle(
        "label_num",
        _BASE,
        fontName="Helvetica-Bold",
        fontSize=7.5,
        textColor=MUTED,
        alignment=TA_RIGHT,
    ),
    "bold": ParagraphStyle("bold", _BASE, fontName="Helvetica-Bold"),
    "num": ParagraphStyle("num", _BASE, alignment=TA_RIGHT),
    "num_bold": ParagraphStyle(
        "num_bold", _BASE, alignment=TA_RIGHT, fontName="Helvetica-Bold"
    ),
}


def render_invoice_pdf(invoice: Invoice) -> bytes:
    story = [
        *_heading(invoice, "INVOICE", _invoice_facts(invoice)),
        _summary(invoice),
        Spacer(1, 6 * mm),
        _lines_table(invoice),
        Spacer(1, 4 * mm),
        KeepTogether([_totals(invoice), Spacer(1, 6 * mm), _invoice_note(invoice)]),
    ]
    return _build(invoice, story)


def render_receipt_pdf(receipt: Receipt) -> bytes:
    story = [
        *_heading(receipt, "RECEIPT", _receipt_facts(receipt)),
        _receipt_table(receipt),
        Spacer(1, 6 * mm),
        Paragraph(
            "This receipt confirms a payment for prepaid API credits. Usage of the "
            "credits is itemised on the monthly invoices.",
            STYLES["muted"],
        ),
    ]
    return _build(receipt, story)


def _build(document: IssuedDocument, story: list) -> bytes:
    buffer = BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=f"{document.number} {document.seller_name}",
        author=document.seller_name,
        creator=settings.PORTAL_NAME,
    )
    footer = f"{document.seller_name} · {document.number}"
    template.build(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()


def _numbered_canvas(footer: str) -> type[Canvas]:
    """A canvas that writes "Page n of m" once it knows m."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for page in self._pages:
                self.__dict__.update(page)
                self._draw_footer(len(self._pages))
                super().showPage()
            super().save()

        def _draw_footer(self, page_count: int) -> None:
            self.saveState()
            self.setFont("Helvetica", 7.5)
            self.setFillColor(MUTED)
            self.setStrokeColor(RULE)
            self.line(LEFT, MARGIN, A4[0] - LEFT, MARGIN)
            self.drawString(LEFT, MARGIN - 4 * mm, footer)
            self.drawRightString(
                A4[0] - LEFT,
                MARGIN - 4 * mm,
                f"Page {self._pageNumber} of {page_count}",
            )
            self.restoreState()

    return NumberedCanvas


def _money(micros: int, document: Invoice | Receipt) -> str:
    return exact_money(micros, document.currency, document.money_places)


def _p(text: str, style: str = "base") -> Paragraph:
    return Paragraph(escape(text), STYLES[style])


def _lines(texts: Iterable[str], style: str = "base") -> Paragraph:
    return Paragraph("<br/>".join(escape(t) for t in texts if t), STYLES[style])


def _heading(document: IssuedDocument, title: str, facts: list[tuple[str, str]]):
    seller = [
        Paragraph(escape(document.seller_name), STYLES["seller"]),
        Spacer(1, 1.5 * mm),
        _lines(
            [
                *document.seller_address_lines,
                document.seller_email,
                f"Tax ID {document.seller_tax_id}" if document.seller_tax_id else "",
            ],
            "muted",
        ),
    ]
    facts_table = Table(
        [[_p(label, "muted"), _p(value, "num_bold")] for label, value in facts],
        colWidths=[30 * mm, 45 * mm],
        hAlign="RIGHT",
    )
    facts_table.setStyle(_plain_style(padding=1.2))
    top = Table(
        [[seller, [Paragraph(title, STYLES["title"]), Spacer(1, 3 * mm), facts_table]]],
        colWidths=[WIDTH - 78 * mm, 78 * mm],
    )
    top.setStyle(_plain_style())

    bill_to = [
        _p("BILLED TO", "label"),
        Spacer(1, 1 * mm),
        _p(document.customer_name, "bold"),
        _lines(
            [
                *document.customer_address_lines,
                f"Tax ID {document.customer_tax_id}"
                if document.customer_tax_id
                else "",
            ]
        ),
    ]
    return [top, Spacer(1, 9 * mm), *bill_to, Spacer(1, 7 * mm)]


def _utc_day(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%-d %B %Y}"


def _invoice_facts(invoice: Invoice) -> list[tuple[str, str]]:
    return [
        ("Invoice number", invoice.number),
        ("Issue date", _utc_day(invoice.issued_at)),
        ("Period", _period_span(invoice)),
        ("Status", invoice.status_label),
    ]


def _period_span(invoice: Invoice) -> str:
    # Worded as on the invoice page: periods are calendar months in UTC.
    return f"{invoice.period:%-d %b} to {invoice.period_last_day:%-d %b %Y} (UTC)"


def _receipt_facts(receipt: Receipt) -> list[tuple[str, str]]:
    facts = [
        ("Receipt number", receipt.number),
        ("Date paid", _utc_day(receipt.paid_at)),
    ]
    card = card_label(receipt.card_brand, receipt.card_last4)
    if card:
        facts.append(("Payment method", card))
    facts.append(("Status", receipt.status_label))
    return facts


def _summary(invoice: Invoice) -> Table:
    money = _money(invoice.total_micros, invoice)
    text = (
        f"<b>{escape(money)}</b> of API usage in {escape(invoice.period_label)}, "
        "paid from prepaid credits. Nothing is due."
    )
    box = Table([[Paragraph(text, STYLES["base"])]], colWidths=[WIDTH])
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return box


_LINE_COLUMNS = (
    "Description",
    "Requests",
    "Input tokens",
    "Output tokens",
    "Searches",
    "Amount",
)
_FIGURE_WIDTHS = [20 * mm, 24 * mm, 24 * mm, 20 * mm, 28 * mm]
_LINE_WIDTHS = [WIDTH - sum(_FIGURE_WIDTHS), *_FIGURE_WIDTHS]


def _lines_table(invoice: Invoice) -> Table:
    rows: list[list] = [
        [_p(_LINE_COLUMNS[0], "label")]
        + [_p(column, "label_num") for column in _LINE_COLUMNS[1:]]
    ]
    style = [
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    for section in sections_by_model(invoice):
        for line, extra in section.rows:
            description = [_p(line.description, "bold"), _p(line.key_name, "small")]
            if extra:
                description.append(_p(extra, "small"))
            rows.append(
                [
                    description,
                    _p(quantity(line.requests), "num"),
                    _p(quantity(line.input_tokens), "num"),
                    _p(quantity(line.output_tokens), "num"),
                    _p(quantity(line.search_queries), "num"),
                    _p(_money(line.amount_micros, invoice), "num"),
                ]
            )
            at = len(rows) - 1
            style.append(("LINEBELOW", (0, at), (-1, at), 0.4, RULE))
        rows.append(
            [
                _p(f"Subtotal {section.model}", "bold"),
                "",
                "",
                "",
                "",
                _p(_money(section.subtotal_micros, invoice), "num_bold"),
            ]
        )
        at = len(rows) - 1
        style += [
            ("SPAN", (0, at), (4, at)),
            ("BACKGROUND", (0, at), (-1, at), SHADE),
            ("LINEBELOW", (0, at), (-1, at), 0.4, RULE),
        ]
    table = Table(rows, colWidths=_LINE_WIDTHS, repeatRows=1)
    table.setStyle(TableStyle(style))
    return table


def _totals(invoice: Invoice) -> Table:
    rows = [
        ("Subtotal", _money(invoice.total_micros, invoice), "num"),
        ("Total", _money(invoice.total_micros, invoice), "num_bold"),
        (
            "Paid with prepaid credits",
            _money(-invoice.credits_applied_micros, invoice),
            "num",
        ),
        (
            "Amount due",
            exact_money(invoice.amount_due_micros, invoice.currency),
            "num_bold",
        ),
    ]
    table = Table(
        [[_p(label, "num"), _p(value, style)] for label, value, style in rows],
        colWidths=[50 * mm, 32 * mm],
        hAlign="RIGHT",
    )
    table.setStyle(
        TableStyle(
            [
                *_plain_style(padding=3).getCommands(),
                ("LINEABOVE", (0, 1), (-1, 1), 0.8, INK),
                ("LINEABOVE", (0, 3), (-1, 3), 0.8, INK),
                ("BACKGROUND", (0, 3), (-1, 3), SHADE),
            ]
        )
    )
    return table


def _invoice_note(invoice: Invoice) -> Paragraph:
    return Paragraph(
        "Amounts are in "
        f"{escape(invoice.currency.upper())} and exact to the millionth of a unit, as "
        "debited from your credits; each line is one model used through one API key, "
        "shown by the last four characters of the key. Usage is counted in UTC.",
        STYLES["small"],
    )


def _receipt_table(receipt: Receipt) -> Table:
    amount = exact_money(receipt.amount_micros, receipt.currency)
    what = receipt.get_kind_display().lower()
    rows = [
        [_p("Description", "label"), _p("Amount", "label_num")],
        [_p(f"Prepaid API credits, {what}"), _p(amount, "num")],
        [_p("Total paid", "bold"), _p(amount, "num_bold")],
    ]
    table = Table(rows, colWidths=[WIDTH - 32 * mm, 32 * mm])
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                ("LINEBELOW", (0, 1), (-1, 1), 0.4, RULE),
                ("BACKGROUND", (0, 2), (-1, 2), SHADE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _plain_style(padding: float = 0) -> TableStyle:
    return TableStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), padding),
            ("RIGHTPADDING", (0, 0), (-1, -1), padding),
            ("TOPPADDING", (0, 0), (-1, -1), padding),
            ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
        ]
    )
