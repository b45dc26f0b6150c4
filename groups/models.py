from django.conf import settings
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField


class ApiGroup(models.Model):
    """An organization's workspace: it owns credits, keys, members and invoices."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=120, blank=True)
    region = models.CharField("state or region", max_length=120, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = CountryField(blank=True)
    tax_id = models.CharField("tax ID", max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API group"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # The fields copied onto invoices and sent to Stripe, in display order.
    DETAIL_FIELDS = (
        "name",
        "description",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "country",
        "tax_id",
    )

    def address_lines(self) -> list[str]:
        city_line = " ".join(p for p in (self.postal_code, self.city) if p)
        if self.region:
            city_line = f"{city_line}, {self.region}" if city_line else self.region
        lines = [self.address_line1, self.address_line2, city_line]
        if self.country:
            # django-countries types the field as a CharField (str); it holds a Country.
            lines.append(self.country.name)  # type: ignore[attr-defined]
        return [line for line in lines if line]


class Capability(models.TextChoices):
    MANAGE_BILLING = "manage_billing", "Manage billing"
    MANAGE_KEYS = "manage_keys", "Manage API keys"
    MANAGE_MEMBERS = "manage_members", "Manage members"
    EDIT_SETTINGS = "edit_settings", "Edit settings"
    VIEW_ACTIVITY = "view_activity", "View the activity log"
    VIEW_INVOICES = "view_invoices", "View invoices"
    VIEW_KEYS = "view_keys", "View API keys"
    VIEW_MEMBERS = "view_members", "View members"
    LEAVE_GROUP = "leave_group", "Leave the group"
    VIEW_USAGE = "view_usage", "View usage"
    VIEW_LIMITS = "view_limits", "View limits"
    VIEW_SETTINGS = "view_settings", "View settings"


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


# The one map from role to what it may do. Views ask for a capability, never a role.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(Capability.values),
    Role.MEMBER: frozenset(
        {
            Capability.VIEW_KEYS,
            Capability.VIEW_MEMBERS,
            Capability.LEAVE_GROUP,
            Capability.VIEW_USAGE,
            Capability.VIEW_LIMITS,
            Capability.VIEW_SETTINGS,
        }
    ),
}


class Membership(models.Model):
    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the user last opened this group; the most recent one is where they land.
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "user"], name="one_membership_per_user"
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="membership_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} as {self.role}"

    def can(self, capability: str) -> bool:
        return capability in ROLE_CAPABILITIES[self.role]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class AuditAction(models.TextChoices):
    GROUP_CREATED = "group.created", "Group created"
    SETTINGS_CHANGED = "group.settings_changed", "Settings changed"
    MEMBER_INVITED = "member.invited", "Member invited"
    INVITATION_RESENT = "member.invitation_resent", "Invitation resent"
    INVITATION_REVOKED = "member.invitation_revoked", "Invitation revoked"
    MEMBER_JOINED = "member.joined", "Member joined"
    ROLE_CHANGED = "member.role_changed", "Role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    MEMBER_LEFT = "member.left", "Member left"
    KEY_CREATED = "key.created", "API key created"
    KEY_REVOKED = "key.revoked", "API key revoked"
    KEY_REGENERATED = "key.regenerated", "API key regenerated"
    CARD_ADDED = "billing.card_added", "Card added"
    CARD_REMOVED = "billing.card_removed", "Card removed"
    DEFAULT_CARD_CHANGED = "billing.default_card_changed", "Default card changed"
    CREDITS_PURCHASED = "billing.credits_purchased", "Credits purchased"
    CREDITS_GRANTED = "billing.credits_granted", "Credits granted"
    AUTO_TOP_UP_CHANGED = "billing.auto_top_up_changed", "Auto top-up changed"
    AUTO_TOP_UP_DISABLED = "billing.auto_top_up_disabled", "Auto top-up turned off"
    LIMITS_CHANGED = "limits.changed", "Limits changed"
    INVOICE_ISSUED = "invoices.issued", "Invoice issued"
    RECEIPT_ISSUED = "invoices.receipt_issued", "Receipt issued"


class AuditEntry(models.Model):
    """Append-only: who did what in a group, with old and new values."""

    group = models.ForeignKey(
        ApiGroup, on_delete=models.CASCADE, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Who acted when no user did ("operator", "system", "stripe").
    actor_label = models.CharField(max_length=120, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    target = models.CharField(max_length=200, blank=True)
    # {"field": [old, new]} for changes; free details otherwise. Never secrets.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["group", "action", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} in {self.group_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit entries are append-only")
        super().save(*args, **kwargs)

    @property
    def actor_display(self) -> str:
        if self.actor is not None:
            return self.actor.email or self.actor.get_username()
        return self.actor_label or "system"
