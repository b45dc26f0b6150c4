"""API errors in the OpenAI shape: {"error": {message, type, param, code}}.

Each cause has its own code so that clients can tell them apart.
"""

import json

from django.http import HttpResponse


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error_type = error_type
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> HttpResponse:
        response = HttpResponse(
            json.dumps(self.body()),
            status=self.status,
            content_type="application/json",
        )
        for name, value in self.headers.items():
            response[name] = value
        return response


def _auth(code: str, message: str) -> ApiError:
    return ApiError(
        401,
        code,
        message,
        error_type="authentication_error",
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def missing_key() -> ApiError:
    return _auth(
        "missing_api_key",
        "No API key: send it as the header 'Authorization: Bearer <key>'.",
    )


def malformed_key() -> ApiError:
    return _auth(
        "malformed_api_key",
        "The API key is malformed: check that it was copied completely.",
    )


def unknown_key() -> ApiError:
    return _auth("invalid_api_key", "The API key is not valid.")


def revoked_key() -> ApiError:
    return _auth("revoked_api_key", "The API key has been revoked.")


def expired_key() -> ApiError:
    """401 for a key replaced by a regenerated one, at once or after a grace period."""
    return _auth(
        "expired_api_key",
        "The API key was replaced by a new key and no longer works: use the new key.",
    )


def insufficient_credits() -> ApiError:
    return ApiError(
        402,
        "insufficient_credits",
        "This group is out of credits. Add credits in the portal to continue.",
        error_type="insufficient_credits",
    )


def unknown_model(model: str) -> ApiError:
    return ApiError(
        404,
        "model_not_found",
        f"The model {model!r} does not exist or is not available.",
        param="model",
    )


def unknown_path(method: str, path: str) -> ApiError:
    return ApiError(404, "unknown_url", f"Unknown API path: {method} {path}")


def invalid_field(param: str, message: str) -> ApiError:
    return ApiError(400, "invalid_request", message, param=param)


def request_too_large() -> ApiError:
    return ApiError(
        413, "request_too_large", "The request body is too large.", param="body"
    )


def rate_limited(retry_after_seconds: int, message: str = "") -> ApiError:
    """429 for the rate limiter, with Retry-After in whole seconds (at least 1)."""
    seconds = max(1, int(retry_after_seconds))
    return ApiError(
        429,
        "rate_limit_exceeded",
        message or f"Rate limit reached. Retry after {seconds} seconds.",
        error_type="rate_limit_error",
        headers={"Retry-After": str(seconds)},
    )


def upstream_failed(code: str, message: str) -> ApiError:
    return ApiError(502, code, message, error_type="upstream_error")


def method_not_allowed(allowed: str) -> ApiError:
    return ApiError(
        405,
        "method_not_allowed",
        f"Use {allowed} for this endpoint.",
        headers={"Allow": allowed},
    )


def server_error(request_id: str) -> ApiError:
    return ApiError(
        500,
        "server_error",
        f"The server failed to answer; nothing was charged. Request {request_id}.",
        error_type="server_error",
    )
