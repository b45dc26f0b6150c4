"""Emails to a group's admins about its credits, each sent at most once.

Each alert is claimed first: a flag on the billing account per episode (one
low-balance email per crossing below the threshold, one "keys blocked" email per
exhaustion), then a BillingNotice row with a unique key, whose `sent_at` is claimed
again by the task that sends it. Running any of these twice sends nothing twice.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from billing.models import AutoTopUp, BillingAccount, BillingNotice, NoticeKind
from groups.models import ApiGroup, Membership, Role
from portal.money import format_money

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD_MICROS = AutoTopUp._meta.get_field("threshold_micros").default

# Keyed by the kind as stored (a NoticeKind is its str value).
SUBJECTS: dict[str, str] = {
    NoticeKind.LOW_BALANCE: "Low balance in {group}: {balance}",
    NoticeKind.KEYS_BLOCKED: "Keys blocked: out of credits in {group}",
    NoticeKind.TOP_UP_FAILED: "Automatic top-up failed for {group}",
    NoticeKind.TOP_UP_DISABLED: "Automatic top-up turned off for {group}",
}


def threshold_of(group_id: int) -> int:
    threshold = (
        AutoTopUp.objects.filter(pk=group_id)
        .values_list("threshold_micros", flat=True)
        .first()
    )
    return DEFAULT_THRESHOLD_MICROS if threshold is None else threshold


def create_notice(group_id: int, kind: str, *, key: str = "", payment=None):
    """Write a notice and send it after commit; a repeated key writes nothing."""
    dedupe_key = f"{kind}:{key or f'payment-{payment.pk}'}"
    balance = (
        BillingAccount.objects.filter(pk=group_id)
        .values_list("balance_micros", flat=True)
        .first()
    )
    try:
        with transaction.atomic():
            notice = BillingNotice.objects.create(
                group_id=group_id,
                kind=kind,
                dedupe_key=dedupe_key,
                payment=payment,
                balance_micros=balance or 0,
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _enqueue_send(notice.pk))
    return notice


def _enqueue_send(notice_id: int) -> None:
    from billing.tasks import send_notice

    send_notice.delay(notice_id)


def alert_keys_blocked(group_id: int, entry_id: int) -> BillingNotice | None:
    """Tell admins the keys stopped, once per exhaustion, if still exhausted."""
    with transaction.atomic():
        claimed = BillingAccount.objects.filter(
            pk=group_id, exhausted_alerted=False, balance_micros__lte=0
        ).update(exhausted_alerted=True)
        if not claimed:
            return None
        logger.info("keys blocked group=%s entry=%s", group_id, entry_id)
        return create_notice(group_id, NoticeKind.KEYS_BLOCKED, key=f"entry-{entry_id}")


def alert_low_balance(group_id: int, entry_id: int) -> BillingNotice | None:
    """Tell admins the balance fell below the threshold, once per crossing."""
    threshold = threshold_of(group_id)
    with transaction.atomic():
        claimed = BillingAccount.objects.filter(
            pk=group_id, low_balance_alerted=False, balance_micros__lt=threshold
        ).update(low_balance_alerted=True)
        if not claimed:
            return None
        return create_notice(group_id, NoticeKind.LOW_BALANCE, key=f"entry-{entry_id}")


def rearm_alerts(group_id: int, balance_micros: int) -> None:
    """Credits arrived: the next exhaustion or crossing deserves a new email."""
    accounts = BillingAccount.objects.filter(pk=group_id)
    if balance_micros > 0:
        accounts.filter(exhausted_alerted=True).update(exhausted_alerted=False)
    if balance_micros >= threshold_of(group_id):
        accounts.filter(low_balance_alerted=True).update(low_balance_alerted=False)


def admin_emails(group_id: int) -> list[str]:
    return list(
        Membership.objects.filter(group_id=group_id, role=Role.ADMIN)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def send_notice(notice_id: int) -> bool:
    """Send one notice's email; True only for the call that sent it."""
    claimed = BillingNotice.objects.filter(pk=notice_id, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return False
    notice = BillingNotice.objects.select_related("group", "payment").get(pk=notice_id)
    try:
        _send(notice)
    except Exception:
        # Give the notice back so that a retry can send it.
        BillingNotice.objects.filter(pk=notice_id).update(sent_at=None)
        raise
    logger.info(
        "billing notice sent notice=%s group=%s kind=%s",
        notice.pk,
        notice.group_id,
        notice.kind,
    )
    return True


def _send(notice: BillingNotice) -> None:
    recipients = admin_emails(notice.group_id)
    if not recipients:
        return
    group: ApiGroup = notice.group
    context = {
        "notice": notice,
        "group": group,
        "balance": format_money(notice.balance_micros),
        "top_up": AutoTopUp.objects.filter(pk=group.pk).first(),
        "billing_url": settings.PORTAL_BASE_URL
        + reverse("billing:overview", args=[group.slug]),
        "portal_name": settings.PORTAL_NAME,
    }
    subject = SUBJECTS[notice.kind].format(group=group.name, balance=context["balance"])
    body = render_to_string(f"billing/email/{notice.kind}.txt", context)
    send_mail(
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body,
        None,
        recipients,
    )
