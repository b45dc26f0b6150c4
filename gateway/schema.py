"""Parse and validate a chat completion request (OpenAI and Perplexity shapes).

Fields we do not use are ignored, as OpenAI clients send extras; fields we use are
checked, and a bad one is named in the 400 error.
"""

import json
from dataclasses import dataclass

from gateway.errors import invalid_field

ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})
SEARCH_CONTEXT_SIZES = ("low", "medium", "high")
# Perplexity's default when a request names no search context size.
DEFAULT_SEARCH_CONTEXT_SIZE = "low"
MAX_OUTPUT_TOKENS = 128_000
MAX_MESSAGES = 1_000


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = False
    search_context_size: str = DEFAULT_SEARCH_CONTEXT_SIZE
    # Whether the client sent web_search_options (forwarded upstream only then).
    has_search_options: bool = False


def _text_of(content, index: int) -> str:
    """Message content is a string or a list of parts; text parts are joined."""
    if isinstance(content, str):
        return content
    if content is None:  # an assistant turn that only called tools
        return ""
    param = f"messages[{index}].content"
    if not isinstance(content, list):
        raise invalid_field(param, f"{param} must be a string or a list of parts.")
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text":
            raise invalid_field(param, f"{param} may only hold text parts.")
        if not isinstance(part.get("text"), str):
            raise invalid_field(param, f"{param} has a text part without text.")
        texts.append(part["text"])
    return "".join(texts)


def _messages(raw) -> tuple[Message, ...]:
    if not isinstance(raw, list) or not raw:
        raise invalid_field("messages", "messages must be a non-empty list.")
    if len(raw) > MAX_MESSAGES:
        raise invalid_field("messages", f"At most {MAX_MESSAGES} messages.")
    messages = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise invalid_field(f"messages[{index}]", "Each message is an object.")
        role = item.get("role")
        if role not in ROLES:
            raise invalid_field(
                f"messages[{index}].role",
                f"messages[{index}].role must be one of {', '.join(sorted(ROLES))}.",
            )
        messages.append(Message(role, _text_of(item.get("content"), index)))
    return tuple(messages)


def _max_tokens(body: dict) -> int | None:
    name = "max_tokens" if "max_tokens" in body else "max_completion_tokens"
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_field(name, f"{name} must be a whole number.")
    if not 1 <= value <= MAX_OUTPUT_TOKENS:
        raise invalid_field(name, f"{name} must be between 1 and {MAX_OUTPUT_TOKENS}.")
    return value


def _temperature(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_field("temperature", "temperature must be a number.")
    if not 0 <= value <= 2:
        raise invalid_field("temperature", "temperature must be from 0 to 2.")
    return value


def _search_context_size(body: dict) -> str:
    options = body.get("web_search_options")
    if options is None:
        return DEFAULT_SEARCH_CONTEXT_SIZE
    if not isinstance(options, dict):
        raise invalid_field(
            "web_search_options", "web_search_options must be an object."
        )
    size = options.get("search_context_size", DEFAULT_SEARCH_CONTEXT_SIZE)
    if size not in SEARCH_CONTEXT_SIZES:
        raise invalid_field(
            "web_search_options.search_context_size",
            "web_search_options.search_context_size must be low, medium or high.",
        )
    return size


def parse_chat_request(raw_body: bytes) -> ChatRequest:
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_field("body", "The request body must be JSON.") from None
    except RecursionError:
        raise invalid_field("body", "The request body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise invalid_field("body", "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_field("model", "model must be a non-empty string.")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise invalid_field("stream", "stream must be true or false.")
    return ChatRequest(
        model=model,
        messages=_messages(body.get("messages")),
        max_tokens=_max_tokens(body),
        temperature=_temperature(body.get("temperature")),
        stream=stream,
        search_context_size=_search_context_size(body),
        has_search_options="web_search_options" in body,
    )
