import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from members import tokens
from members.models import Invitation, InvitationStatus
from members.services import invitation_url

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    max_retries=6,
)
def send_invitation_email(invitation_id: int) -> None:
    """Email the invitation's current link, once per link (safe to run twice)."""
    claimed = Invitation.objects.filter(
        pk=invitation_id,
        status=InvitationStatus.PENDING,
        email_sent_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(email_sent_at=timezone.now())
    if claimed != 1:
        return
    invitation = Invitation.objects.select_related("group", "invited_by").get(
        pk=invitation_id
    )
    if not tokens.token_matches(invitation.nonce, invitation.token_hash):
        # SECRET_KEY changed since the link was issued: an admin must resend.
        logger.warning("invitation link unrecoverable invitation=%s", invitation_id)
        return
    try:
        _send(invitation)
    except Exception:
        # Release the claim so that the retry sends it.
        Invitation.objects.filter(pk=invitation_id).update(email_sent_at=None)
        raise
    logger.info("invitation emailed invitation=%s", invitation_id)


def _send(invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "group": invitation.group,
        "inviter": invitation.invited_by,
        "url": invitation_url(invitation),
        "portal_name": settings.PORTAL_NAME,
    }
    subject = render_to_string("members/email/invitation_subject.txt", context)
    body = render_to_string("members/email/invitation_message.txt", context)
    send_mail(
        " ".join(subject.split()),
        body,
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
    )
