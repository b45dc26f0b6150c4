"""The model routes, cached per process and reloaded every REFRESH_SECONDS.

Routes change rarely and only decide where a call goes, not what it costs, so an
operator's edit taking up to a minute to reach every worker is acceptable; it
keeps the route lookup off the database on every call.
"""

import time

from gateway.models import ModelRoute

REFRESH_SECONDS = 60


class _RouteTable:
    def __init__(self) -> None:
        self.routes: dict[str, ModelRoute] = {}
        self.loaded_at = float("-inf")

    def get(self, model: str) -> ModelRoute | None:
        if time.monotonic() - self.loaded_at > REFRESH_SECONDS:
            self.load()
        return self.routes.get(model)

    def all(self) -> list[ModelRoute]:
        if time.monotonic() - self.loaded_at > REFRESH_SECONDS:
            self.load()
        return list(self.routes.values())

    def load(self) -> None:
        routes = {r.model: r for r in ModelRoute.objects.filter(enabled=True)}
        self.routes, self.loaded_at = routes, time.monotonic()

    def forget(self) -> None:
        self.loaded_at = float("-inf")


_table = _RouteTable()


def find_route(model: str) -> ModelRoute | None:
    """The enabled route of `model`, or None."""
    return _table.get(model)


def enabled_routes() -> list[ModelRoute]:
    return _table.all()


def forget_routes() -> None:
    """Make this process reload the routes on its next lookup."""
    _table.forget()
