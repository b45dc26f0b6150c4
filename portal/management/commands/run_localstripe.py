"""Serve localstripe, the fake Stripe server used in development and tests.

Unlike localstripe's own launcher, it listens on loopback only and registers our
webhook endpoint with the webhook secret from settings, so that the SDK's real
signature check runs against its deliveries.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse


class Command(BaseCommand):
    help = "Run localstripe on 127.0.0.1 with our webhook registered."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--from-scratch", action="store_true")
        parser.add_argument(
            "--webhook-url",
            default=None,
            help="Where localstripe delivers events (default: our webhook URL).",
        )

    def handle(self, *args, **options):
        from aiohttp import web
        from localstripe import server
        from localstripe.webhooks import register_webhook

        base = urlsplit(settings.STRIPE_API_BASE)
        if base.hostname not in ("127.0.0.1", "localhost"):
            raise CommandError("STRIPE_API_BASE does not point at a local server")
        port = options["port"] or base.port or 8420
        if not options["from_scratch"]:
            server.store.try_load_from_disk()
        webhook_url = options["webhook_url"] or self._default_webhook_url()
        register_webhook("portal", webhook_url, settings.STRIPE_WEBHOOK_SECRET, None)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        self.stdout.write(f"localstripe on http://127.0.0.1:{port} -> {webhook_url}")
        web.run_app(server.app, host="127.0.0.1", port=port, print=None)

    def _default_webhook_url(self) -> str:
        return settings.PORTAL_BASE_URL + reverse("billing:stripe-webhook")
