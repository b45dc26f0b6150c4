import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from groups.models import ApiGroup, Membership


def _fail_login(client, email):
    return client.post(
        "/accounts/login/", {"login": email, "password": "wrong-password"}
    )


def test_repeated_failed_logins_are_throttled(client, admin_user):
    for _ in range(5):
        assert "not correct" in _fail_login(client, admin_user.email).content.decode()
    response = _fail_login(client, admin_user.email)
    assert "Too many failed login attempts" in response.content.decode()
    # Even the right password is refused while throttled.
    response = client.post(
        "/accounts/login/",
        {"login": admin_user.email, "password": "a-long-test-password-1"},
    )
    assert "_auth_user_id" not in client.session


def test_login_pages_use_the_portal_layout(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert 'class="topbar"' in html
    assert "css/portal.css" in html


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "admin@example.com / password: portal-demo-2026" in out
    assert ApiGroup.objects.filter(slug="demo").count() == 1
    assert Membership.objects.filter(group__slug="demo").count() == 1


@pytest.mark.django_db
def test_seeding_again_keeps_the_demo_admins_password_and_sessions(client):
    call_command("seed_demo")
    admin = get_user_model().objects.get(email="admin@example.com")
    admin.set_password("changed-in-the-portal")
    admin.save()
    client.force_login(admin)

    call_command("seed_demo")

    admin.refresh_from_db()
    assert admin.check_password("changed-in-the-portal")
    client.get("/")  # a request checks the session against the password
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_the_demo_credit_history_starts_with_the_grant_and_never_goes_negative():
    from billing.models import LedgerEntry, LedgerKind

    call_command("seed_demo")
    history = list(
        LedgerEntry.objects.filter(group__slug="demo").order_by("created_at", "id")
    )
    assert history[0].kind == LedgerKind.GRANT
    assert len(history) > 30
    assert all(entry.balance_after_micros >= 0 for entry in history)
    running = 0
    for entry in history:
        running += entry.amount_micros
        assert entry.balance_after_micros == running


@pytest.mark.django_db
def test_the_demo_key_was_made_before_its_first_call():
    from apikeys.models import ApiKey
    from usage.models import UsageEvent

    call_command("seed_demo")
    key = ApiKey.objects.get(group__slug="demo")
    first_call = UsageEvent.objects.filter(api_key=key).order_by("created_at").first()
    assert first_call is not None
    assert key.created_at < first_call.created_at <= key.last_used_at


@pytest.mark.django_db
def test_seed_demo_runs_again_after_the_demo_invitation_was_accepted():
    from members.demo import DEMO_INVITEE
    from tests.factories import UserFactory

    call_command("seed_demo")
    group = ApiGroup.objects.get(slug="demo")
    group.invitations.all().delete()
    Membership.objects.create(group=group, user=UserFactory(email=DEMO_INVITEE))
    call_command("seed_demo")
    assert not group.invitations.exists()
