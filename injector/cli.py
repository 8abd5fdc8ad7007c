"""s6g-inject: replay recorded Idneo drives into edge-node Redis servers as emulated vehicles.

Examples:
  s6g-inject ../shared/data/idneo/ateca_R4_2.0l_TDI --speed 10
  s6g-inject drive.csv --vehicles 100 --speed max --sink stream --sink pubsub
  s6g-inject drives/ --endpoint rpi-1=redis://10.0.0.11:6379/0 --endpoint rpi-2=redis://10.0.0.12:6379/0 \\
      --handover-every 60s

Each endpoint is `[NODE=]URL`; unnamed endpoints are nodes edge-1, edge-2, ... in order. A sample goes
to the stream of the node its vehicle is attached to (see injector.replay for the handover schedule).
The password comes from REDIS_PASSWORD (or --password-file: a password on the command line would show in
`ps`); TLS (rediss:// URLs) from REDIS_TLS_CA / REDIS_TLS_CERT / REDIS_TLS_KEY or the --tls-* flags.

Exit codes: 0 all sent; 1 runtime failure (Redis unreachable, refused, lacks a module); 2 usage or input
error (bad flag, missing file, not an Idneo log); 130 interrupted by Ctrl-C (what was queued is flushed
and counted in the summary first).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from apps.idneo import Drive, DriveFormatError, find_drives, read_drive
from apps.redisconn import RedisSetupError, RedisTarget, connection_kwargs, target_from_env
from injector.replay import count_sends, drive_samples, plan_vehicles, schedule, spread_starts
from injector.sender import Endpoint, Progress, ReplayFailure, Sender
from injector.sinks import SINK_NAMES, make_sink

PROG = "s6g-inject"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_URL = "redis://127.0.0.1:6379/0"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class UsageError(ValueError):
    """Bad input from the person running the tool (exit 2)."""


def parse_duration(text: str) -> float:
    """'60s', '1.5m', '500ms', '2h' or bare seconds, > 0."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a positive duration: {text!r} (e.g. 60s, 500ms, 2m)")
    return float(match.group(1)) * _UNIT_S[match.group(2) or "s"]


def parse_speed(text: str) -> float:
    if text.strip().lower() == "max":
        return math.inf
    try:
        speed = float(text)
    except ValueError:
        speed = 0.0
    if not math.isfinite(speed) or speed <= 0:
        raise argparse.ArgumentTypeError(f"not a speed: {text!r} (a positive factor like 1 or 10, or max)")
    return speed


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(text)


