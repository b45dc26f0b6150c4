"""Create a group for a customer, with its first admin, from the command line."""

from allauth.account.adapter import get_adapter
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse

from groups.services import create_group


class Command(BaseCommand):
    help = (
        "Create an API group with EMAIL as its admin (creating that user when "
        "missing). The group's slug is printed alone on the last line."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="the organization's name")
        parser.add_argument(
            "--admin-email", required=True, help="email of the group's first admin"
        )

    def handle(self, *args, name: str, admin_email: str, **options) -> None:
        name = " ".join(name.split())
        email = admin_email.strip().lower()
        if len(name) < 2:
            raise CommandError("--name must be at least two characters long")
        if len(name) > 120:
            raise CommandError("--name must be at most 120 characters long")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--admin-email {admin_email!r} is not valid") from None

        with transaction.atomic():
            user, created = self._admin(email)
            group = create_group(user, name)
        if created:
            self.stdout.write(
                f"Created user {email}. Set a password (link valid 3 days):"
            )
            self.stdout.write(self._password_link(user))
        else:
            self.stdout.write(f"{email} already has an account and is the admin.")
        self.stdout.write(
            f"Created group {group.name!r}: {settings.PORTAL_BASE_URL}/g/{group.slug}/"
        )
        self.stdout.write(group.slug)

    def _admin(self, email: str):
        user_model = get_user_model()
        user = user_model.objects.filter(email__iexact=email).first()
        if user is None:
            address = EmailAddress.objects.filter(email__iexact=email).first()
            user = address.user if address else None
        if user is not None:
            return user, False
        username = get_adapter().generate_unique_username([email.split("@")[0], "user"])
        user = user_model(username=username, email=email)
        user.set_unusable_password()
        user.save()
        # The operator vouches for the address they were given.
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user, True

    def _password_link(self, user) -> str:
        """A one-time link to allauth's set-password page (valid for 3 days)."""
        path = reverse(
            "account_reset_password_from_key",
            kwargs={
                "uidb36": user_pk_to_url_str(user),
                "key": default_token_generator.make_token(user),
            },
        )
        return f"{settings.PORTAL_BASE_URL}{path}"
