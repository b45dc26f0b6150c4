from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from apikeys import demo
from apikeys.models import ApiKey, KeyStatus
from apikeys.secrets import hash_key
from apikeys.services import KeyStateError, issue_key, regenerate_key, revoke_key
from groups.models import AuditAction, AuditEntry


def test_issue_key_stores_only_the_hash_and_audits(group, admin_user):
    issued = issue_key(group, admin_user, "  backend  ")
    key = ApiKey.objects.get(pk=issued.key.pk)
    assert key.name == "backend"
    assert key.secret_hash == hash_key(issued.secret)
    assert key.last_four == issued.secret[-4:]
    assert key.created_by == admin_user
    assert not ApiKey.objects.filter(secret_hash=issued.secret).exists()
    audit = AuditEntry.objects.get(group=group, action=AuditAction.KEY_CREATED)
    assert audit.actor == admin_user
    assert audit.target == key.display_name
    assert issued.secret not in str(audit.changes)


def test_a_key_needs_a_name(group, admin_user):
    with pytest.raises(KeyStateError):
        issue_key(group, admin_user, "   ")
    assert not ApiKey.objects.exists()


def test_revoke_key_stops_it_and_audits(group, admin_user):
    key = issue_key(group, admin_user, "k").key
    revoke_key(key, admin_user)
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED and key.revoked_at is not None
    assert not key.is_usable()
    audit = AuditEntry.objects.get(action=AuditAction.KEY_REVOKED)
    assert audit.changes == {"status": ["active", "revoked"]}
    with pytest.raises(KeyStateError):
        revoke_key(key, admin_user)
    assert AuditEntry.objects.filter(action=AuditAction.KEY_REVOKED).count() == 1


def test_revoking_a_key_in_its_grace_period_stops_it_now(group, admin_user):
    old = issue_key(group, admin_user, "prod").key
    regenerate_key(old, admin_user, grace_minutes=60)
    old.refresh_from_db()
    grace_end = old.expires_at
    revoke_key(old, admin_user)
    old.refresh_from_db()
    assert old.expires_at == old.revoked_at < grace_end
    audit = AuditEntry.objects.get(action=AuditAction.KEY_REVOKED)
    assert audit.changes == {
        "status": ["active", "revoked"],
        "expires_at": [grace_end.isoformat(), old.revoked_at.isoformat()],
    }


def test_a_key_whose_grace_period_ended_cannot_be_revoked(group, admin_user):
    old = issue_key(group, admin_user, "prod").key
    regenerate_key(old, admin_user, grace_minutes=5)
    old.refresh_from_db()
    after = old.expires_at + timedelta(minutes=1)
    with (
        time_machine.travel(after, tick=False),
        pytest.raises(KeyStateError, match="already stopped"),
    ):
        revoke_key(old, admin_user)
    old.refresh_from_db()
    assert old.status == KeyStatus.ACTIVE and old.revoked_at is None
    assert not AuditEntry.objects.filter(action=AuditAction.KEY_REVOKED).exists()


def test_regenerate_without_grace_revokes_the_old_key(group, admin_user):
    old = issue_key(group, admin_user, "prod").key
    issued = regenerate_key(old, admin_user)
    old.refresh_from_db()
    assert issued.key.name == "prod" and issued.key.is_usable()
    assert old.status == KeyStatus.REVOKED
    assert old.replaced_by == issued.key
    audit = AuditEntry.objects.get(action=AuditAction.KEY_REGENERATED)
    assert audit.changes["last_four"] == [old.last_four, issued.key.last_four]


def test_regenerate_with_grace_keeps_the_old_key_until_it_expires(group, admin_user):
    old = issue_key(group, admin_user, "prod").key
    before = timezone.now()
    regenerate_key(old, admin_user, grace_minutes=60)
    old.refresh_from_db()
    assert old.status == KeyStatus.ACTIVE
    assert old.expires_at >= before + timedelta(minutes=60)
    assert old.is_usable()
    assert not old.is_usable(old.expires_at)
    with pytest.raises(KeyStateError):
        regenerate_key(old, admin_user)


def test_a_revoked_key_cannot_be_regenerated(group, admin_user):
    key = issue_key(group, admin_user, "k").key
    revoke_key(key, admin_user)
    with pytest.raises(KeyStateError):
        regenerate_key(key, admin_user)
    assert ApiKey.objects.count() == 1


def test_issue_api_key_command_prints_the_secret_last(group, capsys):
    call_command("issue_api_key", "--group", group.slug, "--name", "ci")
    out = capsys.readouterr().out.strip().splitlines()
    secret = out[-1]
    key = ApiKey.objects.get(group=group, name="ci")
    assert key.secret_hash == hash_key(secret)
    assert key.created_by is None
    audit = AuditEntry.objects.get(action=AuditAction.KEY_CREATED)
    assert audit.actor_display == "operator"


@pytest.mark.django_db
def test_issue_api_key_command_refuses_an_unknown_group():
    with pytest.raises(CommandError, match="No API group"):
        call_command("issue_api_key", "--group", "nope", "--name", "ci")
    assert not ApiKey.objects.exists()


def test_issue_api_key_command_refuses_an_empty_name(group):
    with pytest.raises(CommandError, match="name"):
        call_command("issue_api_key", "--group", group.slug, "--name", " ")


def test_demo_issues_its_key_once_and_shows_the_secret_only_then(group, admin_user):
    lines: list[str] = []
    demo.seed(group, admin_user, lines.append)
    demo.seed(group, admin_user, lines.append)
    key = ApiKey.objects.get(group=group)
    assert len(lines) == 2
    secret = lines[0].rsplit(" ", 1)[-1]
    assert key.secret_hash == hash_key(secret)
    assert "apk_" not in lines[1]
