"""The recorder's Flux subset: what it selects, the annotated CSV influxdb-client reads, and every query it refuses."""

from __future__ import annotations

import csv
import io
import re

import pytest

from apps.testing.flux_query import FluxError, annotated_csv, parse, rfc3339, tables
from apps.testing.influx_recorder import Point

NOW = 1_800_000_000_000_000_000
SECOND = 1_000_000_000
POINTS = [Point("prediction", {"model_version": "m1", "site": "lab", "vehicle": vehicle},
                {"anomaly_score": 0.5 + i, "reconstructed__vehicle_speed": 40.0 + i}, NOW - (10 - i) * SECOND, 0)
          for vehicle in ("car-1", "car-2") for i in range(3)]
POINTS.append(Point("other", {"vehicle": "car-1"}, {"x": 1.0}, NOW - SECOND, 0))
POINTS.append(Point("prediction", {"model_version": "m1", "site": "lab", "vehicle": "car-1"},
                    {"anomaly_score": 9.0}, NOW - 7200 * SECOND, 0))  # two hours ago


def select(text: str) -> list:
    return tables(POINTS, parse(text, NOW))


def test_range_and_filters_select_points_per_series() -> None:
    result = select('from(bucket: "predictions") |> range(start: -1h) '
                    '|> filter(fn: (r) => r._measurement == "prediction" and r["vehicle"] == "car-2" '
                    'and (r._field == "anomaly_score" or r._field == "nothing"))')
    (table,) = result
    assert [row["_value"] for row in table.rows] == [0.5, 1.5, 2.5]
    assert table.group == {"_start", "_stop", "_field", "_measurement", "model_version", "site", "vehicle"}


def test_and_binds_tighter_than_or() -> None:
    result = select('from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "prediction" '
                    'and r.vehicle == "car-1" or r.vehicle == "car-2" and r._field == "anomaly_score")')
    series = sorted((table.rows[0]["vehicle"], table.rows[0]["_field"]) for table in result)
    assert series == [("car-1", "anomaly_score"), ("car-1", "reconstructed__vehicle_speed"),
                      ("car-2", "anomaly_score")]


def test_not_equal_and_the_stop_bound() -> None:
    result = select(f'from(bucket: "b") |> range(start: 0, stop: {rfc3339(NOW - 9 * SECOND)}) '
                    '|> filter(fn: (r) => r._measurement != "other" and r._field == "anomaly_score")')
    assert sorted(row["_value"] for table in result for row in table.rows) == [0.5, 0.5, 9.0]  # stop is exclusive


def test_pivot_makes_one_row_per_time_with_every_field() -> None:
    (first, second) = select('from(bucket: "b") |> range(start: -1h, stop: 1d) '
                             '|> filter(fn: (r) => r._measurement == "prediction") '
                             '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")')
    assert first.columns == ["_start", "_stop", "_time", "_measurement", "model_version", "site", "vehicle",
                             "anomaly_score", "reconstructed__vehicle_speed"]
    assert [(row["vehicle"], row["anomaly_score"], row["reconstructed__vehicle_speed"]) for row in second.rows] == [
        ("car-2", 0.5, 40.0), ("car-2", 1.5, 41.0), ("car-2", 2.5, 42.0)]


def test_annotated_csv_has_the_annotations_and_one_table_id_per_series() -> None:
    text = annotated_csv(select('from(bucket: "b") |> range(start: -1h) '
                                '|> filter(fn: (r) => r._measurement == "prediction" and r._field == "anomaly_score")'))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["#datatype", "string", "long", "dateTime:RFC3339", "dateTime:RFC3339"]
    assert rows[1][0] == "#group" and rows[2][:2] == ["#default", "_result"]
    assert rows[3] == ["", "result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement",
                       "model_version", "site", "vehicle"]
    assert [row[2] for row in rows[4:] if row] == ["0", "0", "0", "1", "1", "1"]
    assert rows[4][5] == rfc3339(NOW - 10 * SECOND) and rows[4][6] == "0.5"


def test_times_are_rfc3339_nano_without_trailing_zeros() -> None:
    assert rfc3339(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert rfc3339(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339(1_700_000_000_000_000_001) == "2023-11-14T22:13:20.000000001Z"


@pytest.mark.parametrize(("query", "message"), [
    ('range(start: -1h)', "the query must start with from"),
    ('from(bucket: "b") |> filter(fn: (r) => r._field == "x")', "from() must be followed by range"),
    ('from(bucket: "b") |> range(start: -1h) |> mean()', "unsupported function mean()"),
    ('from(bucket: "b") |> range(stop: now())', "range() needs start"),
    ('from(bucket: "b") |> range(start: yesterday)', "cannot read the time 'yesterday'"),
    ('from(bucket: "b") |> range(start: -1y)', "cannot read the duration '1y'"),
    ('from(bucket: b) |> range(start: -1h)', "from(bucket): expected a string in double quotes"),
    ('from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r._value > 3)', "unsupported expression at '> 3'"),
    ('from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => (r._field == "x")', "a parenthesis is not closed"),
    ('from(bucket: "b") |> range(start: -1h) |> filter(fn: (x) => x._field == "x")', "expected fn: (r) =>"),
    (('from(bucket: "b") |> range(start: -1h) |> pivot(rowKey: ["_time"], columnKey: ["vehicle"], '
     'valueColumn: "_value")'), 'only columnKey: ["_field"]'),
    (('from(bucket: "b") |> range(start: -1h) |> pivot(rowKey: ["_time"], columnKey: ["_field"], '
     'valueColumn: "_value") |> filter(fn: (r) => r.vehicle == "a")'), "pivot() must be the last"),
])
def test_queries_outside_the_subset_are_refused_by_name(query: str, message: str) -> None:
    with pytest.raises(FluxError, match=re.escape(message)):
        parse(query, NOW)


def test_the_readers_query_selects_what_it_asks_for() -> None:
    """apps.prediction_reader's Flux, run by the recorder's subset: the fields and vehicles asked, pivoted."""
    from apps.prediction_reader import predictions_query

    odd = Point("prediction", {"model_version": "m1", "site": "lab", "vehicle": 'car "3", left'},
                {"anomaly_score": 7.0}, NOW - SECOND, 0)
    query = predictions_query("predictions", "-1h", fields=["anomaly_score"], vehicles=["car-1", 'car "3", left'])
    result = tables([*POINTS, odd], parse(query, NOW))
    assert [(t.rows[0]["vehicle"], [r["anomaly_score"] for r in t.rows]) for t in result] == [
        ('car "3", left', [7.0]), ("car-1", [0.5, 1.5, 2.5])]
    assert all("reconstructed__vehicle_speed" not in t.columns for t in result)
    vehicles = {row[-2] for row in csv.reader(io.StringIO(annotated_csv(result))) if row and row[0] == ""}
    assert 'car "3", left' in vehicles  # a value with a quote and a comma survives the CSV
