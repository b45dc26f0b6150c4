import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

TIMEZONE_COOKIE = "portal_tz"


class UserTimezoneMiddleware:
    """Show times in the browser's time zone, which a few lines of JS store in a cookie.

    Data is stored in UTC; an unknown or missing zone falls back to UTC.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.COOKIES.get(TIMEZONE_COOKIE, "")
        try:
            timezone.activate(
                zoneinfo.ZoneInfo(name)
            ) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)
