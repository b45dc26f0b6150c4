"""Issue an API key for a group from the command line; the secret is the last line."""

from django.core.management.base import BaseCommand, CommandError

from apikeys.services import issue_key
from groups.models import ApiGroup


class Command(BaseCommand):
    help = "Issue an API key for a group and print its secret alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--group", required=True, help="slug of the API group")
        parser.add_argument("--name", required=True, help="name of the new key")

    def handle(self, *args, group: str, name: str, **options):
        api_group = ApiGroup.objects.filter(slug=group).first()
        if api_group is None:
            raise CommandError(f"No API group with slug {group!r}.")
        if not name.strip() or len(name.strip()) > 80:
            raise CommandError("The key name must be 1 to 80 characters.")
        issued = issue_key(api_group, None, name, actor_label="operator")
        self.stderr.write(
            f"Issued key {issued.key.display_name} for group {api_group.slug}. "
            "Store the secret below now: it is not shown again."
        )
        self.stdout.write(issued.secret)
