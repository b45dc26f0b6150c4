from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import receivers  # noqa: F401  (connects signal receivers)
        from billing.models import LedgerKind
        from groups.audit_labels import register_value_labels

        # Receipts and purchases audit the ledger kind they credit.
        register_value_labels("kind", LedgerKind.choices)
