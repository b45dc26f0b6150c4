"""A bare JSON view, the benchmark's baseline; routed with PORTAL_BENCH_VIEWS=1."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})
