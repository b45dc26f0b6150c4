"""localstripe, the fake Stripe, started on a free loopback port for tests.

Import the fixtures into a test module: `from tests.stripe_fixtures import ...`.
"""

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PUBLISHABLE_KEY = "pk_test_localstripe"

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"  # declined when stored
CHARGE_DECLINED_CARD = "4000000000000341"  # stored fine, every charge declined
AUTH_REQUIRED_CARD = "4000002500003155"  # asks for 3-D Secure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A loopback port nothing listens on: where webhook deliveries go when no test
# wants them.
NOWHERE = f"http://127.0.0.1:{free_port()}/stripe/webhook/"


def _wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("localstripe exited early")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("localstripe did not start")


@pytest.fixture(scope="session")
def localstripe_url():
    """Run `manage.py run_localstripe` for the session; yield its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "STRIPE_API_BASE": base,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    # Deliveries go nowhere until a test points them at a live server.
    nowhere = NOWHERE
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_localstripe",
            "--port",
            str(port),
            "--from-scratch",
            "--webhook-url",
            nowhere,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"{base}/js.stripe.com/v3/", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stripe_base(localstripe_url, settings):
    """Point the portal's Stripe client at the session's localstripe."""
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    yield localstripe_url
    # A test that pointed deliveries at its live server must not leave them
    # arriving there during later tests, which may not touch the database.
    point_webhooks_at(localstripe_url, NOWHERE)


def point_webhooks_at(base: str, url: str) -> None:
    response = httpx.post(
        f"{base}/_config/webhooks/portal",
        data={"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET},
    )
    response.raise_for_status()


def confirm_setup_like_a_browser(
    base: str, setup, number: str, exp_month: str = "12", exp_year: str = "2034"
) -> httpx.Response:
    """Do what stripe.js's confirmCardSetup does with the publishable key."""
    return httpx.post(
        f"{base}/v1/setup_intents/{setup.setup_intent_id}/confirm",
        json={
            "key": PUBLISHABLE_KEY,
            "client_secret": setup.client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {
                    "number": number,
                    "exp_month": exp_month,
                    "exp_year": exp_year,
                    "cvc": "123",
                },
            },
        },
    )


def add_card(group, user, number: str = GOOD_CARD, **kwargs):
    """Store a card for `group` the way the add-card page does."""
    from billing.services import save_card, start_card_setup

    setup = start_card_setup(group)
    confirm_setup_like_a_browser(settings.STRIPE_API_BASE, setup, number)
    return save_card(group, user, setup.setup_intent_id, **kwargs)


def add_card_needing_authentication(group, user):
    """Store a 3-D Secure card, its check passed while it was added."""
    from billing.services import save_card, start_card_setup
    from billing.stripe_api import client

    setup = start_card_setup(group)
    confirm_setup_like_a_browser(settings.STRIPE_API_BASE, setup, AUTH_REQUIRED_CARD)
    client().v1.setup_intents.confirm(setup.setup_intent_id)
    return save_card(group, user, setup.setup_intent_id)


def authenticate_like_a_browser(
    base: str, client_secret: str, *, passed: bool
) -> httpx.Response:
    """Do what localstripe's stripe.js does when the bank's check is answered."""
    intent_id = client_secret.split("_secret_")[0]
    return httpx.post(
        f"{base}/v1/payment_intents/{intent_id}/_authenticate",
        params={"success": "true" if passed else "false"},
        json={"key": PUBLISHABLE_KEY, "client_secret": client_secret},
    )


def sign(payload: bytes, secret: str | None = None, at: int | None = None) -> str:
    """A Stripe-Signature header for `payload`, as Stripe computes it."""
    timestamp = int(time.time()) if at is None else at
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, b"%d." % timestamp + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def stripe_events(base: str, event_type: str) -> list[dict]:
    response = httpx.get(
        f"{base}/v1/events",
        params={"type": event_type, "limit": 100},
        headers={"Authorization": "Bearer sk_test_localstripe"},
    )
    response.raise_for_status()
    return response.json()["data"]


def payment_intents_of(base: str, customer_id: str) -> list[dict]:
    response = httpx.get(
        f"{base}/v1/payment_intents",
        params={"limit": 100},
        headers={"Authorization": "Bearer sk_test_localstripe"},
    )
    response.raise_for_status()
    return [pi for pi in response.json()["data"] if pi["customer"] == customer_id]


def as_json(event: dict) -> bytes:
    return json.dumps(event).encode()
