"""The default tiers, which transactional tests' table flushes remove, put back."""

from importlib import import_module

from django.apps import apps

from limits.models import Tier


def ensure_seeded_tiers() -> None:
    if not Tier.objects.exists():
        import_module("limits.migrations.0002_seed_tiers").seed(apps, None)
