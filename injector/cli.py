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

Sample times are `--start` (default: now) plus drive time, so running the same replay again with the same
--start and vehicles writes the same points (the summary prints the start to pass). A node whose Redis
goes away (restart, failover) is retried with backoff for --retry-for; nothing it had is sent twice and
nothing queued is lost (see injector/link.py), while the other nodes go on.

Exit codes: 0 all sent; 1 runtime failure (Redis unreachable at the start, refused, lacks a module);
2 usage or input error (bad flag, missing file, not an Idneo log); 3 a node's Redis went away and did not
come back within --retry-for (the summary counts what was sent and what was not); 130 interrupted by
Ctrl-C (what was queued is flushed and counted in the summary first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from apps.idneo import Drive, DriveFormatError, find_drives, read_drive
from apps.redisconn import RedisSetupError, RedisTarget, connection_kwargs, target_from_env
from injector.link import Link, RedisGone, ReplayFailure
from injector.replay import count_sends, drive_samples, plan_vehicles, schedule, spread_starts
from injector.sender import Progress, Sender
from injector.sinks import SINK_NAMES, make_sink

PROG = "s6g-inject"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_REDIS_GONE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
MAX_START_NS = 2**62  # leaves room for any drive before InfluxDB's int64 nanoseconds run out
_EPOCH = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_FRACTION = re.compile(r"(?<=\d\d:\d\d:\d\d)[.,](\d+)")  # the seconds' fraction of an ISO-8601 time
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


def parse_start(text: str) -> int:
    """The replay's time origin in ns since the epoch: ISO-8601 with a UTC offset, or epoch seconds (both to the ns)."""
    hint = "an ISO-8601 time with its UTC offset, e.g. 2026-01-31T08:00:00Z, or epoch seconds, e.g. 1769846400"
    text = text.strip()
    try:
        start_ns = int(decimal.Decimal(text).scaleb(9).to_integral_value()) if _EPOCH.match(text) else _iso_ns(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a start time: {text!r} ({hint})") from None
    if start_ns is None:  # the same replay on machines in other time zones must give the same points
        raise argparse.ArgumentTypeError(f"start time without a UTC offset: {text!r} ({hint})")
    if not 0 < start_ns < MAX_START_NS:
        raise argparse.ArgumentTypeError(f"start time out of range: {text!r} (after 1970 and before 2116)")
    return start_ns


def _iso_ns(text: str) -> int | None:
    """ns since the epoch of an ISO-8601 time (None without a UTC offset); datetime keeps only microseconds,
    so the fraction of a second is read here."""
    fraction = _FRACTION.search(text)
    moment = dt.datetime.fromisoformat(_FRACTION.sub("", text, count=1))
    if moment.tzinfo is None:
        return None
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    sub_second = int(fraction.group(1)[:9].ljust(9, "0")) if fraction else 0
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + sub_second


def iso_utc(ns: int) -> str:
    """ns since the epoch as ISO-8601 UTC with the nanoseconds that parse_start reads back exactly."""
    moment = dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{ns % 1_000_000_000:09d}"
    while fraction.endswith("000"):  # ms, us or ns: as many digits as the time has
        fraction = fraction[:-3]
    return f"{moment}.{fraction}Z" if fraction else f"{moment}Z"


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
    parser.add_argument("--maxlen", type=non_negative_int, default=0,
                        help="trim each stream to about this many entries, read or not (default 0: never; the "
                             "worker trims what it has acknowledged, to the stack's vehicleApi.streamMaxlen)")
    parser.add_argument("--window", type=parse_duration, default=1.0, metavar="DURATION",
                        help="readings within one window form one sample (default 1s)")
    parser.add_argument("--duration", type=parse_duration, metavar="DURATION", help="replay at most this much of each drive")
    parser.add_argument("--spread-starts", action="store_true",
                        help="start each vehicle at a different point of its drive (default: all at the start)")
    parser.add_argument("--pipeline", type=positive_int, default=500, help="samples per pipelined write (default 500)")
    parser.add_argument("--start", type=parse_start, metavar="TIME",
                        help="the replay's time origin: ISO-8601 with offset or epoch seconds (default: now)")
    parser.add_argument("--retry-for", type=parse_duration, default=60.0, metavar="DURATION",
                        help="how long to retry a node whose Redis went away before giving up (default 60s)")
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
        except OSError as error:
            raise UsageError(f"cannot read {file}: {error.strerror}") from None
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


@dataclass(frozen=True)
class Outcome:
    seconds: float
    planned: int
    start_ns: int
    malformed: int
    interrupted: bool = False


def print_summary(sender: Sender, outcome: Outcome, stdout: TextIO) -> None:
    """Samples are counted once Redis has them (their pipeline ran, or Redis refused a resent entry it had)."""
    samples = sum(sender.sent[(sender.sinks[0].name, link.node)] for link in sender.links)
    print(f"sent {samples} samples in {outcome.seconds:.2f} s", file=stdout)
    for link in sender.links:
        for sink in sender.sinks:
            print(f"  {sink.name} -> {link.node} ({link.target.shown}): {sender.sent[(sink.name, link.node)]}",
                  file=stdout)
    in_doubt = sum(link.in_doubt for link in sender.links)
    doubt = f" ({in_doubt} of them in doubt: their connection broke, Redis may have them)" if in_doubt else ""
    print(f"not sent: {outcome.planned - samples} of {outcome.planned} planned samples{doubt}", file=stdout)
    start = iso_utc(outcome.start_ns)
    print(f"replay start: {start} (--start {start} writes the same sample times again)", file=stdout)
    for link in sender.links:
        if link.reconnects or link.resent:
            print(f"redis outages on {link.node}: {link.reconnects}; {link.resent} in-doubt samples sent again, "
                  f"{link.already_there} of them already in Redis", file=stdout)
    print(f"malformed rows skipped: {outcome.malformed}", file=stdout)
    if outcome.interrupted and not any(link.queued for link in sender.links):
        print("interrupted: stopped after flushing the queued samples", file=stdout)
    elif outcome.interrupted:
        print("interrupted: stopped while a node was unreachable; its queued samples were not sent", file=stdout)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        targets = _targets(args)
        drives, malformed = load_drives(args.paths, stderr)
        samples_by_drive = [drive_samples(drive, args.window) for drive in drives]  # read_drive: never empty
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=stderr)
        return EXIT_USAGE
    vehicles = plan_vehicles(args.vehicles, len(drives), args.window, args.vehicle_prefix)
    if args.spread_starts:
        vehicles = spread_starts(vehicles, samples_by_drive, args.duration)
    sinks = [make_sink(name, args.maxlen) for name in dict.fromkeys(args.sink or ["stream"])]

    def log(message: str) -> None:
        print(f"{PROG}: {message}", file=stderr, flush=True)

    links = [Link(node, target, retry_for_s=args.retry_for, log=log) for node, target in targets]
    sender = Sender(links, sinks, args.speed, args.handover_every, pipeline_size=args.pipeline)
    planned = count_sends(vehicles, samples_by_drive, args.duration)
    progress = Progress(planned, stderr, enabled=not args.quiet and stderr.isatty())
    start_ns = args.start or time.time_ns() // 1_000_000 * 1_000_000  # whole ms: the printed start is exact
    restore = _catch_sigint(sender.stop)
    started = time.monotonic()
    code = EXIT_OK
    try:
        for link in links:
            link.open(sinks)
        sender.run(schedule(vehicles, samples_by_drive, args.duration), start_ns, progress)
    except ReplayFailure as error:
        print(f"{PROG}: error: {error}", file=stderr)
        code = EXIT_REDIS_GONE if isinstance(error, RedisGone) else EXIT_FAILURE
    finally:
        restore()
    interrupted = code == EXIT_OK and sender.stop.is_set()
    print_summary(sender, Outcome(time.monotonic() - started, planned, start_ns, malformed, interrupted), stdout)
    return EXIT_INTERRUPTED if interrupted else code


def _catch_sigint(stop: threading.Event):  # type: ignore[no-untyped-def]
    """Turn Ctrl-C into a stop request; returns the function that puts the old handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    return lambda: signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
