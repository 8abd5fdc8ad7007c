"""The ServerApp: cyclic training of the per-sensor boosters across the nodes, calibration from statistics, MLflow.

Why cyclic (Flower's FedXgbCyclic, one node per server round, the model passed on
with LightGBM's `init_model`): the result is one booster per sensor, the very
ConditionModel the workers and KServe already load, and a node sends one model per
visit. Bagging (FedXgbBagging) would serve an ensemble of every site's trees (a new
model format, predictions N times slower on Raspberry Pi workers), and averaging, as
for neural networks, has no meaning for trees. Cyclic's known weakness, the last
node weighing most, is bounded by visiting every node `num-rounds` times in the same
order with a small learning rate.

After training: sigma and the sensors' spread from every node's residual sums, then
the alarm threshold from their merged score histograms (apps/federated/calibration.py);
then the model is logged and registered in MLflow under the name and alias the
workers load (apps/federated/registry.py). Per round, what each site sent is logged.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from logging import INFO

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedXgbCyclic
from flwr.supercore import log

from apps.contracts import SENSOR_NAMES
from apps.federated import calibration, messages
from apps.federated.boosters import Boosters, decode, encode
from apps.federated.node import HISTOGRAM_KEY
from apps.model.condition import ConditionModel
from apps.model.detectors import FaultDetectors

app = ServerApp()
NODE_WAIT_S = 300.0


@dataclass
class SiteRound:
    """What one node sent in one server round (model bytes and its metrics)."""

    server_round: int
    site: str
    node: str
    bytes_sent: int
    metrics: dict[str, float]


class CyclicTrees(FedXgbCyclic):
    """FedXgbCyclic, keeping what each site sent per round (the evaluation's and the watcher's figures)."""

    def __init__(self, min_available_nodes: int) -> None:
        super().__init__(fraction_evaluate=0.0, min_available_nodes=min_available_nodes)
        self.sent: list[SiteRound] = []

    def aggregate_train(self, server_round: int, replies: Iterable[Message]):
        replies = list(replies)
        for reply in replies:
            if reply.has_error():
                continue
            node = reply.content[messages.NODE]
            arrays = reply.content[messages.ARRAYS]
            metrics = {key: float(value) for key, value in reply.content[messages.METRICS].items()}
            record = SiteRound(server_round, str(node["site"]), str(node["node"]), int(arrays.count_bytes()), metrics)
            self.sent.append(record)
            log(INFO, "round %d: site %s node %s sent %d bytes; %s", server_round, record.site, record.node,
                record.bytes_sent, ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items())))
        return super().aggregate_train(server_round, replies)

    def configure_evaluate(self, server_round, arrays, config, grid):
        """No evaluate messages: each train answer already holds the node's held-out RMSE after its visit, and
        every message costs a ClientApp process start on the node (seconds on a Raspberry Pi)."""
        return []


def wait_for_nodes(grid: Grid, minimum: int, timeout_s: float = NODE_WAIT_S) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        nodes = sorted(grid.get_node_ids())
        if len(nodes) >= minimum:
            return nodes
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(nodes)} SuperNode(s) connected after {timeout_s:.0f} s; the run needs "
                               f"min-nodes {minimum} (are the SuperNodes registered with `flwr supernode register`?)")
        time.sleep(1.0)


def query_all(grid: Grid, nodes: list[int], phase: str, arrays: dict[str, np.ndarray], timeout: float
              ) -> list[RecordDict]:
    """Ask every node for one kind of statistics; a node that fails is named and stops the calibration."""
    content = RecordDict({messages.ARRAYS: messages.to_record(arrays),
                          messages.CONFIG: ConfigRecord({messages.PHASE: phase})})
    requests = [Message(content, dst_node_id=node, message_type=MessageType.QUERY) for node in nodes]
    replies = list(grid.send_and_receive(requests, timeout=timeout))
    failed = [f"node {reply.metadata.src_node_id}: {reply.error.reason}" for reply in replies if reply.has_error()]
    if failed or len(replies) < len(nodes):
        raise RuntimeError(f"calibration ({phase}): {len(replies)} of {len(nodes)} nodes answered; {failed}")
    return [reply.content for reply in replies]


def calibrate(grid: Grid, nodes: list[int], boosters: Boosters, quantile: float, timeout: float, version: str
              ) -> ConditionModel:
    arrays = encode(boosters)
    residuals = [dict(content[messages.METRICS]) for content in query_all(grid, nodes, messages.RESIDUALS, arrays,
                                                                           timeout)]
    sigma = calibration.pooled_sigma(residuals, boosters.sensors)
    scored = query_all(grid, nodes, messages.SCORES, {**arrays, messages.SIGMA: sigma}, timeout)
    histograms = [content[messages.ARRAYS][HISTOGRAM_KEY].numpy() for content in scored]
    return ConditionModel(version=version, sensors=boosters.sensors, cross=list(boosters.cross),
                          impute=list(boosters.impute), sigma=sigma,
                          detectors=FaultDetectors.score_only(calibration.threshold_from_histograms(histograms, quantile),
                                                              len(boosters.sensors), 1.0 - quantile),
                          reference_std=calibration.pooled_std(residuals, boosters.sensors))


@app.main()
def main(grid: Grid, context: Context) -> None:
    run = context.run_config
    nodes = wait_for_nodes(grid, int(run["min-nodes"]))
    strategy = CyclicTrees(min_available_nodes=len(nodes))
    rounds = int(run["num-rounds"]) * len(nodes)  # one node per server round: every node num-rounds times
    timeout = float(run["round-timeout"])
    log(INFO, "cyclic training over %d nodes: %d server rounds, %s trees per visit", len(nodes), rounds,
        run["trees-per-visit"])
    result = strategy.start(grid=grid, initial_arrays=messages.to_record(encode(Boosters.empty(SENSOR_NAMES))),
                            num_rounds=rounds, timeout=timeout)
    boosters = decode(messages.from_record(result.arrays))
    version = f"federated-{context.run_id}"
    model = calibrate(grid, nodes, boosters, float(run["alarm-quantile"]), timeout, version)
    log(INFO, "calibrated from %d nodes' statistics: threshold %.4f", len(nodes), model.threshold)
    if bool(run["register"]):
        from apps.federated.registry import register  # mlflow only where the run registers

        registered = register(model, strategy.sent, name=str(run["model-name"]), alias=str(run["model-alias"]),
                              experiment=str(run["experiment"]))
        log(INFO, "registered %s version %s as @%s", run["model-name"], registered, run["model-alias"])
