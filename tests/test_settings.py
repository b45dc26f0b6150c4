import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, env_required

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 64 + "-production-secret-for-checks",
    "ALLOWED_HOSTS": "portal.example.com",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
}


def _run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    inherited = set(PRODUCTION_ENV) | {"DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_bool_refuses_a_word_it_does_not_know(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG must be true or false"):
        env_bool("SOME_FLAG")


def test_env_int_refuses_a_non_number(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "ten")
    with pytest.raises(
        ImproperlyConfigured, match="SOME_NUMBER must be a whole number"
    ):
        env_int("SOME_NUMBER", 1)


def test_env_readers_use_defaults_and_parse_lists(monkeypatch):
    monkeypatch.delenv("SOME_FLAG", raising=False)
    monkeypatch.setenv("SOME_LIST", "a, b,,c")
    assert env_bool("SOME_FLAG", True) is True
    assert env_list("SOME_LIST", []) == ["a", "b", "c"]


def test_env_required_stops_only_when_required(monkeypatch):
    monkeypatch.delenv("SOME_SECRET", raising=False)
    assert env_required("SOME_SECRET", when=False) == ""
    with pytest.raises(ImproperlyConfigured, match="SOME_SECRET must be set"):
        env_required("SOME_SECRET", when=True)


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]
)
def test_production_refuses_to_start_without_its_secrets(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _run_manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_deploy_check_passes_with_production_settings():
    result = _run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stderr + result.stdout
