import re
from datetime import datetime

import pytest

from apikeys.models import ApiKey, KeyStatus
from apikeys.secrets import hash_key
from apikeys.services import issue_key, regenerate_key
from groups.models import AuditAction, AuditEntry
from tests.api_helpers import fund


@pytest.fixture
def key(group, admin_user):
    return issue_key(group, admin_user, "production").key


def _secret_in(response) -> str:
    match = re.search(
        r'<code id="new-api-key">([^<]+)</code>', response.content.decode()
    )
    assert match, "the new secret is on the page"
    return match.group(1)


def test_keys_page_for_admin_member_and_outsider(
    group, key, admin_client, member_client, outsider_client, client
):
    fund(group)
    url = f"/g/{group.slug}/keys/"
    admin_page = admin_client.get(url)
    assert admin_page.status_code == 200
    assert key.last_four in admin_page.content.decode()
    assert "Revoke" in admin_page.content.decode()
    member_page = member_client.get(url)
    assert member_page.status_code == 200
    text = member_page.content.decode()
    assert "production" in text and key.last_four in text
    assert "Revoke" not in text and "Create key" not in text
    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_keys_show_blocked_when_the_group_is_out_of_credits(group, key, member_client):
    page = member_client.get(f"/g/{group.slug}/keys/").content.decode()
    assert "Blocked: out of credits" in page
    fund(group)
    page = member_client.get(f"/g/{group.slug}/keys/").content.decode()
    assert "Blocked" not in page and ">Active<" in page


def _badges(page: str) -> list[str]:
    return re.findall(r'<span class="badge [^"]*">([^<]+)</span>', page)


def test_key_replaced_at_once_is_labelled_replaced_not_revoked(
    group, key, admin_client
):
    fund(group)
    new = regenerate_key(key, None, grace_minutes=0).key
    by_hand = issue_key(group, None, "staging").key
    admin_client.post(f"/g/{group.slug}/keys/{by_hand.pk}/revoke/")
    listing = admin_client.get(f"/g/{group.slug}/keys/").content.decode()
    assert sorted(_badges(listing)) == ["Active", "Replaced", "Revoked"]
    page = admin_client.get(f"/g/{group.slug}/keys/{key.pk}/").content.decode()
    assert _badges(page) == ["Replaced"]
    assert ">Stopped</th>" in page and ">Revoked</th>" not in page
    assert f'/keys/{new.pk}/">{new.display_name}</a>' in page
    page = admin_client.get(f"/g/{group.slug}/keys/{by_hand.pk}/").content.decode()
    assert _badges(page) == ["Revoked"] and ">Revoked</th>" in page


def test_admin_creates_a_key_and_sees_the_secret_once(group, admin_client):
    url = f"/g/{group.slug}/keys/new/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"name": "ci runner"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = _secret_in(response)
    assert 'data-copy-target="new-api-key"' in response.content.decode()
    key = ApiKey.objects.get(group=group, name="ci runner")
    assert key.secret_hash == hash_key(secret)
    listing = admin_client.get(f"/g/{group.slug}/keys/").content.decode()
    detail = admin_client.get(f"/g/{group.slug}/keys/{key.pk}/").content.decode()
    assert secret not in listing and secret not in detail
    assert AuditEntry.objects.filter(action=AuditAction.KEY_CREATED).count() == 1


def test_submitting_the_create_form_again_makes_no_second_key(group, admin_client):
    url = f"/g/{group.slug}/keys/new/"
    form = {"name": "ci runner", "form_token": "e" * 32}
    first_secret = _secret_in(admin_client.post(url, form))
    again = admin_client.post(url, form, follow=True)
    key = ApiKey.objects.get(group=group)
    assert again.redirect_chain[-1][0] == f"/g/{group.slug}/keys/{key.pk}/"
    page = again.content.decode()
    assert "already created ci runner" in page
    assert first_secret not in page
    # A fresh form is a fresh key.
    admin_client.post(url, {"name": "ci runner", "form_token": "f" * 32})
    assert ApiKey.objects.filter(group=group).count() == 2


def test_create_without_a_name_shows_the_error_and_creates_nothing(group, admin_client):
    response = admin_client.post(f"/g/{group.slug}/keys/new/", {"name": "  "})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert not ApiKey.objects.exists()


