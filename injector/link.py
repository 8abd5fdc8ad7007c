"""One edge node's Redis as the injector sees it: queued samples, flushed in pipelines, through outages.

A flush that loses its connection keeps every queued sample, marked in doubt (Redis may have run any
prefix of the pipeline), and retries with exponential backoff until the node answers again or has been
gone longer than `retry_for_s`. Sending an in-doubt sample again is safe for every sink:
- stream: its XADD carries the same explicit entry ID, which Redis refuses if it has it (injector.entry_ids);
- timeseries: TS.ADD ... ON_DUPLICATE LAST overwrites the same timestamp;
- pubsub: a published frame cannot be checked, so an in-doubt frame is published again (at least once).
While one node is down the others go on; its samples wait in its queue (bounded: past `max_queued` the
replay waits for that node).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.contracts import Measurement, stream_key
from apps.redisconn import RedisTarget, connect, describe_error
from apps.worker.backoff import Backoff
from injector.entry_ids import EntryIdClock, id_key, is_stale_id, is_transient
from injector.sinks import Sink, SinkUnavailable

# The client must not retry a pipeline on its own: it would resend commands this module counts as fresh.
CLIENT_SETTINGS = {"retry": Retry(NoBackoff(), 0), "socket_timeout": 10}
MAX_REBASES = 5  # fresh entries refused in a row because other writers keep moving the stream's top


class ReplayFailure(RuntimeError):
    """Redis refused or could not be reached; the message is for the operator (exit 1)."""


class RedisGone(ReplayFailure):
    """A node stayed unreachable for longer than --retry-for (exit 3)."""


@dataclass
class Queued:
    sink: Sink
    measurement: Measurement
    entry_id: str = "*"  # explicit for the stream sink (see injector.entry_ids)
    in_doubt: bool = False  # an earlier attempt may have run it


@dataclass
class Link:
    node: str
    target: RedisTarget
    retry_for_s: float = 60.0
    log: Callable[[str], None] = print
    client: redis.Redis | None = None
    queued: list[Queued] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)  # samples in Redis, per sink name
    reconnects: int = 0
    resent: int = 0  # in-doubt samples sent again
    already_there: int = 0  # of those, stream entries Redis already had
    clock: EntryIdClock = field(default_factory=EntryIdClock)
    backoff: Backoff = field(default_factory=Backoff)
    down_since: float | None = None
    next_attempt: float = 0.0
    refused_for_now: redis.RedisError | None = None  # a transient reply in the last attempt
    last_acknowledged: str = "0-0"  # the highest entry ID Redis said it has

    def open(self, sinks: Sequence[Sink]) -> None:
        """Connect and check the server takes every sink's commands (fails at once: a wrong URL is likelier
        than an outage at the very start)."""
        client = connect(self.target, **CLIENT_SETTINGS)
        try:
            client.ping()
            for sink in sinks:
                sink.check(client)
        except SinkUnavailable as error:
            raise ReplayFailure(f"{self.target.shown}: {error}") from None
        except redis.RedisError as error:
            raise ReplayFailure(describe_error(self.target, error)) from None
        self.client = client

    def queue(self, sinks: Sequence[Sink], measurement: Measurement) -> None:
        for sink in sinks:
            entry_id = self.clock.next_id(time.time_ns() // 1_000_000) if sink.ordered else "*"
            self.queued.append(Queued(sink, measurement, entry_id))

    @property
    def unsent(self) -> int:
        """Samples queued and not yet in Redis (per sink: the first sink's count)."""
        first = self.queued[0].sink.name if self.queued else None
        return sum(1 for item in self.queued if item.sink.name == first)

    @property
    def in_doubt(self) -> int:
        """Of the unsent samples, those a broken pipeline may have delivered (Redis may have them)."""
        first = self.queued[0].sink.name if self.queued else None
        return sum(1 for item in self.queued if item.sink.name == first and item.in_doubt)

    def flush(self, stop: threading.Event | None = None, wait: bool = False) -> None:
        """Send what is queued. Without `wait`, at most one attempt, none while backing off. With `wait`,
        retry until everything is in Redis, `stop` is set, or the node is gone past retry_for_s (RedisGone)."""
        while self.queued:
            now = time.monotonic()
            if self.down_since is not None and now < self.next_attempt:
                if not wait or (stop is not None and stop.is_set()):
                    return
                time.sleep(min(self.next_attempt - now, 0.1))
                continue
            try:
                self._attempt()
            except redis.AuthenticationError as error:
                raise ReplayFailure(describe_error(self.target, error)) from None
            except (redis.ConnectionError, redis.TimeoutError) as error:
                self._went_down(error, in_doubt=True)
            else:
                if self.refused_for_now is None:
                    self._came_back()
                    continue
                self._went_down(self.refused_for_now, in_doubt=False)
            if not wait:
                return

    def _attempt(self) -> None:
        """One pipeline of everything queued; keeps what Redis did not take. Raises on a broken connection."""
        assert self.client is not None, "open() first"
        self.refused_for_now = None
        if self.down_since is not None:
            self._check_nothing_acknowledged_was_lost()
        for _ in range(MAX_REBASES):
            pipe = self.client.pipeline(transaction=False)
            spans = []
            for item in self.queued:
                commands = item.sink.commands(self.node, item.measurement, item.entry_id)
                for command in commands:
                    pipe.execute_command(*command)
                spans.append(len(commands))
            replies = iter(pipe.execute(raise_on_error=False))
            kept, needs_new_id = [], []
            for item, count in zip(self.queued, spans, strict=True):
                self._settle(item, [next(replies) for _ in range(count)], kept, needs_new_id)
            self.queued = kept
            if not needs_new_id:
                return
            self._move_past_other_writers(needs_new_id)
        raise ReplayFailure(f"{self.target.shown}: another writer keeps adding entries to {stream_key(self.node)} "
                            "ahead of the injector's; stop it or replay to another node")

    def _settle(self, item: Queued, replies: list[object], kept: list[Queued], needs_new_id: list[Queued]) -> None:
        """Count the item as sent, or keep it (in order) for the next attempt."""
        errors = [reply for reply in replies if isinstance(reply, Exception)]
        stale = bool(errors) and all(is_stale_id(error) for error in errors)
        if not errors or (stale and item.in_doubt):
            self.sent[item.sink.name] += 1
            if item.sink.ordered:
                self.last_acknowledged = item.entry_id
            self.resent += item.in_doubt
            self.already_there += stale  # the broken pipeline had run it: Redis has this very entry
        elif stale:
            kept.append(item)  # never sent before: someone else's entries are ahead; it needs a later ID
            needs_new_id.append(item)
        elif all(is_transient(error) for error in errors):
            kept.append(item)  # refused for now (a replica not yet promoted): it did not run
            self.refused_for_now = errors[0]
        else:
            raise ReplayFailure(f"{self.target.shown}: {errors[0]}")

    def _stream_top(self) -> str:
        """The highest entry ID the node's stream ever had (it survives trimming); 0-0 if there is no stream."""
        assert self.client is not None
        try:
            top = self.client.xinfo_stream(stream_key(self.node))["last-generated-id"]
        except redis.ResponseError:  # no such key
            return "0-0"
        return top.decode() if isinstance(top, bytes) else str(top)

    def _check_nothing_acknowledged_was_lost(self) -> None:
        """A Redis without persistence comes back without what it acknowledged; say so (it cannot be undone)."""
        top = self._stream_top()
        if id_key(top) < id_key(self.last_acknowledged):
            self.log(f"warning: {self.node}: redis at {self.target.address} came back without entries it had "
                     f"acknowledged (its stream {stream_key(self.node)} ends at {top}, the injector had sent up to "
                     f"{self.last_acknowledged}): those samples are lost; give it persistence (appendonly yes)")

    def _move_past_other_writers(self, items: list[Queued]) -> None:
        self.clock.skip_past(self._stream_top())
        now_ms = time.time_ns() // 1_000_000
        for item in items:
            item.entry_id = self.clock.next_id(now_ms)

    def _went_down(self, error: redis.RedisError, in_doubt: bool) -> None:
        now = time.monotonic()
        for item in self.queued:
            item.in_doubt = item.in_doubt or in_doubt
        if self.down_since is None:
            self.down_since = now
            self.log(f"warning: {self.node}: {describe_error(self.target, error)}; retrying for up to "
                     f"{self.retry_for_s:g} s (--retry-for) with {self.unsent} samples queued")
        elif now - self.down_since > self.retry_for_s:
            raise RedisGone(f"{describe_error(self.target, error)}; gave up after {now - self.down_since:.0f} s "
                            "of retrying (--retry-for)")
        self.next_attempt = now + self.backoff.delay()

    def _came_back(self) -> None:
        if self.down_since is None:
            return
        self.reconnects += 1
        self.log(f"{self.node} ({self.target.shown}) answers again after {time.monotonic() - self.down_since:.1f} s")
        self.down_since = None
        self.backoff.reset()