def non_negative_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a non-negative integer: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="an Idneo CSV log, or a folder of them")
    parser.add_argument("--endpoint", action="append", metavar="[NODE=]URL",
                        help=f"a node's Redis (repeatable; default $REDIS_URL or {DEFAULT_URL})")
    parser.add_argument("--speed", type=parse_speed, default=1.0, help="1 real time, N times faster, or max")
    parser.add_argument("--vehicles", type=positive_int, default=1, help="emulated vehicles (default 1)")
    parser.add_argument("--vehicle-prefix", default="vehicle", help="vehicle ids are PREFIX-1, PREFIX-2, ...")
    parser.add_argument("--handover-every", type=parse_duration, metavar="DURATION",
                        help="move each vehicle to the next endpoint this often (e.g. 60s)")
    parser.add_argument("--sink", action="append", choices=SINK_NAMES, help="where to send (repeatable; default stream)")
    parser.add_argument("--maxlen", type=non_negative_int, default=100_000,
                        help="trim each stream to about this many entries (0: never; default 100000)")
    parser.add_argument("--window", type=parse_duration, default=1.0, metavar="DURATION",
                        help="readings within one window form one sample (default 1s)")
    parser.add_argument("--duration", type=parse_duration, metavar="DURATION", help="replay at most this much of each drive")
    parser.add_argument("--spread-starts", action="store_true",
                        help="start each vehicle at a different point of its drive (default: all at the start)")
    parser.add_argument("--pipeline", type=positive_int, default=500, help="commands per pipelined write (default 500)")
    parser.add_argument("--password-file", type=Path, help="file holding the Redis password (default: $REDIS_PASSWORD)")
    parser.add_argument("--tls-ca", help="CA bundle for rediss:// (default: $REDIS_TLS_CA)")
    parser.add_argument("--tls-cert", help="client certificate (default: $REDIS_TLS_CERT)")
    parser.add_argument("--tls-key", help="client key (default: $REDIS_TLS_KEY)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def load_drives(paths: Sequence[str], stderr: TextIO) -> tuple[list[Drive], int]:
    """Every drive under the paths, and how many malformed rows were skipped (each one warned about)."""
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = find_drives(path)
            if not found:
                raise UsageError(f"no Idneo logs (*.csv) in folder: {text}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no such file or folder: {text}")
    drives: list[Drive] = []
    malformed = 0
    for file in files:
        try:
            drive = read_drive(file)
        except DriveFormatError as error:
            raise UsageError(f"not an Idneo log: {error}") from None
        except UnicodeDecodeError:
            raise UsageError(f"not an Idneo log: {file}: not UTF-8 text") from None
        for problem in drive.problems:
            print(f"{PROG}: warning: {problem} (row skipped)", file=stderr)
        malformed += len(drive.problems)
        drives.append(drive)
    return drives, malformed


def _targets(args: argparse.Namespace) -> list[tuple[str, RedisTarget]]:
    password = None
    if args.password_file is not None:
        try:
            password = args.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise UsageError(f"cannot read --password-file {args.password_file}: {error.strerror}") from None
    env = dict(os.environ)
    for flag, variable in (("tls_ca", "REDIS_TLS_CA"), ("tls_cert", "REDIS_TLS_CERT"), ("tls_key", "REDIS_TLS_KEY")):
        if getattr(args, flag):
            env[variable] = getattr(args, flag)
    targets: list[tuple[str, RedisTarget]] = []
    for position, spec in enumerate(args.endpoint or [env.get("REDIS_URL") or DEFAULT_URL], start=1):
        node, url = spec.split("=", 1) if re.match(r"^[\w.-]+=", spec) else (f"edge-{position}", spec)
        target = target_from_env(url, password, env)
        try:
            connection_kwargs(target)
        except RedisSetupError as error:
            raise UsageError(f"--endpoint {error}") from None
        targets.append((node, target))
    nodes = [node for node, _ in targets]
    if len(set(nodes)) != len(nodes):
        raise UsageError(f"two endpoints share a node name: {', '.join(nodes)}")
    return targets


def print_summary(sender: Sender, seconds: float, malformed: int, interrupted: bool, stdout: TextIO) -> None:
    """Samples are counted once they are in Redis (the pipeline was flushed without error)."""
    samples = sum(sender.sent[(sender.sinks[0].name, endpoint.node)] for endpoint in sender.endpoints)
    print(f"sent {samples} samples in {seconds:.2f} s", file=stdout)
    for endpoint in sender.endpoints:
        for sink in sender.sinks:
            count = sender.sent[(sink.name, endpoint.node)]
            print(f"  {sink.name} -> {endpoint.node} ({endpoint.target.shown}): {count}", file=stdout)
    print(f"malformed rows skipped: {malformed}", file=stdout)
    if interrupted:
        print("interrupted: stopped after flushing the queued samples", file=stdout)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        targets = _targets(args)
        drives, malformed = load_drives(args.paths, stderr)
        samples_by_drive = [drive_samples(drive, args.window) for drive in drives]
        if not any(samples_by_drive):
            raise UsageError("the logs hold no readings to replay")
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=stderr)
        return EXIT_USAGE
    vehicles = plan_vehicles(args.vehicles, len(drives), args.window, args.vehicle_prefix)
    if args.spread_starts:
        vehicles = spread_starts(vehicles, samples_by_drive, args.duration)
    sinks = [make_sink(name, args.maxlen) for name in dict.fromkeys(args.sink or ["stream"])]
    sender = Sender([Endpoint(node, target) for node, target in targets], sinks, args.speed, args.handover_every,
                    pipeline_size=args.pipeline)
    progress = Progress(count_sends(vehicles, samples_by_drive, args.duration), stderr,
                        enabled=not args.quiet and stderr.isatty())
    restore = _catch_sigint(sender.stop)
    started = time.monotonic()
    try:
        for endpoint in sender.endpoints:
            endpoint.open(sinks)
        sender.run(schedule(vehicles, samples_by_drive, args.duration), time.time_ns(), progress)
    except ReplayFailure as error:
        print(f"{PROG}: error: {error}", file=stderr)
        print_summary(sender, time.monotonic() - started, malformed, False, stdout)
        return EXIT_FAILURE
    finally:
        restore()
    interrupted = sender.stop.is_set()
    print_summary(sender, time.monotonic() - started, malformed, interrupted, stdout)
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def _catch_sigint(stop: threading.Event):  # type: ignore[no-untyped-def]
    """Turn Ctrl-C into a stop request; returns the function that puts the old handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    return lambda: signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
