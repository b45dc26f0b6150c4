import billing.models
from django.db import migrations, models


class Migration(migrations.Migration):
    """Add a random token to each row's Stripe idempotency keys.

    Rows that exist already keep an empty token, and so the key they have always
    sent: a retry of one in flight during the upgrade still matches at Stripe.
    Each new row draws its own token from the field's default.
    """

    dependencies = [
        ("billing", "0006_payment_requires_action"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingaccount",
            name="idempotency_token",
            field=models.CharField(blank=True, default="", editable=False, max_length=32),
        ),
        migrations.AlterField(
            model_name="billingaccount",
            name="idempotency_token",
            field=models.CharField(
                blank=True,
                default=billing.models.new_idempotency_token,
                editable=False,
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="idempotency_token",
            field=models.CharField(blank=True, default="", editable=False, max_length=32),
        ),
        migrations.AlterField(
            model_name="payment",
            name="idempotency_token",
            field=models.CharField(
                blank=True,
                default=billing.models.new_idempotency_token,
                editable=False,
                max_length=32,
            ),
        ),
    ]
