"""The members part of the demo: one pending invitation to show on the Members page."""

from groups.models import Role
from members.models import Invitation
from members.services import invite_member

DEMO_INVITEE = "teammate@example.com"


def seed(group, admin, write) -> None:
    # Invite once: later runs leave the invitation, or the member it made, alone.
    invited = Invitation.objects.filter(group=group, email=DEMO_INVITEE).exists()
    joined = group.memberships.filter(user__email__iexact=DEMO_INVITEE).exists()
    if invited or joined:
        return
    invite_member(group, admin, DEMO_INVITEE, Role.MEMBER)
    write(f"Demo invitation for {DEMO_INVITEE} (the link is in the console email).")
