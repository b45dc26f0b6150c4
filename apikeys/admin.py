from django.contrib import admin

from apikeys.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Read-only for operators: keys change through the portal or `issue_api_key`."""

    list_display = (
        "name",
        "last_four",
        "group",
        "status",
        "created_at",
        "last_used_at",
    )
    list_filter = ("status",)
    search_fields = ("name", "last_four", "group__name", "group__slug")
    list_select_related = ("group",)
    exclude = ("secret_hash",)
    readonly_fields = (
        "group",
        "name",
        "last_four",
        "status",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "expires_at",
        "replaced_by",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
