import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from billing import payments, services
from billing.forms import AutoTopUpForm, BuyCreditsForm, SaveCardForm
from billing.ledger import get_balance
from billing.models import (
    LedgerEntry,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from billing.stripe_api import PaymentError
from billing.webhooks import handle_event
from groups.access import group_view
from groups.models import ApiGroup, Capability
from portal.money import format_money

logger = logging.getLogger(__name__)

ENTRIES_PER_PAGE = 25


# Balances and payments change under it: Back must not show a stale copy.
@never_cache
@require_GET
@group_view(Capability.MANAGE_BILLING)
def overview(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    return _render_overview(request, group)


def _render_overview(request, group, *, buy_form=None, top_up_form=None, status=200):
    top_up = services.top_up_settings(group.pk)
    entries = LedgerEntry.objects.filter(group=group).select_related(
        "actor", "payment", "usage_event"
    )
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "balance_micros": get_balance(group.pk),
        "cards": PaymentMethod.objects.filter(group=group),
        "top_up": top_up,
        "top_up_form": top_up_form or AutoTopUpForm.for_settings(top_up),
        "top_ups_this_month": payments.top_ups_this_month_micros(group.pk),
        "buy_form": buy_form or BuyCreditsForm(),
        "page": page,
        "pending_payments": Payment.objects.filter(
            group=group,
            status__in=[PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION],
        ),
        "last_payment": Payment.objects.filter(group=group).first(),
    }
    return render(request, "billing/overview.html", context, status=status)


@require_GET
@group_view(Capability.MANAGE_BILLING)
def add_card(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    try:
        setup = services.start_card_setup(group)
    except PaymentError as exc:
        messages.error(request, exc.message)
        return redirect("billing:overview", group_slug=group.slug)
    context = {
        "setup": setup,
        "form": SaveCardForm(initial={"setup_intent": setup.setup_intent_id}),
        "has_cards": PaymentMethod.objects.filter(group=group).exists(),
        "stripe_js_url": settings.STRIPE_JS_URL,
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }
    return render(request, "billing/add_card.html", context)


@require_POST
@group_view(Capability.MANAGE_BILLING)
def save_card(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    form = SaveCardForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The card form was incomplete. Try again.")
        return redirect("billing:add-card", group_slug=group.slug)
    try:
        card = services.save_card(
            group,
            request.user,
            form.cleaned_data["setup_intent"],
            make_default=form.cleaned_data["make_default"],
        )
    except (PaymentError, stripe.StripeError) as exc:
        message = getattr(exc, "message", "") or "The card could not be added."
        messages.error(request, f"{message} Nothing was saved.")
        return redirect("billing:add-card", group_slug=group.slug)
    messages.success(request, f"{card.label} added.")
    return redirect("billing:overview", group_slug=group.slug)


@require_POST
@group_view(Capability.MANAGE_BILLING)
def make_default_card(request: HttpRequest, group: ApiGroup, card_id: int):
    try:
        card = services.set_default_card(group, request.user, card_id)
    except services.BillingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{card.label} is now the default card.")
    return redirect("billing:overview", group_slug=group.slug)


@require_POST
@group_view(Capability.MANAGE_BILLING)
def remove_card(request: HttpRequest, group: ApiGroup, card_id: int):
    try:
        promoted = services.remove_card(group, request.user, card_id)
    except services.BillingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Card removed.")
        if promoted is not None:
            messages.info(request, f"{promoted.label} is now the default card.")
    return redirect("billing:overview", group_slug=group.slug)


@require_POST
@group_view(Capability.MANAGE_BILLING)
def buy_credits(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    form = BuyCreditsForm(request.POST)
    if not form.is_valid():
        return _render_overview(request, group, buy_form=form, status=400)
    try:
        payment = payments.purchase_credits(
            group,
            request.user,
            form.cleaned_data["amount"],
            form_token=form.cleaned_data["form_token"],
        )
    except payments.DuplicatePurchase as exc:
        if exc.payment.status == PaymentStatus.REQUIRES_ACTION:
            return _to_authentication(group, exc.payment)
        messages.info(request, _resubmitted(exc.payment))
    except payments.AuthenticationRequired as exc:
        return _to_authentication(group, exc.payment)
    except payments.PaymentPending as exc:
        messages.info(request, exc.message)
    except PaymentError as exc:
        messages.error(request, f"{exc.message} Nothing was charged.")
    except services.BillingError as exc:
        messages.error(request, str(exc))
    else:
        _say_credits_added(request, payment)
    return redirect("billing:overview", group_slug=group.slug)


def _say_credits_added(request, payment: Payment) -> None:
    messages.success(
        request,
        f"{format_money(payment.amount_micros)} of credits added, charged to "
        f"{payment.card_label}.",
    )


def _to_authentication(group: ApiGroup, payment: Payment) -> HttpResponse:
    return redirect(
        "billing:payment-authenticate", group_slug=group.slug, payment_id=payment.pk
    )


def _purchase_of(group: ApiGroup, payment_id: int) -> Payment:
    return get_object_or_404(
        Payment, group=group, pk=payment_id, kind=PaymentKind.PURCHASE
    )


@never_cache
@require_GET
@group_view(Capability.MANAGE_BILLING)
def authenticate_payment(request: HttpRequest, group: ApiGroup, payment_id: int):
    """The page where stripe.js runs the bank's check on a purchase."""
    payment = _purchase_of(group, payment_id)
    if payment.status != PaymentStatus.REQUIRES_ACTION:
        messages.info(request, _resubmitted(payment))
        return redirect("billing:overview", group_slug=group.slug)
    try:
        client_secret = payments.authentication_secret(payment)
    except PaymentError as exc:
        messages.error(request, exc.message)
        return redirect("billing:overview", group_slug=group.slug)
    context = {
        "payment": payment,
        "client_secret": client_secret,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }
    return render(request, "billing/authenticate_payment.html", context)


@never_cache
@require_POST
@group_view(Capability.MANAGE_BILLING)
def finish_authentication(request: HttpRequest, group: ApiGroup, payment_id: int):
    """Settle a purchase from Stripe's word once the browser ran the bank's check."""
    payment = _purchase_of(group, payment_id)
    try:
        payment = payments.finish_authentication(payment)
    except payments.PaymentPending as exc:
        messages.info(request, exc.message)
        return redirect("billing:overview", group_slug=group.slug)

    if payment.status == PaymentStatus.REQUIRES_ACTION:
        messages.info(request, "Your bank's check is not finished yet.")
        return _to_authentication(group, payment)
    if payment.status == PaymentStatus.SUCCEEDED:
        _say_credits_added(request, payment)
    elif payment.status == PaymentStatus.FAILED:
        messages.error(request, f"{payment.failure_message} Nothing was charged.")
    else:
        messages.info(request, _resubmitted(payment))
    return redirect("billing:overview", group_slug=group.slug)


def _resubmitted(payment: Payment) -> str:
    amount = format_money(payment.amount_micros)
    if payment.status == PaymentStatus.SUCCEEDED:
        return f"That purchase of {amount} was already made; it was charged once."
    if payment.status == PaymentStatus.FAILED:
        return f"That purchase of {amount} failed earlier; nothing was charged."
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        return f"That purchase of {amount} waits for your bank's check."
    return f"That purchase of {amount} is still being confirmed."


@require_POST
@group_view(Capability.MANAGE_BILLING)
def update_top_up(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    top_up = services.top_up_settings(group.pk)
    form = AutoTopUpForm.for_settings(top_up, request.POST)
    if not form.is_valid():
        return _render_overview(request, group, top_up_form=form, status=400)
    try:
        saved = services.update_auto_top_up(
            group,
            request.user,
            enabled=form.cleaned_data["enabled"],
            threshold_micros=form.cleaned_data["threshold"],
            amount_micros=form.cleaned_data["amount"],
            monthly_cap_micros=form.cleaned_data["monthly_cap"],
        )
    except services.BillingError as exc:
        form.add_error(None, str(exc))
        return _render_overview(request, group, top_up_form=form, status=400)
    state = "on" if saved.enabled else "off"
    messages.success(request, f"Automatic top-up saved; it is {state}.")
    return redirect("billing:overview", group_slug=group.slug)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's deliveries: 400 for a bad signature, 200 for anything handled."""
    try:
        event = stripe.Webhook.construct_event(
            request.body,
            request.headers.get("Stripe-Signature", ""),
            settings.STRIPE_WEBHOOK_SECRET,
        )
    except (ValueError, stripe.SignatureVerificationError):
        logger.warning("stripe webhook refused: bad payload or signature")
        return HttpResponse("bad signature", status=400, content_type="text/plain")
    handle_event(event)
    return HttpResponse("ok", content_type="text/plain")
