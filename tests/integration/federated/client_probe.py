"""Run the ClientApp on one train message, as a SuperNode would, and print everything its answer holds (JSON).

Executed with Flower's environment (.venv-federated) by test_what_leaves_a_node.py:
    python -m tests.integration.federated.client_probe <redis-url> <node> <site>
REDIS_PASSWORD comes from the environment, as in a SuperNode's pod.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from apps.contracts import SENSOR_NAMES
from apps.federated import client_app, messages
from apps.federated.boosters import Boosters, encode

RUN_CONFIG = {"max-samples": 50000, "calibration-fraction": 0.2, "trees-per-visit": 2, "learning-rate": 0.1,
              "min-samples": 50}


def main(redis_url: str, node: str, site: str) -> None:
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, 1  # what the SuperNode's runtime sets
    content = RecordDict({messages.ARRAYS: messages.to_record(encode(Boosters.empty(SENSOR_NAMES))),
                          messages.CONFIG: ConfigRecord({"server-round": 1})})
    request = Message(content, dst_node_id=1, message_type=MessageType.TRAIN)
    context = Context(run_id=1, node_id=1, node_config={"site": site, "node": node, "redis-url": redis_url},
                      state=RecordDict(), run_config=RUN_CONFIG)
    reply = client_app.app(message=request, context=context)
    records = {}
    for name, record in reply.content.items():
        if isinstance(record, ArrayRecord):
            records[name] = {"type": "arrays", "items": {key: np.asarray(array.numpy(), dtype=np.uint8).tobytes()
                                                          .decode("latin-1") for key, array in record.items()}}
        elif isinstance(record, MetricRecord):
            records[name] = {"type": "metrics", "items": {key: float(value) for key, value in record.items()}}
        elif isinstance(record, ConfigRecord):
            records[name] = {"type": "config", "items": {key: str(value) for key, value in record.items()}}
        else:
            records[name] = {"type": type(record).__name__, "items": {}}
    print(json.dumps(records))


if __name__ == "__main__":
    main(*sys.argv[1:4])
