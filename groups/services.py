import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify

from groups.models import ApiGroup, AuditAction, AuditEntry, Membership, Role
from groups.signals import group_created

logger = logging.getLogger(__name__)


def record_audit(
    group: ApiGroup,
    actor: User | None,
    action: str,
    *,
    target: str = "",
    changes: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Append one audit entry; call inside the transaction that made the change."""
    return AuditEntry.objects.create(
        group=group,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        action=action,
        target=target[:200],
        changes=changes or {},
    )


def diff_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [old, new]} for the fields whose value changed."""
    return {
        name: [str(before[name]), str(after[name])]
        for name in after
        if str(before.get(name)) != str(after[name])
    }


def _unique_slug(name: str) -> str:
    base = slugify(name)[:40] or "group"
    slug = base
    while ApiGroup.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(5, 'abcdefghijkmnpqrstuvwxyz23456789')}"
    return slug


def create_group(creator: User, name: str, **details: Any) -> ApiGroup:
    """Create a group with `creator` as its first admin."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                group = ApiGroup.objects.create(
                    name=name, slug=_unique_slug(name), **details
                )
                Membership.objects.create(
                    group=group,
                    user=creator,
                    role=Role.ADMIN,
                    last_opened_at=timezone.now(),
                )
                record_audit(group, creator, AuditAction.GROUP_CREATED, target=name)
                group_created.send(sender=ApiGroup, group=group, creator=creator)
        except IntegrityError:
            # Two creators raced for the same slug; try again with a fresh one.
            if attempt == 2:
                raise
            continue
        logger.info(
            "group created group=%s slug=%s creator=%s",
            group.pk,
            group.slug,
            creator.pk,
        )
        return group
    raise AssertionError("unreachable")


def update_group_details(
    group: ApiGroup, actor: User, details: dict[str, Any]
) -> dict[str, list[Any]]:
    """Save organization details and audit what changed; return the changes."""
    with transaction.atomic():
        locked = ApiGroup.objects.select_for_update().get(pk=group.pk)
        before = {name: getattr(locked, name) for name in details}
        for name, value in details.items():
            setattr(locked, name, value)
        locked.save()
        changes = diff_fields(before, details)
        if changes:
            record_audit(locked, actor, AuditAction.SETTINGS_CHANGED, changes=changes)
    for name, value in details.items():
        setattr(group, name, value)
    return changes


def note_group_opened(membership: Membership) -> None:
    """Remember which group the user opened last, so they land there next time."""
    now = timezone.now()
    Membership.objects.filter(pk=membership.pk).update(last_opened_at=now)
    membership.last_opened_at = now
