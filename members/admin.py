from django.contrib import admin

from members.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "group", "role", "status", "issued_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "group__name", "group__slug"]
    # Links are issued and withdrawn by the services; the admin only looks.
    # The nonce and token hash stay out of sight.
    readonly_fields = tuple(
        f.name
        for f in Invitation._meta.fields
        if f.name not in ("id", "nonce", "token_hash")
    )
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
