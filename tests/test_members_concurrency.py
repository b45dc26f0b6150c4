"""Races on PostgreSQL: the last admin, and one link accepted twice at once."""

import threading
from functools import partial

import pytest
from django.db import connection

from groups.models import AuditAction, AuditEntry, Membership, Role
from members import services
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 15


def _race(*actions):
    """Run the actions in threads released together; return what each raised."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            action()
            outcomes[index] = "ok"
        except services.MembershipError as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, action))
        for i, action in enumerate(actions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _group_with_two_admins():
    group = GroupFactory()
    first = MembershipFactory(group=group, role=Role.ADMIN)
    second = MembershipFactory(group=group, role=Role.ADMIN)
    return group, first, second


def _admins(group):
    return Membership.objects.filter(group=group, role=Role.ADMIN).count()


def test_two_admins_leaving_at_once_leave_one_admin(postgres):
    for _ in range(ROUNDS):
        group, first, second = _group_with_two_admins()
        outcomes = _race(
            partial(services.leave_group, group, first.user),
            partial(services.leave_group, group, second.user),
        )
        assert outcomes.count("ok") == 1, outcomes
        assert _admins(group) == 1


def test_two_admins_demoting_each_other_at_once_leave_one_admin(postgres):
    for _ in range(ROUNDS):
        group, first, second = _group_with_two_admins()
        outcomes = _race(
            partial(services.change_role, group, first.user, second.pk, Role.MEMBER),
            partial(services.change_role, group, second.user, first.pk, Role.MEMBER),
        )
        assert outcomes.count("ok") == 1, outcomes
        assert _admins(group) == 1


def test_removing_each_other_and_demoting_self_at_once_leave_one_admin(postgres):
    for _ in range(ROUNDS):
        group, first, second = _group_with_two_admins()
        outcomes = _race(
            partial(services.remove_member, group, first.user, second.pk),
            partial(services.change_role, group, second.user, second.pk, Role.MEMBER),
            partial(services.remove_member, group, second.user, first.pk),
        )
        assert "ok" in outcomes
        assert _admins(group) >= 1


def test_one_link_accepted_twice_at_once_makes_one_membership(postgres):
    for n in range(ROUNDS):
        group, admin, _ = _group_with_two_admins()
        email = f"racer{n}@example.com"
        invitation = services.invite_member(group, admin.user, email, Role.MEMBER)
        user = UserFactory(email=email)
        outcomes = _race(
            partial(services.accept_invitation, invitation, user),
            partial(services.accept_invitation, invitation, user),
        )
        assert outcomes.count("ok") == 1, outcomes
        assert Membership.objects.filter(group=group, user=user).count() == 1
        joined = AuditEntry.objects.filter(
            group=group, action=AuditAction.MEMBER_JOINED
        )
        assert joined.count() == 1


def test_two_admins_inviting_one_address_at_once_make_one_invitation(postgres):
    for n in range(ROUNDS):
        group, first, second = _group_with_two_admins()
        email = f"twice{n}@example.com"
        outcomes = _race(
            partial(services.invite_member, group, first.user, email, Role.MEMBER),
            partial(services.invite_member, group, second.user, email, Role.ADMIN),
        )
        assert outcomes.count("ok") == 1, outcomes
        assert group.invitations.filter(email=email).count() == 1
