"""Seed the default tiers and per-model limits (see PRODUCT.md); operators edit them."""

from django.db import migrations

MICROS = 1_000_000
# Tier number: (credits ever bought in dollars, requests per minute for most models,
# requests per minute for sonar-deep-research).
TIERS = {
    0: (0, 50, 5),
    1: (50, 150, 10),
    2: (250, 500, 20),
    3: (500, 1_000, 40),
    4: (1_000, 2_000, 60),
    5: (5_000, 4_000, 100),
}
MODELS = ("sonar", "sonar-pro", "sonar-reasoning-pro")
DEEP_RESEARCH = "sonar-deep-research"


def seed(apps, schema_editor):
    Tier = apps.get_model("limits", "Tier")
    TierModelLimit = apps.get_model("limits", "TierModelLimit")
    for number, (dollars, rpm, deep_rpm) in TIERS.items():
        tier, _ = Tier.objects.get_or_create(
            number=number,
            defaults={
                "min_purchased_micros": dollars * MICROS,
                "default_requests_per_minute": rpm,
            },
        )
        for model in MODELS:
            TierModelLimit.objects.get_or_create(
                tier=tier, model=model, defaults={"requests_per_minute": rpm}
            )
        TierModelLimit.objects.get_or_create(
            tier=tier, model=DEEP_RESEARCH, defaults={"requests_per_minute": deep_rpm}
        )


class Migration(migrations.Migration):
    dependencies = [("limits", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
