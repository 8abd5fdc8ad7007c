"""The InfluxDB setup Job's script, run by /bin/sh against a stand-in `influx` CLI (tests/unit/fake_influx.py).

The script gets exactly the environment the Job's spec declares (secret references filled with test values),
so a variable the script reads but the Job does not set fails here too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.components.influxdb_setup import READER_USER, SETUP_SCRIPT, WRITER_USER, setup_job_spec
from infra.config import InfluxDbConfig

FAKE = Path(__file__).resolve().parent / "fake_influx.py"
TEST_VALUES = {"INFLUX_TOKEN": "test-operator-token", "WRITER_PASSWORD": "test-writer-pw",
               "READER_PASSWORD": "test-reader-pw"}


def job_environment(config: InfluxDbConfig) -> dict[str, str]:
    spec = setup_job_spec(config, "minimal", "http://influxdb.test:80", "admin-secret", "v1-secret")
    env: dict[str, str] = {}
    for entry in spec["template"]["spec"]["containers"][0]["env"]:
        env[entry["name"]] = entry["value"] if "value" in entry else TEST_VALUES[entry["name"]]
    return env


def run_setup(tmp_path: Path, state: dict[str, Any], config: InfluxDbConfig) -> tuple[dict[str, Any], str]:
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps({"calls": [], **state}))
    shim = tmp_path / "bin" / "influx"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    shim.chmod(0o755)
    env = {**job_environment(config), "PATH": f"{shim.parent}:{os.environ['PATH']}",
           "FAKE_INFLUX_STATE": str(state_path)}
    done = subprocess.run(["/bin/sh", "-c", SETUP_SCRIPT], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(state_path.read_text()), done.stdout


def auths_of(state: dict[str, Any], user: str) -> list[dict[str, Any]]:
    return [auth for auth in state["auths"] if auth["user"] == user]


def after_chart_init() -> dict[str, Any]:
    """What the chart's first start leaves: the bucket, with the chart's retention, nothing else."""
    return {"buckets": {"predictions": {"id": "b1", "retention": "0s"}}, "dbrps": [], "auths": []}


def test_first_run_creates_scoped_authorizations_and_the_mapping(tmp_path: Path) -> None:
    state, output = run_setup(tmp_path, after_chart_init(), InfluxDbConfig(retention="14d"))
    assert state["buckets"]["predictions"]["retention"] == "14d"
    assert state["dbrps"] == ["predictions"]
    [writer] = auths_of(state, WRITER_USER)
    [reader] = auths_of(state, READER_USER)
    assert (writer["perm"], writer["bucket"], writer["password"]) == ("write", "b1", "test-writer-pw")
    assert (reader["perm"], reader["bucket"], reader["password"]) == ("read", "b1", "test-reader-pw")
    assert f"{WRITER_USER}: created" in output


def test_a_second_run_changes_nothing_but_resets_the_passwords(tmp_path: Path) -> None:
    first, _ = run_setup(tmp_path, after_chart_init(), InfluxDbConfig())
    for auth in first["auths"]:
        auth["password"] = "changed-by-hand"
    second, output = run_setup(tmp_path, {k: first[k] for k in ("buckets", "dbrps", "auths")}, InfluxDbConfig())
    creates = [call for call in second["calls"] if call[:2] in (["v1", "auth"], ["v1", "dbrp"]) and "create" in call]
    assert creates == []
    assert [a["password"] for a in auths_of(second, WRITER_USER)] == ["test-writer-pw"]
    assert [a["password"] for a in auths_of(second, READER_USER)] == ["test-reader-pw"]
    assert second["dbrps"] == ["predictions"]
    assert f"{WRITER_USER}: password set" in output


def test_an_authorization_on_a_replaced_bucket_is_recreated_on_the_current_one(tmp_path: Path) -> None:
    stale = {"buckets": {"predictions": {"id": "b2", "retention": "30d"}}, "dbrps": ["predictions"],
             "auths": [{"id": "old", "user": WRITER_USER, "password": "x", "perm": "write", "bucket": "b1"}]}
    state, output = run_setup(tmp_path, stale, InfluxDbConfig())
    [writer] = auths_of(state, WRITER_USER)
    assert (writer["id"] != "old", writer["bucket"]) == (True, "b2")
    assert "replaced" in output


def test_a_missing_bucket_is_created_with_the_configured_retention(tmp_path: Path) -> None:
    state, _ = run_setup(tmp_path, {"buckets": {}, "dbrps": [], "auths": []}, InfluxDbConfig(retention="7d"))
    assert state["buckets"]["predictions"] == {"id": "b-new", "retention": "7d"}
    assert {a["bucket"] for a in state["auths"]} == {"b-new"}


@pytest.mark.parametrize("name", ["INFLUX_TOKEN", "WRITER_PASSWORD", "READER_PASSWORD"])
def test_credentials_reach_the_job_only_through_secret_references(name: str) -> None:
    spec = setup_job_spec(InfluxDbConfig(), "full", "http://influxdb.test:80", "admin-secret", "v1-secret")
    [entry] = [e for e in spec["template"]["spec"]["containers"][0]["env"] if e["name"] == name]
    assert set(entry) == {"name", "valueFrom"}
    assert entry["valueFrom"]["secretKeyRef"]["name"] in {"admin-secret", "v1-secret"}
