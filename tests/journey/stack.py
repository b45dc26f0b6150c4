"""The portal as it runs in production, started from a test: gunicorn with two
workers, two Celery worker processes, beat and localstripe, on PostgreSQL and Redis.

Nothing may rest on one process's memory: mail goes to files, state to the
database and Redis. Every server listens on 127.0.0.1 only.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status < 500:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout}s")
        time.sleep(0.3)


@dataclass
class Stack:
    database_url: str
    redis_url: str
    workdir: Path
    port: int = field(default_factory=free_port)
    stripe_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mail_dir(self) -> Path:
        return self.workdir / "mail"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTEST", "DJANGO_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DEBUG="false",
            SECRET_KEY="journey-" + "k3y-" * 12,
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",
            SECURE_COOKIES="false",
            SECURE_HSTS_SECONDS="0",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            PORTAL_BASE_URL=self.url,
            PORTAL_VAR_DIR=str(self.workdir),
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(self.mail_dir),
            STRIPE_SECRET_KEY="sk_test_journey",
            STRIPE_PUBLISHABLE_KEY="pk_test_journey",
            STRIPE_WEBHOOK_SECRET="whsec_journey",
            STRIPE_API_BASE=f"http://127.0.0.1:{self.stripe_port}",
            STRIPE_JS_URL=f"http://127.0.0.1:{self.stripe_port}/js.stripe.com/v3/",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115  (closed in stop)
        self.logs.append(log)
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )

    def start(self) -> "Stack":
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.manage("collectstatic", "--noinput", "-v", "0")
        self._spawn(
            "localstripe",
            sys.executable,
            "manage.py",
            "run_localstripe",
            "--port",
            str(self.stripe_port),
            "--from-scratch",
            "--webhook-url",
            f"{self.url}/stripe/webhook/",
        )
        self._spawn(
            "gunicorn",
            str(BIN / "gunicorn"),
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "2",
            "--timeout",
            "60",
        )
        self._spawn(
            "worker",
            str(BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        )
        self._spawn(
            "beat",
            str(BIN / "celery"),
            "-A",
            "portal",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(self.workdir / "celerybeat-schedule"),
        )
        wait_for(f"{self.url}/healthz")
        wait_for(f"http://127.0.0.1:{self.stripe_port}/js.stripe.com/v3/")
        return self

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def messages(self) -> list[Message]:
        """Every email the stack has sent so far, oldest first."""
        found: list[Message] = []
        for path in sorted(
            self.mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime
        ):
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if chunk.strip():
                    found.append(message_from_bytes(chunk.strip()))
        return found

    def wait_for_message(
        self, to: str, subject_contains: str, timeout: float = 30
    ) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages()):
                if to in message.get("To", "") and subject_contains in message.get(
                    "Subject", ""
                ):
                    return message
            time.sleep(0.3)
        raise TimeoutError(f"no email to {to} about {subject_contains!r}")


def body_of(message: Message) -> str:
    """The plain-text body of a sent email."""
    if message.is_multipart():
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode()
        return ""
    return message.get_payload(decode=True).decode()
