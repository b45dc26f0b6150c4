"""The members part of the demo: one pending invitation to show on the Members page."""

from groups.models import Role
from members.models import Invitation, InvitationStatus
from members.services import invite_member

DEMO_INVITEE = "teammate@example.com"


def seed(group, admin, write) -> None:
    pending = Invitation.objects.filter(
        group=group, email=DEMO_INVITEE, status=InvitationStatus.PENDING
    ).first()
    if pending is not None and pending.is_usable:
        return
    invite_member(group, admin, DEMO_INVITEE, Role.MEMBER)
    write(f"Demo invitation for {DEMO_INVITEE} (the link is in the console email).")
