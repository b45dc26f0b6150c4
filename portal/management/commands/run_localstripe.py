"""Serve localstripe, the fake Stripe server used in development and tests.

Unlike localstripe's own launcher, it listens on loopback only, registers our
webhook endpoint with the webhook secret from settings, so that the SDK's real
signature check runs against its deliveries, and keeps its customers and cards in
a file of this installation (var/localstripe.pickle) instead of the one file that
every localstripe on the machine shares. With --from-scratch nothing is read or
written: a test run cannot overwrite the development server's cards.
"""

import logging
import os
import pickle
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse


class Command(BaseCommand):
    help = "Run localstripe on 127.0.0.1 with our webhook registered."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument(
            "--from-scratch",
            action="store_true",
            help="Start empty and keep the state in memory only.",
        )
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
        if options["from_scratch"]:
            _keep_state_in(server.store, None)
        else:
            _keep_state_in(server.store, settings.VAR_DIR / "localstripe.pickle")
            server.store.try_load_from_disk()
        webhook_url = options["webhook_url"] or self._default_webhook_url()
        register_webhook("portal", webhook_url, settings.STRIPE_WEBHOOK_SECRET, None)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        self.stdout.write(f"localstripe on http://127.0.0.1:{port} -> {webhook_url}")
        web.run_app(server.app, host="127.0.0.1", port=port, print=None)

    def _default_webhook_url(self) -> str:
        return settings.PORTAL_BASE_URL + reverse("billing:stripe-webhook")


def _keep_state_in(store, path: Path | None) -> None:
    """Make localstripe's store load and save `path`, or nothing when None."""

    def load() -> None:
        if path is not None and path.exists():
            with path.open("rb") as state:
                # Our own file, written by save() below.
                store.update(pickle.load(state))  # noqa: S301

    def save() -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as state:
            pickle.dump(dict(store), state, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)

    # The store saves itself through these on every change.
    store.try_load_from_disk = load
    store.dump_to_disk = save
