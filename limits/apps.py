from django.apps import AppConfig


class LimitsConfig(AppConfig):
    name = "limits"
    verbose_name = "Limits"

    def ready(self) -> None:
        from limits import receivers  # noqa: F401  (connects signal receivers)
