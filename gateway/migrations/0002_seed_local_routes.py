from django.db import migrations

# The default price book's models, answered by the built-in local backend until an
# operator points them at an upstream.
SEEDED_MODELS = ("sonar", "sonar-pro", "sonar-reasoning-pro", "sonar-deep-research")


def seed_routes(apps, schema_editor):
    ModelRoute = apps.get_model("gateway", "ModelRoute")
    for model in SEEDED_MODELS:
        ModelRoute.objects.get_or_create(model=model, defaults={"backend": "local"})


class Migration(migrations.Migration):
    dependencies = [("gateway", "0001_initial")]

    operations = [migrations.RunPython(seed_routes, migrations.RunPython.noop)]
