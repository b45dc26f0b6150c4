from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apikeys.forms import KeyCreateForm, KeyRegenerateForm
from apikeys.models import ApiKey, KeyStatus
from apikeys.services import (
    DuplicateKeyForm,
    IssuedKey,
    KeyStateError,
    issue_key,
    regenerate_key,
    revoke_key,
)
from billing.ledger import get_balance
from groups.access import GroupRequest, group_view
from groups.models import ApiGroup, Capability


class KeyState(NamedTuple):
    """The status label and badge class the keys pages show for a key."""

    label: str
    css_class: str


def _key_state(key: ApiKey, balance_micros: int, now: datetime) -> KeyState:
    if key.was_replaced_at_once or key.has_expired(now):
        # The API answers both expired_api_key: a new key replaced this one.
        return KeyState("Replaced", "danger")
    if key.status == KeyStatus.REVOKED:
        return KeyState("Revoked", "danger")
    if balance_micros <= 0:
        return KeyState("Blocked: out of credits", "warn")
    if key.expires_at is not None:
        return KeyState("Replaced, in grace period", "warn")
    return KeyState("Active", "ok")


class StopRow(NamedTuple):
    """When the key stopped working, or will, as the key page words it."""

    label: str
    at: datetime


def _stop_row(key: ApiKey, now: datetime) -> StopRow | None:
    if key.revoked_at is not None:
        label = "Stopped" if key.was_replaced_at_once else "Revoked"
        return StopRow(label, key.revoked_at)
    if key.expires_at is not None:
        return StopRow("Stopped" if key.has_expired(now) else "Stops", key.expires_at)
    return None


def _group_key(group: ApiGroup, key_id: int) -> ApiKey:
    return get_object_or_404(
        ApiKey.objects.select_related("created_by", "replaced_by"),
        group=group,
        pk=key_id,
    )


def _can_manage(request: GroupRequest) -> bool:
    return request.membership.can(Capability.MANAGE_KEYS)


def _show_secret(
    request: HttpRequest, group: ApiGroup, issued: IssuedKey, replaced: ApiKey | None
) -> HttpResponse:
    """Render the one page that ever shows the secret (never cached, no redirect)."""
    context = {
        "group": group,
        "key": issued.key,
        "secret": issued.secret,
        "replaced": replaced,
        "api_base_url": f"{settings.PORTAL_BASE_URL}/v1",
    }
    return render(request, "apikeys/created.html", context)


@require_GET
@group_view(Capability.VIEW_KEYS)
def key_list(request: GroupRequest, group: ApiGroup) -> HttpResponse:
    balance = get_balance(group.pk)
    now = timezone.now()
    keys = group.api_keys.select_related("created_by").order_by("-created_at")
    context = {
        "group": group,
        "keys": [(key, _key_state(key, balance, now)) for key in keys],
        "out_of_credits": balance <= 0,
        "can_manage": _can_manage(request),
        "create_form": KeyCreateForm(),
    }
    return render(request, "apikeys/list.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@group_view(Capability.MANAGE_KEYS)
def key_create(request: GroupRequest, group: ApiGroup) -> HttpResponse:
    form = KeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = issue_key(
                group,
                request.user,
                form.cleaned_data["name"],
                form_token=form.cleaned_data["form_token"],
            )
        except DuplicateKeyForm as duplicate:
            messages.info(request, str(duplicate))
            return redirect(
                "apikeys:detail", group_slug=group.slug, key_id=duplicate.key.pk
            )
        return _show_secret(request, group, issued, replaced=None)
    return render(request, "apikeys/create.html", {"group": group, "form": form})


@require_GET
@group_view(Capability.VIEW_KEYS)
def key_detail(request: GroupRequest, group: ApiGroup, key_id: int) -> HttpResponse:
    key = _group_key(group, key_id)
    now = timezone.now()
    context = {
        "group": group,
        "key": key,
        "state": _key_state(key, get_balance(group.pk), now),
        "stop": _stop_row(key, now),
        "replaces": ApiKey.objects.filter(replaced_by=key).first(),
        "can_manage": _can_manage(request),
        "regenerate_form": KeyRegenerateForm(),
    }
    return render(request, "apikeys/detail.html", context)


@require_POST
@group_view(Capability.MANAGE_KEYS)
def key_revoke(request: GroupRequest, group: ApiGroup, key_id: int) -> HttpResponse:
    key = _group_key(group, key_id)
    try:
        revoke_key(key, request.user)
    except KeyStateError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Key {key.display_name} is revoked.")
    return redirect("apikeys:detail", group_slug=group.slug, key_id=key.pk)


@never_cache
@require_http_methods(["GET", "POST"])
@group_view(Capability.MANAGE_KEYS)
def key_regenerate(request: GroupRequest, group: ApiGroup, key_id: int) -> HttpResponse:
    key = _group_key(group, key_id)
    form = KeyRegenerateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = regenerate_key(
                key, request.user, grace_minutes=form.cleaned_data["grace_minutes"]
            )
        except KeyStateError as error:
            messages.error(request, str(error))
            return redirect("apikeys:detail", group_slug=group.slug, key_id=key.pk)
        key.refresh_from_db()
        return _show_secret(request, group, issued, replaced=key)
    return render(
        request, "apikeys/regenerate.html", {"group": group, "key": key, "form": form}
    )
