import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from groups.access import resolve_membership
from groups.models import ROLE_CAPABILITIES, Capability, Role


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_admin_has_every_capability_and_member_only_views():
    assert ROLE_CAPABILITIES[Role.ADMIN] == set(Capability.values)
    assert ROLE_CAPABILITIES[Role.MEMBER] == {
        Capability.VIEW_KEYS,
        Capability.VIEW_MEMBERS,
        Capability.LEAVE_GROUP,
        Capability.VIEW_USAGE,
        Capability.VIEW_LIMITS,
        Capability.VIEW_SETTINGS,
    }


def test_admin_resolves_for_an_admin_capability(group, admin_user):
    membership = resolve_membership(
        _request(admin_user), group.slug, Capability.MANAGE_KEYS
    )
    assert membership.group == group
    assert membership.user == admin_user


def test_member_gets_403_for_an_admin_capability(group, member_user):
    assert resolve_membership(_request(member_user), group.slug, Capability.VIEW_USAGE)
    with pytest.raises(PermissionDenied):
        resolve_membership(_request(member_user), group.slug, Capability.MANAGE_KEYS)


def test_outsider_gets_404_whatever_the_capability(group, outsider):
    for capability in (Capability.VIEW_USAGE, Capability.MANAGE_BILLING):
        with pytest.raises(Http404):
            resolve_membership(_request(outsider), group.slug, capability)


@pytest.mark.django_db
def test_unknown_group_is_indistinguishable_from_someone_elses(outsider):
    with pytest.raises(Http404):
        resolve_membership(_request(outsider), "no-such-group", Capability.VIEW_USAGE)


def test_group_overview_for_admin_member_and_outsider(
    group, admin_client, member_client, outsider_client, client
):
    url = f"/g/{group.slug}/"
    assert admin_client.get(url).status_code == 200
    assert member_client.get(url).status_code == 200
    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302  # anonymous: to the login page


def test_home_sends_a_user_without_groups_to_create_one(outsider_client, db):
    from tests.factories import UserFactory

    lonely = UserFactory()
    outsider_client.force_login(lonely)
    response = outsider_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/groups/new/"


def test_home_returns_to_the_group_opened_last(group, admin_user, admin_client):
    from tests.factories import MembershipFactory

    second = MembershipFactory(user=admin_user, role=Role.ADMIN).group
    admin_client.get(f"/g/{second.slug}/")
    assert admin_client.get("/")["Location"] == f"/g/{second.slug}/"
    admin_client.get(f"/g/{group.slug}/")
    assert admin_client.get("/")["Location"] == f"/g/{group.slug}/"
