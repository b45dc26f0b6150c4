"""Every change to API keys: issue, revoke, regenerate. Each one is audited."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys.models import ApiKey, KeyStatus
from apikeys.secrets import generate_key, hash_key, last_four
from groups.models import ApiGroup, AuditAction
from groups.services import record_audit

logger = logging.getLogger(__name__)

# Grace periods offered when regenerating a key, in minutes (0: stop at once).
GRACE_PERIOD_CHOICES = (0, 5, 60, 24 * 60)


class KeyStateError(ValueError):
    """The key is not in a state that allows the change."""


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    # The clear secret, for the one display; it is never stored.
    secret: str


class DuplicateKeyForm(KeyStateError):
    """The create form was submitted again; its key exists and was shown once."""

    def __init__(self, key: ApiKey) -> None:
        super().__init__(
            f"This form already created {key.display_name}; its secret was shown "
            "once. Regenerate the key if you did not keep it."
        )
        self.key = key


def _new_key(
    group: ApiGroup, name: str, actor: User | None, form_token: str = ""
) -> IssuedKey:
    secret = generate_key()
    key = ApiKey.objects.create(
        group=group,
        name=name,
        secret_hash=hash_key(secret),
        last_four=last_four(secret),
        form_token=form_token,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    return IssuedKey(key, secret)


def issue_key(
    group: ApiGroup,
    actor: User | None,
    name: str,
    *,
    actor_label: str = "",
    form_token: str = "",
) -> IssuedKey:
    """Create a key named `name` for the group; the secret is returned once.

    A `form_token` already used in the group raises DuplicateKeyForm instead.
    """
    name = name.strip()
    if not name:
        raise KeyStateError("A key needs a name.")
    if form_token:
        earlier = ApiKey.objects.filter(group=group, form_token=form_token).first()
        if earlier is not None:
            raise DuplicateKeyForm(earlier)
    try:
        issued = _issue(group, actor, name, actor_label, form_token)
    except IntegrityError:
        earlier = ApiKey.objects.filter(group=group, form_token=form_token).first()
        if form_token and earlier is not None:
            raise DuplicateKeyForm(earlier) from None
        raise
    logger.info("api key issued group=%s key=%s", group.pk, issued.key.pk)
    return issued


def _issue(group, actor, name: str, actor_label: str, form_token: str) -> IssuedKey:
    with transaction.atomic():
        issued = _new_key(group, name, actor, form_token)
        record_audit(
            group,
            actor,
            AuditAction.KEY_CREATED,
            target=issued.key.display_name,
            changes={"name": [None, name], "last_four": [None, issued.key.last_four]},
            actor_label=actor_label,
        )
    return issued


def revoke_key(key: ApiKey, actor: User | None) -> ApiKey:
    """Stop the key at once; every worker sees it on its next request.

    A key in its grace period stops now, not when the grace period would have
    ended, and its stop time says so.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        _check_revocable(locked, now)
        changes = {"status": [KeyStatus.ACTIVE.value, KeyStatus.REVOKED.value]}
        if locked.expires_at is not None:
            changes["expires_at"] = [locked.expires_at.isoformat(), now.isoformat()]
            locked.expires_at = now
        locked.status = KeyStatus.REVOKED
        locked.revoked_at = now
        locked.save(update_fields=["status", "revoked_at", "expires_at"])
        record_audit(
            locked.group,
            actor,
            AuditAction.KEY_REVOKED,
            target=locked.display_name,
            changes=changes,
        )
    logger.info("api key revoked group=%s key=%s", locked.group_id, locked.pk)
    return locked


def _check_revocable(key: ApiKey, now) -> None:
    if key.status == KeyStatus.REVOKED:
        raise KeyStateError("This key is already revoked.")
    if key.has_expired(now):
        raise KeyStateError("This key already stopped when its grace period ended.")


def _check_regenerable(key: ApiKey, now) -> None:
    if key.replaced_by is not None:
        raise KeyStateError(
            f"This key was already replaced by {key.replaced_by.display_name}; "
            "regenerate that key instead."
        )
    if not key.is_usable(now):
        raise KeyStateError(
            "This key is revoked, so it cannot be regenerated; "
            "create a new key instead."
        )


def regenerate_key(
    key: ApiKey, actor: User | None, *, grace_minutes: int = 0
) -> IssuedKey:
    """Replace the key by a new one with the same name; the old one stops.

    With `grace_minutes` the old key keeps working that long, so that a deployment
    can switch over; otherwise it is revoked at once. Usage already recorded stays
    with the old key.
    """
    if grace_minutes < 0:
        raise KeyStateError("The grace period cannot be negative.")
    now = timezone.now()
    with transaction.atomic():
        old = ApiKey.objects.select_for_update().get(pk=key.pk)
        _check_regenerable(old, now)
        issued = _new_key(old.group, old.name, actor)
        old.replaced_by = issued.key
        if grace_minutes:
            old.expires_at = stops_at = now + timedelta(minutes=grace_minutes)
        else:
            old.status = KeyStatus.REVOKED
            old.revoked_at = stops_at = now
        old.save(update_fields=["replaced_by", "expires_at", "status", "revoked_at"])
        record_audit(
            old.group,
            actor,
            AuditAction.KEY_REGENERATED,
            target=issued.key.display_name,
            changes={
                "last_four": [old.last_four, issued.key.last_four],
                "old_key_stops_at": [None, stops_at.isoformat()],
            },
        )
    logger.info(
        "api key regenerated group=%s old_key=%s new_key=%s grace_minutes=%s",
        old.group_id,
        old.pk,
        issued.key.pk,
        grace_minutes,
    )
    return issued
