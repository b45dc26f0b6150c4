from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from groups.models import ApiGroup


class KeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class ApiKey(models.Model):
    """A group's API key. Only a hash of the secret is stored, never the secret."""

    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=80)
    # SHA-256 of the whole secret, hex. Secrets carry 128+ random bits, so a fast
    # hash is safe here and keeps verification under a microsecond.
    secret_hash = models.CharField(max_length=64, unique=True)
    last_four = models.CharField(max_length=4)
    status = models.CharField(
        max_length=16, choices=KeyStatus.choices, default=KeyStatus.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A regenerated key keeps working until then (a grace period), then stops.
    expires_at = models.DateTimeField(null=True, blank=True)
    # The token of the form that created the key: showing that form's answer again
    # (a reload, a double click) must not create a second key.
    form_token = models.CharField(max_length=64, blank=True)
    replaced_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
    )

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["group", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=KeyStatus.values), name="apikey_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status=KeyStatus.ACTIVE) | Q(revoked_at__isnull=False),
                name="apikey_revoked_has_time",
            ),
            models.UniqueConstraint(
                fields=["group", "form_token"],
                condition=~Q(form_token=""),
                name="one_key_per_create_form",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.last_four})"

    @property
    def display_name(self) -> str:
        return f"{self.name} ({self.last_four})"

    def is_usable(self, at=None) -> bool:
        """Whether the key authenticates at `at` (now): active and not expired."""
        return self.status == KeyStatus.ACTIVE and not self.has_expired(at)

    def has_expired(self, at=None) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at <= (at or timezone.now())

    @property
    def is_replaced(self) -> bool:
        return self.replaced_by_id is not None

    @property
    def was_replaced_at_once(self) -> bool:
        return stopped_by_replacement(self.status, self.replaced_by_id, self.expires_at)


def stopped_by_replacement(status: str, replaced_by_id, expires_at) -> bool:
    """Whether a stopped key was stopped by regenerating it, not revoked by hand.

    Regenerating with no grace period revokes the old key and sets no stop time;
    a key revoked by hand during its grace period keeps its (shortened) one. The
    API reads the same facts from its key lookup, without a model instance.
    """
    return (
        status == KeyStatus.REVOKED
        and replaced_by_id is not None
        and expires_at is None
    )
