"""The benchmark's reference views; routed only with PORTAL_BENCH_VIEWS=1.

`bare_json` is the baseline: Django answering JSON and nothing else. `durable_floor`
is the least any metered call that is recorded before it answers must do: look
its key up, count it against the rate limit, make one row change and commit it.
It changes no money (the balance is set to itself), prices nothing and records
no event, so a metered call can only cost more.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing.models import BillingAccount
from gateway.auth import authenticate
from gateway.errors import ApiError
from limits.ratelimit import check_rate_limit
from portal.db import fetch_one

_ONE_ROW_CHANGE = (
    f"UPDATE {BillingAccount._meta.db_table} "  # noqa: S608
    "SET balance_micros = balance_micros WHERE group_id = %s RETURNING balance_micros"
)


@csrf_exempt
def bare_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@csrf_exempt
def durable_floor(request: HttpRequest) -> HttpResponse:
    try:
        caller = authenticate(request)
    except ApiError as error:
        return error.response()
    check_rate_limit(caller.group_id, "sonar")
    row = fetch_one(_ONE_ROW_CHANGE, [caller.group_id])
    return JsonResponse({"ok": True, "balance_micros": row[0] if row else None})
