"""The ClientApp: trains where the data is, on its own node's vehicle API stream, and answers with the model only.

Its SuperNode is started with `--node-config 'site="<cluster>" node="<k8s node>" redis-url="redis://..."'`
(infra/components/federated.py writes that); the Redis password comes from REDIS_PASSWORD
(and TLS files from REDIS_TLS_*), as for the worker (apps/redisconn.py). The rows are
read again for every request and never leave this process: answers hold model text,
counts, sums and a histogram (apps/federated/node.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from apps.federated import messages
from apps.federated.local_data import LocalData, local_data
from apps.federated.node import TrainRequest, residuals_answer, scores_answer, train_answer
from apps.redisconn import connect, target_from_env

app = ClientApp()
NODE_CONFIG_KEYS = ("site", "node", "redis-url")


@dataclass(frozen=True)
class NodeSettings:
    site: str
    node: str
    redis_url: str

    @classmethod
    def from_node_config(cls, node_config: dict) -> NodeSettings:
        missing = [key for key in NODE_CONFIG_KEYS if not str(node_config.get(key, "")).strip()]
        if missing:
            raise ValueError(f"the SuperNode's --node-config lacks {', '.join(missing)} "
                             f"(expected {' '.join(f'{key}=...' for key in NODE_CONFIG_KEYS)})")
        return cls(str(node_config["site"]), str(node_config["node"]), str(node_config["redis-url"]))


def read_local(context: Context) -> tuple[NodeSettings, LocalData]:
    settings = NodeSettings.from_node_config(dict(context.node_config))
    run = context.run_config
    client = connect(target_from_env(settings.redis_url))
    try:
        data = local_data(client, settings.node, int(run["max-samples"]), float(run["calibration-fraction"]))
    finally:
        client.close()
    return settings, data


@app.train()
def train(message: Message, context: Context) -> Message:
    settings, data = read_local(context)
    config = message.content[messages.CONFIG]
    run = context.run_config
    request = TrainRequest(trees=int(run["trees-per-visit"]), learning_rate=float(run["learning-rate"]),
                           min_samples=int(run["min-samples"]), seed=int(config.get("server-round", 1)))
    arrays, metrics = train_answer(messages.from_record(message.content[messages.ARRAYS]), request, data)
    return Message(messages.answer(arrays, metrics, settings.site, settings.node), reply_to=message)


@app.query()
def query(message: Message, context: Context) -> Message:
    settings, data = read_local(context)
    phase = message.content[messages.CONFIG][messages.PHASE]
    model = messages.from_record(message.content[messages.ARRAYS])
    if phase == messages.RESIDUALS:
        content = messages.answer(None, residuals_answer(model, data), settings.site, settings.node)
    elif phase == messages.SCORES:
        sigma = np.asarray(model.pop(messages.SIGMA), dtype=float)
        histogram = scores_answer(model, sigma, data)
        content = messages.answer(histogram, {"num-examples": float(len(data.calibration))}, settings.site,
                                  settings.node)
    else:
        raise ValueError(f"unknown query phase {phase!r}; expected {messages.RESIDUALS!r} or {messages.SCORES!r}")
    return Message(content, reply_to=message)
