"""The built-in deterministic backend: works offline, and tests can predict its bill.

The rule, which the README documents:
- input tokens: for each message, its text length in characters divided by 4,
  rounded up; summed over the messages;
- output tokens: `max_tokens` when the request gives it, else 64; the answer is
  that many words, one word per token;
- search queries: 1, 2 or 3 for a low, medium or high search context size;
- citation tokens: 100 per search query; reasoning tokens: twice the output
  tokens (only models whose prices charge them, like sonar-deep-research, pay).
Temperature is accepted and has no effect.
"""

import math
from collections.abc import Iterator
from dataclasses import replace
from itertools import cycle, islice

from billing.pricing import CallQuantities
from gateway.backends import Completion, Stream
from gateway.models import ModelRoute
from gateway.schema import ChatRequest

DEFAULT_OUTPUT_TOKENS = 64
CHARS_PER_TOKEN = 4
SEARCH_QUERIES = {"low": 1, "medium": 2, "high": 3}
CITATION_TOKENS_PER_QUERY = 100
WORDS_PER_CHUNK = 8
_PREAMBLE = [
    "This",
    "is",
    "a",
    "deterministic",
    "answer",
    "from",
    "the",
    "local",
    "backend",
    "about",
]


def count_input_tokens(chat: ChatRequest) -> int:
    return sum(math.ceil(len(m.content) / CHARS_PER_TOKEN) for m in chat.messages)


def quantities(chat: ChatRequest) -> CallQuantities:
    output_tokens = chat.max_tokens or DEFAULT_OUTPUT_TOKENS
    queries = SEARCH_QUERIES[chat.search_context_size]
    return CallQuantities(
        input_tokens=count_input_tokens(chat),
        output_tokens=output_tokens,
        citation_tokens=CITATION_TOKENS_PER_QUERY * queries,
        reasoning_tokens=2 * output_tokens,
        search_queries=queries,
        search_context_size=chat.search_context_size,
    )


def _answer_words(chat: ChatRequest, count: int) -> list[str]:
    question = next(
        (m.content for m in reversed(chat.messages) if m.role == "user"), ""
    )
    words = _PREAMBLE + (question.split()[:24] or ["nothing"])
    return list(islice(cycle(words), count))


def complete(chat: ChatRequest, route: ModelRoute) -> Completion:
    used = quantities(chat)
    content = " ".join(_answer_words(chat, used.output_tokens))
    return Completion(content=content, used=used, finish_reason="length")


class LocalStream(Stream):
    def __init__(self, chat: ChatRequest) -> None:
        self._chat = chat
        self._planned = quantities(chat)
        self.finish_reason = "length"
        self.extra = {}
        self._words_sent = 0

    def __iter__(self) -> Iterator[str]:
        words = _answer_words(self._chat, self._planned.output_tokens)
        for start in range(0, len(words), WORDS_PER_CHUNK):
            chunk = words[start : start + WORDS_PER_CHUNK]
            piece = " ".join(chunk)
            # Counted before it is handed over: a client leaving now still got it.
            self._words_sent += len(chunk)
            yield piece if start == 0 else " " + piece
        self.used = self._planned

    def partial_used(self) -> CallQuantities:
        sent = self._words_sent
        return replace(self._planned, output_tokens=sent, reasoning_tokens=2 * sent)


def open_stream(chat: ChatRequest, route: ModelRoute) -> Stream:
    return LocalStream(chat)