def test_key_name_with_a_bidi_control_is_refused_next_to_the_field(group, admin_client):
    response = admin_client.post(
        f"/g/{group.slug}/keys/new/", {"name": "prod\u202etxt.exe"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    block = html.split('for="id_name"')[1].split('<div class="field')[0]
    assert "Remove the invisible text-direction characters (U+202E)" in block
    assert not ApiKey.objects.exists()


def test_member_and_outsider_cannot_create_revoke_or_regenerate(
    group, key, member_client, outsider_client
):
    base = f"/g/{group.slug}/keys"
    for client, status in ((member_client, 403), (outsider_client, 404)):
        assert client.post(f"{base}/new/", {"name": "x"}).status_code == status
        assert client.post(f"{base}/{key.pk}/revoke/").status_code == status
        assert client.post(f"{base}/{key.pk}/regenerate/").status_code == status
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE
    assert ApiKey.objects.count() == 1


def test_admin_revokes_a_key(group, key, admin_client):
    response = admin_client.post(f"/g/{group.slug}/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED
    assert admin_client.get(f"/g/{group.slug}/keys/{key.pk}/").status_code == 200


def test_key_revoked_in_its_grace_period_shows_no_stop_time_ahead(
    group, key, admin_client
):
    regenerate_key(key, None, grace_minutes=60)
    admin_client.post(f"/g/{group.slug}/keys/{key.pk}/revoke/")
    key.refresh_from_db()
    page = admin_client.get(f"/g/{group.slug}/keys/{key.pk}/").content.decode()
    shown = re.findall(r'<time datetime="([^"]+)"', page)
    assert shown
    assert max(map(datetime.fromisoformat, shown)) <= key.revoked_at
    assert "Revoke key" not in page


def test_revoke_is_post_only(group, key, admin_client):
    assert admin_client.get(f"/g/{group.slug}/keys/{key.pk}/revoke/").status_code == 405
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE


def test_admin_regenerates_with_a_grace_period(group, key, admin_client):
    url = f"/g/{group.slug}/keys/{key.pk}/regenerate/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"grace_minutes": "60"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = _secret_in(response)
    new = ApiKey.objects.get(secret_hash=hash_key(secret))
    key.refresh_from_db()
    assert new.name == key.name and key.replaced_by == new
    assert key.status == KeyStatus.ACTIVE and key.expires_at is not None
    assert "keeps working until" in response.content.decode()


def test_regenerating_a_replaced_key_names_the_key_to_regenerate(
    group, key, admin_client
):
    new = regenerate_key(key, None, grace_minutes=60).key
    url = f"/g/{group.slug}/keys/{key.pk}/regenerate/"
    response = admin_client.post(url, {"grace_minutes": "0"}, follow=True)
    text = response.content.decode()
    assert (
        f"This key was already replaced by {new.display_name}; "
        "regenerate that key instead."
    ) in text
    assert ApiKey.objects.count() == 2


def test_regenerating_a_revoked_key_says_to_create_a_new_one(group, key, admin_client):
    admin_client.post(f"/g/{group.slug}/keys/{key.pk}/revoke/")
    url = f"/g/{group.slug}/keys/{key.pk}/regenerate/"
    response = admin_client.post(url, {"grace_minutes": "0"}, follow=True)
    assert (
        "This key is revoked, so it cannot be regenerated; create a new key instead."
        in response.content.decode()
    )
    assert ApiKey.objects.count() == 1


def test_regenerate_refuses_an_unknown_grace_period(group, key, admin_client):
    url = f"/g/{group.slug}/keys/{key.pk}/regenerate/"
    response = admin_client.post(url, {"grace_minutes": "7"})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_key_detail_for_admin_member_and_outsider(
    group, key, admin_user, admin_client, member_client, outsider_client
):
    new = regenerate_key(key, admin_user).key
    url = f"/g/{group.slug}/keys/{key.pk}/"
    page = admin_client.get(url).content.decode()
    assert "Replaced by" in page and new.display_name in page
    member_page = member_client.get(url)
    assert member_page.status_code == 200
    assert "Revoke key" not in member_page.content.decode()
    assert outsider_client.get(url).status_code == 404


def test_key_page_says_plainly_that_last_use_is_kept_to_the_minute(
    group, key, member_client
):
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=key.created_at)
    page = member_client.get(f"/g/{group.slug}/keys/{key.pk}/").content.decode()
    assert "(to the minute)" not in page
    assert "Last use is recorded to the minute." in page


def test_another_groups_key_is_not_found(group, admin_client, outsider):
    from groups.models import Membership

    other_group = Membership.objects.get(user=outsider).group
    foreign = issue_key(other_group, outsider, "theirs").key
    url = f"/g/{group.slug}/keys/{foreign.pk}/"
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url + "revoke/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == KeyStatus.ACTIVE
