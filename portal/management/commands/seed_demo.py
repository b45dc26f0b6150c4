"""Create (or refresh) the demo admin and group; each app adds its own share.

An app takes part by having a `demo` module with `seed(group, admin, write)`; it
must be safe to run again.
"""

from importlib import import_module

from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from groups.models import ApiGroup, Membership, Role
from groups.services import create_group
from portal.env import env_str

DEMO_EMAIL = "admin@example.com"
DEMO_GROUP_SLUG = "demo"


class Command(BaseCommand):
    help = "Seed a demo admin and group for local use (idempotent)."

    def handle(self, *args, **options):
        password = env_str("DEMO_ADMIN_PASSWORD", "portal-demo-2026")
        with transaction.atomic():
            admin, created = self._demo_admin(password)
            group = self._demo_group(admin)
        for config in apps.get_app_configs():
            try:
                module = import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            module.seed(group, admin, self.stdout.write)
        # The password is set once: setting it again on every run would sign the
        # admin out and undo a password changed in the portal.
        if created:
            login = f"{DEMO_EMAIL} / password: {password}"
        else:
            login = f"{DEMO_EMAIL} (password as first set: {password}, unless changed)"
        self.stdout.write(self.style.SUCCESS(f"Demo admin: {login}"))
        self.stdout.write(f"Demo group: /g/{group.slug}/")

    def _demo_admin(self, password: str):
        user_model = get_user_model()
        admin, created = user_model.objects.get_or_create(
            email=DEMO_EMAIL,
            defaults={
                "username": "demo-admin",
                "first_name": "Dana",
                "last_name": "Demo",
            },
        )
        if created:
            admin.set_password(password)
            admin.save()
        EmailAddress.objects.update_or_create(
            user=admin, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )
        return admin, created

    def _demo_group(self, admin) -> ApiGroup:
        group = ApiGroup.objects.filter(slug=DEMO_GROUP_SLUG).first()
        if group is None:
            group = create_group(
                admin,
                "Demo Labs",
                description="A demo organization to try the portal with.",
                address_line1="500 Market Street",
                city="San Francisco",
                region="CA",
                postal_code="94105",
                country="US",
            )
            ApiGroup.objects.filter(pk=group.pk).update(slug=DEMO_GROUP_SLUG)
            group.refresh_from_db()
        Membership.objects.get_or_create(
            group=group, user=admin, defaults={"role": Role.ADMIN}
        )
        return group
