"""A fake OpenAI-compatible upstream on 127.0.0.1, for the upstream backend's tests."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USAGE = {"prompt_tokens": 1000, "completion_tokens": 500, "num_search_queries": 3}


class FakeUpstream:
    """Answers as `mode` says: ok, error, slow, garbage, no_usage or cut (streams)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                upstream.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                upstream.answer(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler, body: dict) -> None:
        if self.mode == "error":
            return self._send(handler, 500, b'{"error": "boom"}')
        if self.mode == "slow":
            time.sleep(2)
        if self.mode == "garbage":
            return self._send(handler, 200, b"<html>not json</html>")
        if body.get("stream"):
            return self._stream(handler)
        payload = {
            "id": "up-1",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Upstream says hi."},
                    "finish_reason": "stop",
                }
            ],
            "citations": ["https://example.com/a"],
        }
        if self.mode != "no_usage":
            payload["usage"] = USAGE
        self._send(handler, 200, json.dumps(payload).encode())

    def _stream(self, handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for word in ("Upstream ", "streams ", "hi."):
            chunk = {"choices": [{"index": 0, "delta": {"content": word}}]}
            handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            handler.wfile.flush()
        if self.mode == "cut":
            return
        done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        handler.wfile.write(f"data: {json.dumps(done)}\n\n".encode())
        if self.mode != "no_usage":
            last = {"choices": [], "usage": USAGE}
            handler.wfile.write(f"data: {json.dumps(last)}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")

    @staticmethod
    def _send(handler, status: int, content: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)
