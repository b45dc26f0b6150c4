"""The settings and activity pages, and the create_group command."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from groups.models import ApiGroup, AuditAction, AuditEntry, Membership, Role
from groups.services import record_audit

VALID = {
    "name": "Acme Research",
    "description": "We build things.",
    "address_line1": "1 Main Street",
    "address_line2": "Floor 2",
    "city": "Berlin",
    "region": "Berlin",
    "postal_code": "10115",
    "country": "DE",
    "tax_id": "de123456789",
}


def _settings(group):
    return f"/g/{group.slug}/settings/"


def test_settings_for_admin_member_and_outsider(
    group, admin_client, member_client, outsider_client
):
    admin_html = admin_client.get(_settings(group)).content.decode()
    assert "Save settings" in admin_html
    assert '<option value="DE">Germany</option>' in admin_html

    member_page = member_client.get(_settings(group))
    assert member_page.status_code == 200
    html = member_page.content.decode()
    assert group.name in html
    assert "Save settings" not in html and '<form method="post" novalidate' not in html

    assert outsider_client.get(_settings(group)).status_code == 404


def test_admin_saves_details_and_the_change_is_audited(group, admin_client, admin_user):
    response = admin_client.post(_settings(group), VALID, follow=True)
    assert "Settings saved." in response.content.decode()
    group.refresh_from_db()
    assert group.name == "Acme Research"
    assert group.country.code == "DE"
    assert group.tax_id == "DE123456789"
    entry = AuditEntry.objects.get(group=group, action=AuditAction.SETTINGS_CHANGED)
    assert entry.actor == admin_user
    assert entry.changes["city"] == ["", "Berlin"]


def test_member_cannot_change_settings(group, member_client):
    assert member_client.post(_settings(group), VALID).status_code == 403
    group.refresh_from_db()
    assert group.name != "Acme Research"
    assert not AuditEntry.objects.filter(action=AuditAction.SETTINGS_CHANGED).exists()


def test_outsider_cannot_change_settings(group, outsider_client):
    assert outsider_client.post(_settings(group), VALID).status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "A", "at least two characters"),
        ("postal_code", "10115!", "letters, digits, spaces and hyphens"),
        ("tax_id", "DE<123>", "letters, digits, spaces, dots"),
        ("country", "XX", "Select a valid choice"),
        ("city", "", "Enter the city."),
        ("address_line1", "", "Enter the street address."),
        ("country", "", "Choose the country."),
    ],
)
def test_bad_details_are_refused_next_to_the_field(
    group, admin_client, field, value, message
):
    before = ApiGroup.objects.filter(pk=group.pk).values().get()
    response = admin_client.post(_settings(group), {**VALID, field: value})
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    # The error sits inside the field's own block.
    block = html.split(f'for="id_{field}"')[1].split('<div class="field')[0]
    assert message in block
    assert ApiGroup.objects.filter(pk=group.pk).values().get() == before
    assert not AuditEntry.objects.filter(action=AuditAction.SETTINGS_CHANGED).exists()


def test_saving_without_changes_writes_no_audit_entry(group, admin_client):
    admin_client.post(_settings(group), VALID)
    response = admin_client.post(_settings(group), VALID, follow=True)
    assert "Nothing changed." in response.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.SETTINGS_CHANGED).count() == 1


def _activity(group, query=""):
    return f"/g/{group.slug}/activity/{query}"


def test_activity_for_admin_member_and_outsider(
    group, admin_client, member_client, outsider_client
):
    assert admin_client.get(_activity(group)).status_code == 200
    assert member_client.get(_activity(group)).status_code == 403
    assert outsider_client.get(_activity(group)).status_code == 404


def test_activity_lists_newest_first_with_old_and_new_values(
    group, admin_client, admin_user
):
    record_audit(group, admin_user, AuditAction.MEMBER_INVITED, target="first@x.test")
    record_audit(
        group,
        admin_user,
        AuditAction.SETTINGS_CHANGED,
        changes={"postal_code": ["", "10115"]},
    )
    html = admin_client.get(_activity(group)).content.decode()
    assert html.index("Settings changed") < html.index("Member invited")
    assert "Postal code" in html and "<ins>10115</ins>" in html


def test_activity_shows_amounts_in_dollars_and_switches_as_on_or_off(
    group, admin_client, admin_user
):
    record_audit(
        group,
        admin_user,
        AuditAction.AUTO_TOP_UP_CHANGED,
        changes={
            "enabled": ["False", "True"],
            "threshold_micros": ["5000000", "12500000"],
        },
    )
    html = admin_client.get(_activity(group)).content.decode()
    assert "Threshold:" in html and "micros" not in html
    assert "<del>$5.00</del> → <ins>$12.50</ins>" in html
    assert "<del>off</del> → <ins>on</ins>" in html


def test_activity_shows_plain_amounts_in_dollars_and_kinds_by_label(
    group, admin_client, admin_user
):
    record_audit(
        group,
        None,
        AuditAction.RECEIPT_ISSUED,
        target="R-1",
        changes={"kind": "auto_top_up", "amount_micros": 20_000_000, "ledger_entry": 7},
    )
    record_audit(
        group, None, AuditAction.INVOICE_ISSUED, changes={"total_micros": 5_791_670}
    )
    html = admin_client.get(_activity(group)).content.decode()
    assert "Amount:</span> $20.00" in html and "20000000" not in html
    assert "Kind:</span> Automatic top-up" in html
    assert "Total:</span> $5.791670" in html
    assert "Ledger entry:</span> 7" in html


def test_activity_shows_audited_times_in_the_viewers_time_zone(
    group, admin_client, admin_user
):
    record_audit(
        group,
        admin_user,
        AuditAction.KEY_REGENERATED,
        changes={"old_key_stops_at": [None, "2026-05-01T12:30:00.123456+00:00"]},
    )
    admin_client.cookies["portal_tz"] = "Asia/Kolkata"
    html = admin_client.get(_activity(group)).content.decode()
    assert "<ins>1 May 2026, 18:00</ins>" in html
    assert "<ins>2026-05-01T" not in html


def test_activity_shows_a_change_named_like_a_relation_of_the_group(
    group, admin_client, admin_user
):
    # Model limits are audited under the model's name, which may be anything.
    record_audit(
        group, admin_user, AuditAction.LIMITS_CHANGED, changes={"limits": [None, 5]}
    )
    html = admin_client.get(_activity(group)).content.decode()
    assert "Limits:" in html and "<ins>5</ins>" in html


def test_an_operator_grant_reads_in_dollars_and_cents_in_the_activity_log(
    group, admin_client
):
    from billing.services import grant_credits

    grant_credits(group, 25_000_000, "Welcome")
    html = admin_client.get(_activity(group)).content.decode()
    assert "Amount:</span> $25.00" in html
    assert "<del>$0.00</del> → <ins>$25.00</ins>" in html


def test_activity_filters_by_action_across_pages(group, admin_client, admin_user):
    for n in range(60):
        record_audit(group, admin_user, AuditAction.ROLE_CHANGED, target=f"r{n}@x")
    record_audit(group, admin_user, AuditAction.MEMBER_LEFT, target="left@x")

    page = admin_client.get(_activity(group, "?action=member.role_changed"))
    html = page.content.decode()
    assert "left@x" not in html
    assert "Page 1 of 2" in html
    assert "?action=member.role_changed&amp;page=2" in html
    second = admin_client.get(_activity(group, "?action=member.role_changed&page=2"))
    assert b"left@x" not in second.content and b"r0@x" in second.content

    only_left = admin_client.get(_activity(group, "?action=member.left")).content
    assert b"left@x" in only_left and b"r0@x" not in only_left


def test_activity_ignores_an_unknown_action(group, admin_client, admin_user):
    record_audit(group, admin_user, AuditAction.MEMBER_LEFT, target="left@x")
    response = admin_client.get(_activity(group, "?action=nonsense"))
    assert response.status_code == 200
    assert b"left@x" in response.content


@pytest.mark.django_db
def test_create_group_creates_the_admin_and_prints_the_slug_last(capsys):
    call_command(
        "create_group", "--name", "Acme Corp", "--admin-email", "Ops@Acme.test"
    )
    lines = capsys.readouterr().out.strip().splitlines()
    group = ApiGroup.objects.get(slug=lines[-1])
    assert group.name == "Acme Corp"
    user = get_user_model().objects.get(email="ops@acme.test")
    assert not user.has_usable_password()
    assert Membership.objects.get(group=group, user=user).role == Role.ADMIN
    assert any("/accounts/password/reset/key/" in line for line in lines)


@pytest.mark.django_db
def test_create_group_reuses_an_existing_user(capsys, admin_user):
    call_command("create_group", "--name", "Second", "--admin-email", admin_user.email)
    out = capsys.readouterr().out
    assert "already has an account" in out
    assert "/accounts/password/reset/" not in out
    slug = out.strip().splitlines()[-1]
    assert Membership.objects.get(group__slug=slug).user == admin_user


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "email", "message"),
    [
        ("A", "ok@example.com", "--name must be at least two characters"),
        ("Acme", "not-an-email", "--admin-email 'not-an-email' is not valid"),
        ("x" * 121, "ok@example.com", "at most 120 characters"),
    ],
)
def test_create_group_refuses_bad_input(name, email, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_group", "--name", name, "--admin-email", email)
    assert not ApiGroup.objects.exists()
    assert not get_user_model().objects.exists()


def test_create_group_exits_non_zero_with_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "create_group", "--name", "Acme"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("the following arguments are required: --admin-email")
    )


BIDI_ERROR = "Remove the invisible text-direction characters (U+202E)"


def test_group_settings_refuse_a_name_with_a_bidi_control(group, admin_client):
    response = admin_client.post(_settings(group), {**VALID, "name": "Acme\u202eexe"})
    html = response.content.decode()
    assert response.status_code == 200
    assert BIDI_ERROR in html.split('for="id_name"')[1].split('<div class="field')[0]
    group.refresh_from_db()
    assert "\u202e" not in group.name


def test_new_group_with_a_bidi_control_in_its_name_is_refused(admin_client):
    before = ApiGroup.objects.count()
    response = admin_client.post("/groups/new/", {"name": "\u2067Acme\u2069 Labs"})
    assert response.status_code == 200
    assert (
        "Remove the invisible text-direction characters (U+2067, U+2069)"
        in response.content.decode()
    )
    assert ApiGroup.objects.count() == before
