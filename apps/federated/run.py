"""Start a federated training run against a deployed stack's SuperLink and watch its rounds.

    kubectl -n federated port-forward svc/superlink 8000:8000 &        # the Control API is internal to core
    kubectl -n federated get secret superlink-tls -o jsonpath='{.data.ca\\.crt}' | base64 -d > superlink-ca.pem
    .venv-federated/bin/python -m apps.federated.run --superlink 127.0.0.1:8000 --ca superlink-ca.pem \\
        --run-config 'num-rounds=2 min-nodes=4'

It submits the Flower app in apps/federated/app with the flwr CLI (`flwr run`) and then
streams the ServerApp's log (`flwr log --stream`): one line per server round and site
(rows, seconds, bytes sent, held-out RMSE per sensor), the calibration and the MLflow
version registered. Exit codes: 0 submitted (and, when watching, the log ended),
2 bad arguments, 1 the SuperLink refused or could not be reached (its message is shown).
Needs the flwr CLI on PATH (.venv-federated/bin, or the federated image).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

APP = Path(__file__).resolve().parent / "app"
CONNECTION = "platform"


def run_config_overrides(rounds: int, trees_per_visit: int, learning_rate: float, max_samples: int,
                         min_samples: int, min_nodes: int) -> str:
    """The stack's federated settings as `flwr run --run-config` text (keys of app/pyproject.toml)."""
    values = {"num-rounds": rounds, "trees-per-visit": trees_per_visit, "learning-rate": learning_rate,
              "max-samples": max_samples, "min-samples": min_samples, "min-nodes": min_nodes}
    return " ".join(f"{key}={value}" for key, value in values.items())


def connection_toml(address: str, ca: Path | None) -> str:
    lines = ["[superlink]", f'default = "{CONNECTION}"', "", f"[superlink.{CONNECTION}]", f'address = "{address}"']
    if ca is not None:
        lines.append(f'root-certificates = "{ca}"')
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m apps.federated.run", description=__doc__.splitlines()[0])
    parser.add_argument("--superlink", required=True, help="the SuperLink's host:port (Control API)")
    parser.add_argument("--ca", type=Path, help="PEM CA that signed the SuperLink's certificate (the stack's CA)")
    parser.add_argument("--app", type=Path, default=APP, help="the Flower app folder (default: %(default)s)")
    parser.add_argument("--run-config", default="", help="overrides, e.g. 'num-rounds=2 min-nodes=3'")
    parser.add_argument("--no-watch", action="store_true", help="submit and exit (the CronJob does this)")
    args = parser.parse_args(argv)
    if ":" not in args.superlink:
        parser.error(f"--superlink must be host:port, got {args.superlink!r}")
    if args.ca is not None and not args.ca.is_file():
        parser.error(f"--ca {args.ca}: no such file (export it from the Secret superlink-tls, key ca.crt)")
    if not (args.app / "pyproject.toml").is_file():
        parser.error(f"--app {args.app}: no pyproject.toml (the Flower app is apps/federated/app)")
    if shutil.which("flwr") is None:
        parser.error("the flwr CLI is not on PATH (use .venv-federated/bin/python, or run in the federated image)")
    return args


def flwr(args: list[str], home: str, capture: bool) -> subprocess.CompletedProcess:
    return subprocess.run(["flwr", *args], env={**os.environ, "FLWR_HOME": home}, check=False, text=True,
                          capture_output=capture)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="s6g-flwr-") as tmp:
        home = os.environ.get("FLWR_HOME") or tmp
        Path(home).mkdir(parents=True, exist_ok=True)
        (Path(home) / "config.toml").write_text(connection_toml(args.superlink, args.ca and args.ca.resolve()))
        submit = ["run", str(args.app), CONNECTION, "--format", "json"]
        if args.run_config:
            submit += ["--run-config", args.run_config]
        started = flwr(submit, home, capture=True)
        try:
            answer = json.loads(started.stdout[started.stdout.find("{"):])
        except ValueError:
            answer = {}
        run_id = answer.get("run-id")
        if started.returncode != 0 or not run_id:
            print(f"error: the SuperLink at {args.superlink} did not start the run: "
                  f"{answer.get('error-message') or started.stdout + started.stderr}", file=sys.stderr)
            return 1
        print(f"run {run_id} submitted to {args.superlink}", flush=True)
        if args.no_watch:
            return 0
        return flwr(["log", str(run_id), CONNECTION, "--stream"], home, capture=False).returncode


if __name__ == "__main__":
    sys.exit(main())
