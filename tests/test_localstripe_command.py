"""`manage.py run_localstripe` keeps its state apart from every other localstripe."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.stripe_fixtures import ROOT, _wait_for, free_port


def _serve(var_dir: Path, *options: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PORTAL_VAR_DIR": str(var_dir),
        "STRIPE_API_BASE": base,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_localstripe", "--port", str(port), *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(f"{base}/js.stripe.com/v3/", process)
    return process, base


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


def _create_customer(base: str) -> str:
    response = httpx.post(
        f"{base}/v1/customers",
        data={"email": "keep@example.test"},
        auth=("sk_test_localstripe", ""),
    )
    response.raise_for_status()
    return response.json()["id"]


def test_customers_survive_a_restart_in_the_installations_own_file(tmp_path):
    process, base = _serve(tmp_path)
    try:
        customer = _create_customer(base)
    finally:
        _stop(process)
    assert (tmp_path / "localstripe.pickle").exists()

    process, base = _serve(tmp_path)
    try:
        found = httpx.get(
            f"{base}/v1/customers/{customer}", auth=("sk_test_localstripe", "")
        )
    finally:
        _stop(process)
    assert found.status_code == 200


def test_a_from_scratch_server_writes_no_state_file(tmp_path):
    process, base = _serve(tmp_path, "--from-scratch")
    try:
        _create_customer(base)
    finally:
        _stop(process)
    assert list(tmp_path.iterdir()) == []


def test_a_from_scratch_store_never_writes_the_file_every_localstripe_shares(
    monkeypatch,
):
    from localstripe.resources import Store

    from portal.management.commands.run_localstripe import _keep_state_in

    shared_writes = []
    monkeypatch.setattr(Store, "dump_to_disk", lambda self: shared_writes.append(1))
    store = Store()
    _keep_state_in(store, None)
    store["customer:cus_1"] = {"id": "cus_1"}
    del store["customer:cus_1"]
    assert shared_writes == []
