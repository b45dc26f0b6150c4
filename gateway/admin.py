import os

from django.contrib import admin

from gateway.models import ModelRoute
from gateway.routes import forget_routes


@admin.register(ModelRoute)
class ModelRouteAdmin(admin.ModelAdmin):
    """Which backend answers each model. Workers pick up edits within a minute."""

    list_display = (
        "model",
        "backend",
        "enabled",
        "base_url",
        "upstream_model",
        "upstream_key_set",
    )
    list_filter = ("backend", "enabled")
    search_fields = ("model", "upstream_model")
    fieldsets = (
        (None, {"fields": ("model", "backend", "enabled")}),
        (
            "Upstream (OpenAI-compatible server)",
            {
                "fields": (
                    "base_url",
                    "upstream_model",
                    "api_key_env",
                    "timeout_seconds",
                ),
                "description": "The upstream's API key is never stored here: put it "
                "in an environment variable of the server and give its name.",
            },
        ),
    )

    @admin.display(boolean=True, description="key variable set")
    def upstream_key_set(self, route: ModelRoute) -> bool | None:
        """Whether this server has the variable; its value is never shown."""
        if not route.api_key_env:
            return None
        return bool(os.environ.get(route.api_key_env))

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        forget_routes()
