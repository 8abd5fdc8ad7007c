"""Stream entry IDs the injector picks itself, so that sending a command twice cannot add an entry twice.

When a connection breaks while a pipeline is in flight, Redis may have run any prefix of it: the client
cannot tell which XADDs happened. So every XADD carries an explicit entry ID, chosen the way Redis picks
one (`<wall-clock ms>-<sequence>`, strictly increasing per stream). The in-doubt commands are sent again
with the same IDs after reconnecting, and Redis refuses each one it already has with STALE_ID_REPLY
(its ID is not above the stream's top): that refusal means "already in the stream".
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

STALE_ID_REPLY = "equal or smaller than the target stream top item"
# Replies that say "not now" (the command did not run): a replica not yet promoted, a master lost, a slot moving.
TRANSIENT_REPLIES = (redis.exceptions.ReadOnlyError, redis.exceptions.MasterDownError, redis.exceptions.TryAgainError)


@dataclass
class EntryIdClock:
    """The last entry ID handed out for one stream; the next is above it and above the wall clock."""

    ms: int = 0
    seq: int = -1

    def next_id(self, now_ms: int) -> str:
        if now_ms > self.ms:
            self.ms, self.seq = now_ms, 0
        else:
            self.seq += 1
        return f"{self.ms}-{self.seq}"

    def skip_past(self, top: str) -> None:
        """Hand out IDs above `top` from now on (another writer put entries ahead of ours)."""
        self.ms, self.seq = max((self.ms, self.seq), id_key(top))


def id_key(entry_id: str) -> tuple[int, int]:
    """An entry ID as a comparable (ms, sequence)."""
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def is_stale_id(reply: object) -> bool:
    return isinstance(reply, redis.ResponseError) and STALE_ID_REPLY in str(reply)


def is_transient(reply: object) -> bool:
    return isinstance(reply, TRANSIENT_REPLIES)
