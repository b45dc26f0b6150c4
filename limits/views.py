from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from groups.access import group_view
from groups.models import ApiGroup, Capability
from limits.services import limits_summary


@require_GET
@group_view(Capability.VIEW_LIMITS)
def limits_page(request: HttpRequest, group: ApiGroup) -> HttpResponse:
    summary = limits_summary(group.pk)
    return render(request, "limits/limits.html", {"group": group, "summary": summary})
