"""Admins hear about a new invoice after it is committed, once, with a link only."""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from billing.ledger import post_entry
from billing.models import LedgerKind
from groups.models import Role
from invoices.emails import email_invoice_issued
from invoices.models import Invoice
from invoices.services import issue_invoice
from invoices.tasks import issue_monthly_invoices, send_invoice_email
from tests.factories import ApiKeyFactory, MembershipFactory
from tests.invoicing import use_api

MARCH = date(2026, 3, 1)


@pytest.fixture
def used_in_march(group):
    post_entry(group.pk, LedgerKind.GRANT, 10_000_000, actor_label="operator")
    use_api(ApiKeyFactory(group=group), "sonar", datetime(2026, 3, 4, tzinfo=UTC))
    return group


@override_settings(PORTAL_BASE_URL="https://portal.example.com")
@pytest.mark.usefixtures("used_in_march", "member_user")
def test_admins_are_emailed_after_commit_with_a_link_and_no_pdf(
    group, admin_user, django_capture_on_commit_callbacks
):
    second_admin = MembershipFactory(group=group, role=Role.ADMIN).user
    with django_capture_on_commit_callbacks() as callbacks:
        invoice = issue_invoice(group.pk, MARCH, actor_label="test")
        assert mail.outbox == []
    for callback in callbacks:
        callback()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [admin_user.email, second_admin.email]
    )
    message = mail.outbox[0]
    assert invoice.number in message.subject and "March 2026" in message.subject
    link = f"https://portal.example.com/g/{group.slug}/invoices/{invoice.number}/"
    assert link in message.body
    assert link in message.alternatives[0][0]
    assert message.attachments == []
    assert "/pdf/" not in message.body


@pytest.mark.usefixtures("used_in_march")
def test_no_email_when_the_invoice_is_rolled_back(
    group, admin_user, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        issue_invoice(group.pk, MARCH, actor_label="test")
        raise RuntimeError("boom")
    assert callbacks == []
    assert mail.outbox == []
    assert not Invoice.objects.exists()


@pytest.mark.usefixtures("used_in_march", "admin_user")
def test_the_email_task_run_twice_sends_once(group):
    invoice = issue_invoice(group.pk, MARCH, actor_label="test")
    assert send_invoice_email.delay(invoice.pk).get() == 1
    assert send_invoice_email.delay(invoice.pk).get() == 0
    assert len(mail.outbox) == 1


@pytest.mark.usefixtures("used_in_march", "admin_user")
def test_a_failed_send_is_retried_by_the_next_run(group):
    invoice = issue_invoice(group.pk, MARCH, actor_label="test")
    with (
        mock.patch(
            "invoices.emails.get_connection",
            side_effect=ConnectionRefusedError("smtp down"),
        ),
        pytest.raises(ConnectionRefusedError),
    ):
        email_invoice_issued(invoice.pk)
    invoice.refresh_from_db()
    assert invoice.emailed_at is None

    later = invoice.issued_at + timedelta(hours=6)
    with time_machine.travel(later, tick=False):
        issue_monthly_invoices.delay("2026-03").get()
    assert len(mail.outbox) == 1
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None
