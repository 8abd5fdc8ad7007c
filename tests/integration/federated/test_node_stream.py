"""Reading a node's stream: newest entries first, in pages, read-only, entries that break the contract counted."""

from __future__ import annotations

import pytest

from apps.contracts import CONSUMER_GROUP, Measurement, stream_key
from apps.federated.local_data import READ_CHUNK, local_data, read_recent
from apps.testing.redis_server import TEST_PASSWORD, RedisServer
from tests.conftest import need_binary

pytestmark = pytest.mark.integration


def test_the_newest_samples_in_time_order_and_the_worker_s_group_untouched(tmp_path):
    need_binary("redis-server", "Debian package redis-server")
    with RedisServer(password=TEST_PASSWORD, folder=tmp_path / "redis") as server:
        client = server.client()
        key = stream_key("node-1")
        client.xgroup_create(key, CONSUMER_GROUP, id="0", mkstream=True)
        total = READ_CHUNK + 700  # more than one page
        pipe = client.pipeline(transaction=False)
        for i in range(total):
            pipe.xadd(key, Measurement(f"v{i % 3}", 10**18 + i * 10**8, {"vehicle_speed": float(i)}).to_fields())
        pipe.xadd(key, {"vehicle": "v1", "t_ns": "not-a-time", "schema": "1"})  # breaks the contract
        pipe.execute()

        measurements, rejected = read_recent(client, "node-1", total - 100)
        assert rejected == 1
        assert [m.values["vehicle_speed"] for m in measurements] == [float(i) for i in range(101, total)]
        data = local_data(client, "node-1", 10_000, 0.2)
        assert data.vehicles == 3 and data.rows == total  # every good entry, the bad one left out
        assert client.xinfo_groups(key)[0]["pending"] == 0  # nothing read through the worker's group
