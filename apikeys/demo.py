"""The demo's API key: issued once; its secret is printed only then.

Dated as made before the demo's month of calls, so that the key page never shows
it used before it was created.
"""

from datetime import timedelta

from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.services import issue_key

DEMO_KEY_NAME = "Demo key"
MADE_DAYS_AGO = 32


def seed(group, admin, write) -> None:
    if ApiKey.objects.filter(group=group, name=DEMO_KEY_NAME).exists():
        write(f"Demo API key: {DEMO_KEY_NAME} exists; regenerate it for a new secret.")
        return
    issued = issue_key(group, admin, DEMO_KEY_NAME)
    made = timezone.now() - timedelta(days=MADE_DAYS_AGO)
    ApiKey.objects.filter(pk=issued.key.pk).update(created_at=made)
    write(f"Demo API key ({issued.key.display_name}), shown once: {issued.secret}")
