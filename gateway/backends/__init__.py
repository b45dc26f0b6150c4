"""Model backends: what answers a call once it is authenticated and admitted.

A backend offers `complete(chat, route) -> Completion` and
`open_stream(chat, route) -> Stream`. Both report what the call consumed as
`CallQuantities`, which the gateway prices. A backend that cannot answer raises
`BackendError`; the call is then refused with 502 and not charged.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from billing.pricing import CallQuantities
from gateway.models import BackendKind, ModelRoute


class BackendError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Completion:
    content: str
    used: CallQuantities
    finish_reason: str = "stop"
    # Response fields passed through as they are, e.g. Perplexity's citations.
    extra: dict = field(default_factory=dict)


class Stream:
    """Text deltas of a streamed answer; `used` is known once they are consumed."""

    used: CallQuantities | None = None
    finish_reason: str = "stop"
    extra: dict

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError

    def partial_used(self) -> CallQuantities | None:
        """What was consumed so far, if known, when the client leaves early."""
        return None

    def close(self) -> None:
        """Release the backend's resources (called however the stream ended)."""


def backend_for(route: ModelRoute):
    if route.backend == BackendKind.UPSTREAM:
        from gateway.backends import upstream

        return upstream
    from gateway.backends import local

    return local
