"""The demo's API key: issued once; its secret is printed only then."""

from apikeys.models import ApiKey
from apikeys.services import issue_key

DEMO_KEY_NAME = "Demo key"


def seed(group, admin, write) -> None:
    if ApiKey.objects.filter(group=group, name=DEMO_KEY_NAME).exists():
        write(f"Demo API key: {DEMO_KEY_NAME} exists; regenerate it for a new secret.")
        return
    issued = issue_key(group, admin, DEMO_KEY_NAME)
    write(f"Demo API key ({issued.key.display_name}), shown once: {issued.secret}")
