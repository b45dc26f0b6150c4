from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from groups.models import ApiGroup, Role


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    # A pending invitation past `expires_at` is expired already; this status only
    # records it once a new invitation replaces it.
    EXPIRED = "expired", "Expired"


class Invitation(models.Model):
    """An emailed, single-use link that makes its holder a member of a group.

    The link's token is never stored. It is an HMAC (keyed by SECRET_KEY) of the
    random `nonce`, so that the task sending the email can rebuild it from the
    invitation's id; the database keeps only the token's SHA-256 (`token_hash`),
    which is how an accepted link finds its invitation. Resending draws a new
    nonce, which kills the old link.
    """

    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="invitations"
    )
    # Always lower case, so that "one pending invitation per address" holds.
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(
        max_length=16,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
    )
    nonce = models.CharField(max_length=64, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When the current link was issued (the invitation or its last resend).
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Claimed by the task that emails the current link, so that it mails it once.
    email_sent_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "email"],
                condition=Q(status="pending"),
                name="one_pending_invitation_per_address",
            ),
            models.CheckConstraint(
                condition=Q(email=Lower("email")), name="invitation_email_lower_case"
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="invitation_role_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=InvitationStatus.values),
                name="invitation_status_known",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(closed_at__isnull=False),
                name="closed_invitation_has_closed_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.group_id} as {self.role}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.status == InvitationStatus.PENDING and not self.is_expired
