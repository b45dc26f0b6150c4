from django.contrib import admin

from limits.models import GroupLimits, GroupModelLimit, Tier, TierModelLimit
from limits.services import set_model_limit, set_override_tier
from portal.money import format_money


class TierModelLimitInline(admin.TabularInline):
    model = TierModelLimit
    extra = 1


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["number", "threshold", "default_requests_per_minute"]
    inlines = [TierModelLimitInline]

    @admin.display(description="credits ever bought", ordering="min_purchased_micros")
    def threshold(self, tier: Tier) -> str:
        return format_money(tier.min_purchased_micros)


@admin.register(GroupLimits)
class GroupLimitsAdmin(admin.ModelAdmin):
    """Operators give a group its own tier here; changes go through the service."""

    list_display = ["group", "reached_tier", "override_tier", "override_note"]
    list_filter = ["override_tier"]
    search_fields = ["group__name", "group__slug"]
    fields = ["group", "reached_tier", "override_tier", "override_note"]
    readonly_fields = ["reached_tier"]
    raw_id_fields = ["group"]

    def get_readonly_fields(self, request, obj=None):
        return ["group", "reached_tier"] if obj else ["reached_tier"]

    def save_model(self, request, obj, form, change):
        set_override_tier(
            obj.group, obj.override_tier, actor=request.user, note=obj.override_note
        )


@admin.register(GroupModelLimit)
class GroupModelLimitAdmin(admin.ModelAdmin):
    """A group's own requests per minute for one model (an enterprise, a load test)."""

    list_display = ["group", "model", "requests_per_minute", "note"]
    search_fields = ["group__name", "group__slug", "model"]
    raw_id_fields = ["group"]

    def save_model(self, request, obj, form, change):
        if change and "model" in form.changed_data:
            set_model_limit(obj.group, form.initial["model"], None, actor=request.user)
        saved = set_model_limit(
            obj.group,
            obj.model,
            obj.requests_per_minute,
            actor=request.user,
            note=obj.note,
        )
        obj.pk = saved.pk if saved else None

    def delete_model(self, request, obj):
        set_model_limit(obj.group, obj.model, None, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
