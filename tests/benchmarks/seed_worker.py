"""SEED BASELINE WORKER: the design this project replaced, kept only to measure against. Not used by the platform.

    python -m tests.benchmarks.seed_worker     (bench_datapath starts it with the worker's environment)

Pub/sub channel, one pandas JSON frame per message, one feature row, one model call and one InfluxDB write
(influxdb-client, v2 API) per point, with the same model and per-vehicle feature builder as the training.
"""

from __future__ import annotations

import io
import os

from apps.contracts import PUBSUB_CHANNEL


def main() -> None:
    import pandas as pd
    import redis as redis_py
    from influxdb_client import InfluxDBClient, Point, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    from apps.model import load_model
    from apps.model.features import VehicleHistory

    model = load_model(os.environ["MODEL_URI"])  # LightGBM's own predict, as the seed had
    client = redis_py.Redis.from_url(os.environ["REDIS_URL"], password=os.environ["REDIS_PASSWORD"], protocol=2)
    pubsub = client.pubsub()
    pubsub.subscribe(PUBSUB_CHANNEL)
    influx = InfluxDBClient(url=os.environ["INFLUX_URL"], token=os.environ["INFLUX_TOKEN"], org=os.environ["INFLUX_ORG"])
    write_api = influx.write_api(write_options=SYNCHRONOUS)
    histories: dict[str, VehicleHistory] = {}
    for message in pubsub.listen():
        if message["type"] != "message":
            continue
        frame = pd.read_json(io.StringIO(message["data"].decode("utf-8")), orient="split")
        for _, row in frame.iterrows():
            vehicle = str(row["vehicle_id"])
            time_ns = int(pd.Timestamp(row["timestamp"]).value)
            values = {k: float(v) for k, v in row.drop(["vehicle_id", "timestamp"]).items() if pd.notna(v)}
            history = histories.setdefault(vehicle, VehicleHistory())
            history.observe(time_ns / 1e9, values)
            output = model.predict(history.features(time_ns / 1e9)[None, :])
            point = (Point("prediction").tag("vehicle", vehicle).tag("site", "bench")
                     .tag("model_version", model.version).field("anomaly_score", float(output.anomaly_score[0]))
                     .time(time_ns, WritePrecision.NS))
            write_api.write(bucket=os.environ["INFLUX_BUCKET"], record=point)


if __name__ == "__main__":
    main()
