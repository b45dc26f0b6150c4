from datetime import UTC, datetime

from django.db import migrations

# Fixed so that a fresh installation prices every call from day one.
SEED_EFFECTIVE_FROM = datetime(2025, 1, 1, tzinfo=UTC)


def seed_price_book(apps, schema_editor):
    from billing.price_book import DEFAULT_PRICE_BOOK

    ModelPrice = apps.get_model("billing", "ModelPrice")
    for prices in DEFAULT_PRICE_BOOK:
        ModelPrice.objects.get_or_create(
            model=prices["model"],
            effective_from=SEED_EFFECTIVE_FROM,
            defaults={k: v for k, v in prices.items() if k != "model"},
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed_price_book, migrations.RunPython.noop)]
