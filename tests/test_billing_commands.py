"""grant_credits and check_ledger, the operators' commands."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from billing.ledger import get_balance, ledger_mismatches, post_entry
from billing.models import LedgerEntry, LedgerKind
from groups.models import AuditAction, AuditEntry
from portal.money import to_micros
from tests.factories import GroupFactory

pytestmark = pytest.mark.django_db


def test_grant_credits_adds_an_operator_grant(group, capsys):
    call_command("grant_credits", group=group.slug, amount="25.00", note="Welcome")

    entry = LedgerEntry.objects.get(group=group)
    assert (entry.kind, entry.amount_micros) == (LedgerKind.GRANT, 25_000_000)
    assert (entry.actor_label, entry.note) == ("operator", "Welcome")
    assert get_balance(group.pk) == 25_000_000
    audit = AuditEntry.objects.get(group=group, action=AuditAction.CREDITS_GRANTED)
    assert audit.actor_display == "operator"
    assert audit.changes["balance_micros"] == [0, 25_000_000]
    assert "balance now $25.00" in capsys.readouterr().out


def test_negative_amount_is_a_correction(group):
    call_command("grant_credits", group=group.slug, amount="10", note="start")
    call_command("grant_credits", group=group.slug, amount="-3.50", note="fix")

    entry = LedgerEntry.objects.filter(group=group).first()
    assert (entry.kind, entry.amount_micros) == (LedgerKind.ADJUSTMENT, -3_500_000)
    assert get_balance(group.pk) == 6_500_000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"group": "no-such-group", "amount": "5"}, "No group with slug"),
        ({"amount": "five"}, "is not an amount"),
        ({"amount": "1.0000001"}, "is not an amount"),
        ({"amount": "0"}, "must not be zero"),
        ({"amount": "-0.01"}, "would make the balance negative"),
        ({"amount": "5", "note": "   "}, "Say why"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(group, options, message):
    arguments = {"group": group.slug, "note": "test", **options}
    with pytest.raises(CommandError, match=message):
        call_command("grant_credits", **arguments)
    assert not LedgerEntry.objects.exists()
    assert get_balance(group.pk) == 0


def test_check_ledger_passes_when_balances_match(group, capsys):
    post_entry(group.pk, LedgerKind.GRANT, to_micros("5"))
    call_command("check_ledger")
    assert "Every balance equals" in capsys.readouterr().out


def test_check_ledger_names_each_group_that_disagrees(group, capsys):
    other = GroupFactory(slug="other-group")
    post_entry(group.pk, LedgerKind.GRANT, to_micros("5"))
    post_entry(other.pk, LedgerKind.GRANT, to_micros("1"))
    # Someone edits a balance behind the ledger's back.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE billing_billingaccount SET balance_micros = 7 WHERE group_id = %s",
            [other.pk],
        )

    with pytest.raises(CommandError, match="1 group"):
        call_command("check_ledger")

    out = capsys.readouterr().out
    assert "other-group" in out and "stored $0.000007" in out
    assert group.slug not in out
    assert [m.group_id for m in ledger_mismatches()] == [other.pk]


def test_a_group_with_no_entries_and_no_balance_agrees(group):
    assert ledger_mismatches() == []


def test_demo_seed_grants_25_once(group, admin_user):
    from billing import demo

    lines: list[str] = []
    demo.seed(group, admin_user, lines.append)
    demo.seed(group, admin_user, lines.append)

    assert get_balance(group.pk) == 25_000_000
    assert LedgerEntry.objects.filter(group=group, kind=LedgerKind.GRANT).count() == 1
    assert len(lines) == 1
