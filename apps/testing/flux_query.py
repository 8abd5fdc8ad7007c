"""The part of Flux that reading predictions back uses, evaluated over the InfluxDB recorder's points.

Supported (anything else is refused with the construct named, as InfluxDB refuses a bad query):

    from(bucket: "<bucket>")
      |> range(start: <-duration | duration | RFC3339 | 0>, stop: <... | now()>)   stop optional (now)
      |> filter(fn: (r) => <r.col or r["col"]> ==|!= "<string>" [and|or ...], parentheses allowed)
      |> pivot(rowKey: [...], columnKey: ["_field"], valueColumn: "_value")            optional, last

The answer is what InfluxDB 2 sends to influxdb-client: annotated CSV (#datatype, #group, #default), one
table per series (or per pivoted group), tables of the same columns in one block, blocks separated by an
empty line. So the replay report and notebook 03 read the recorder exactly as they read a real InfluxDB 2.
Used by apps/testing/influx_recorder.py; never in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the recorder imports this module
    from apps.testing.influx_recorder import Point

DURATION_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                     "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000,
                     "w": 604_800_000_000_000}
_DURATION = re.compile(r"(\d+)(ns|us|µs|ms|s|m|h|d|w)")
_CALL = re.compile(r"\s*(\w+)\s*\((.*)\)\s*$", re.DOTALL)
_COMMENT = re.compile(r"//[^\n]*")
TAG_ORDER_FIRST = ("_start", "_stop", "_field", "_measurement")


class FluxError(ValueError):
    """A query outside the supported subset, or malformed: the message names the construct."""


@dataclass(frozen=True)
class Query:
    bucket: str
    start_ns: int
    stop_ns: int
    predicate: Callable[[dict[str, str]], bool] = lambda row: True
    pivot_row_key: tuple[str, ...] | None = None  # None: no pivot


@dataclass
class Table:
    columns: list[str]
    kinds: dict[str, str]  # column -> annotated CSV datatype
    group: frozenset[str]
    rows: list[dict[str, object]] = field(default_factory=list)


# ---- parsing ---------------------------------------------------------------------------------------------

def parse(text: str, now_ns: int) -> Query:
    stages = [stage.strip() for stage in _COMMENT.sub("", text).strip().split("|>")]
    calls = [_call(stage) for stage in stages]
    names = [name for name, _ in calls]
    if not names or names[0] != "from":
        raise FluxError("the query must start with from(bucket: \"...\")")
    if names[1:2] != ["range"]:
        raise FluxError("from() must be followed by range(start: ...)")
    unknown = [name for name in names[2:] if name not in ("filter", "pivot")]
    if unknown:
        raise FluxError(f"unsupported function {unknown[0]}() (this recorder supports from, range, filter, pivot)")
    if "pivot" in names and names.index("pivot") != len(names) - 1:
        raise FluxError("pivot() must be the last function of the query")
    arguments = dict(calls)
    bucket = _string(_named(arguments["from"], "bucket", "from"), "from(bucket)")
    range_args = _arguments(arguments["range"], "range")
    if "start" not in range_args:
        raise FluxError("range() needs start")
    start = _time(range_args["start"], now_ns)
    stop = _time(range_args.get("stop", "now()"), now_ns)
    predicates = [_lambda(body) for name, body in calls if name == "filter"]
    row_key = _pivot(arguments["pivot"]) if "pivot" in arguments else None
    return Query(bucket, start, stop, lambda row: all(p(row) for p in predicates), row_key)


def _call(stage: str) -> tuple[str, str]:
    match = _CALL.match(stage)
    if not match:
        raise FluxError(f"cannot read {stage[:60]!r} as a function call")
    return match.group(1), match.group(2)


def _split_top(text: str, separator: str = ",") -> list[str]:
    """Split at separators outside brackets, parentheses and strings."""
    parts, depth, quoted, current = [], 0, False, []
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _arguments(text: str, function: str) -> dict[str, str]:
    arguments = {}
    for part in _split_top(text):
        name, colon, value = part.partition(":")
        if not colon:
            raise FluxError(f"{function}(): arguments are named (name: value), got {part!r}")
        arguments[name.strip()] = value.strip()
    return arguments


def _named(text: str, name: str, function: str) -> str:
    arguments = _arguments(text, function)
    if name not in arguments:
        raise FluxError(f"{function}() needs {name}")
    return arguments[name]


def _string(text: str, where: str) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise FluxError(f"{where}: expected a string in double quotes, got {text!r}")
    return text[1:-1].replace('\\"', '"')


def _strings(text: str, where: str) -> tuple[str, ...]:
    if not (text.startswith("[") and text.endswith("]")):
        raise FluxError(f"{where}: expected a list of strings, got {text!r}")
    return tuple(_string(item, where) for item in _split_top(text[1:-1]))


def _time(text: str, now_ns: int) -> int:
    if text == "now()":
        return now_ns
    if text == "0":
        return 0
    if text.startswith("-"):
        return now_ns - _duration(text[1:])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if _DURATION.match(text):  # a positive duration: after now
            return now_ns + _duration(text)
        raise FluxError(f"range(): cannot read the time {text!r} (use -24h, 0, now() or RFC3339)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


def _duration(text: str) -> int:
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise FluxError(f"range(): cannot read the duration {text!r} (e.g. 24h, 1h30m, 7d)")
    return sum(int(number) * DURATION_UNITS_NS[unit] for number, unit in parts)


def _pivot(text: str) -> tuple[str, ...]:
    arguments = _arguments(text, "pivot")
    if _strings(arguments.get("columnKey", "[]"), "pivot(columnKey)") != ("_field",):
        raise FluxError('pivot(): only columnKey: ["_field"] is supported')
    if _string(arguments.get("valueColumn", '""'), "pivot(valueColumn)") != "_value":
        raise FluxError('pivot(): only valueColumn: "_value" is supported')
    return _strings(arguments.get("rowKey", "[]"), "pivot(rowKey)") or ("_time",)


# ---- filter predicates: or of ands of comparisons, with parentheses ---------------------------------

_TOKEN = re.compile(r'\s*(\(|\)|==|!=|"(?:[^"\\]|\\.)*"|r\.\w+|r\["[^"]+"\]|\band\b|\bor\b)')


def _lambda(text: str) -> Predicate:
    body = _named(text, "fn", "filter")
    head, arrow, expression = body.partition("=>")
    if not arrow or head.strip().replace(" ", "") != "(r)":
        raise FluxError(f"filter(): expected fn: (r) => ..., got {body[:60]!r}")
    tokens = _tokens(expression)
    predicate, rest = _or(tokens)
    if rest:
        raise FluxError(f"filter(): unexpected {rest[0]!r}")
    return predicate


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if not match:
            raise FluxError(f"filter(): unsupported expression at {text[position:].strip()[:40]!r} "
                            '(supported: r.column == "string", !=, and, or, parentheses)')
        tokens.append(match.group(1))
        position = match.end()
    return tokens


Predicate = Callable[[dict[str, str]], bool]
Parsed = tuple[Predicate, list[str]]  # a predicate and the tokens after it


def _joined(tokens: list[str], word: str, operand: Callable[[list[str]], Parsed]) -> Parsed:
    """operand (word operand)*: `and` binds tighter than `or` because _or's operand is _and."""
    parts = [operand(tokens)]
    while parts[-1][1][:1] == [word]:
        parts.append(operand(parts[-1][1][1:]))
    predicates, rest = [p for p, _ in parts], parts[-1][1]
    if word == "or":
        return (lambda row: any(p(row) for p in predicates)), rest
    return (lambda row: all(p(row) for p in predicates)), rest


def _or(tokens: list[str]) -> Parsed:
    return _joined(tokens, "or", _and)


def _and(tokens: list[str]) -> Parsed:
    return _joined(tokens, "and", _atom)


def _atom(tokens: list[str]) -> Parsed:
    if tokens[:1] == ["("]:
        inner, rest = _or(tokens[1:])
        if rest[:1] != [")"]:
            raise FluxError("filter(): a parenthesis is not closed")
        return inner, rest[1:]
    if len(tokens) < 3 or not tokens[0].startswith("r") or tokens[1] not in ("==", "!="):
        raise FluxError(f"filter(): expected r.column == \"string\", got {' '.join(tokens[:3])!r}")
    column = tokens[0][2:] if tokens[0].startswith("r.") else tokens[0][3:-2]
    value = _string(tokens[2], "filter()")
    if tokens[1] == "==":
        return (lambda row: row.get(column) == value), tokens[3:]
    return (lambda row: row.get(column) != value), tokens[3:]


# ---- evaluation -----------------------------------------------------------------------------------

def series_rows(points: Iterable[Point], query: Query) -> list[dict[str, object]]:
    """One row per point and field in the range that passes the filters (Flux's unpivoted shape)."""
    rows = []
    for point in points:
        if not query.start_ns <= point.time_ns < query.stop_ns:
            continue
        for name, value in point.fields.items():
            row = {"_measurement": point.measurement, "_field": name, **point.tags}
            if query.predicate(row):
                rows.append({**row, "_time": point.time_ns, "_value": value})
    return rows


def tables(points: Iterable[Point], query: Query) -> list[Table]:
    rows = series_rows(points, query)
    bounds = {"_start": query.start_ns, "_stop": query.stop_ns}
    if query.pivot_row_key is None:
        return _series_tables(rows, bounds)
    return _pivoted_tables(rows, bounds, query.pivot_row_key)


def _group_columns(row: dict[str, object], leave_out: Sequence[str]) -> tuple[str, ...]:
    keys = [key for key in row if key not in ("_time", "_value", *leave_out)]
    return tuple(sorted(keys, key=lambda k: (TAG_ORDER_FIRST.index(k) if k in TAG_ORDER_FIRST else 9, k)))


def _series_tables(rows: list[dict[str, object]], bounds: dict[str, int]) -> list[Table]:
    grouped: dict[tuple, Table] = {}
    for row in rows:
        keys = ("_start", "_stop", *_group_columns(row, ()))
        identity = tuple((key, row.get(key, bounds.get(key))) for key in keys)
        if identity not in grouped:
            columns = ["_start", "_stop", "_time", "_value", *keys[2:]]
            kinds = {column: "string" for column in columns} | {
                "_start": "dateTime:RFC3339", "_stop": "dateTime:RFC3339", "_time": "dateTime:RFC3339",
                "_value": "double"}
            grouped[identity] = Table(columns, kinds, frozenset(keys))
        grouped[identity].rows.append({**bounds, **row})
    return _sorted_by_time(grouped)


def _pivoted_tables(rows: list[dict[str, object]], bounds: dict[str, int], row_key: tuple[str, ...]) -> list[Table]:
    grouped: dict[tuple, tuple[Table, dict[tuple, dict[str, object]]]] = {}
    for row in rows:
        keys = ("_start", "_stop", *_group_columns(row, ("_field",)))
        identity = tuple((key, row.get(key, bounds.get(key))) for key in keys)
        if identity not in grouped:
            grouped[identity] = (Table([], {}, frozenset(keys)), {})
        table, by_row_key = grouped[identity]
        merged = by_row_key.setdefault(tuple(row.get(key) for key in row_key),
                                       {**bounds, **{key: row.get(key) for key in (*keys[2:], *row_key)}})
        merged[str(row["_field"])] = row["_value"]
    result = {}
    for identity, (table, by_row_key) in grouped.items():
        group_keys = [key for key, _ in identity]
        fields = sorted({name for row in by_row_key.values() for name in row} - set(group_keys) - set(row_key))
        table.columns = [*group_keys[:2], *[k for k in row_key if k not in group_keys], *group_keys[2:], *fields]
        table.kinds = {column: "string" for column in table.columns} | {name: "double" for name in fields} | {
            key: "dateTime:RFC3339" for key in ("_start", "_stop", "_time")}
        table.rows = list(by_row_key.values())
        result[identity] = table
    return _sorted_by_time(result)


def _sorted_by_time(grouped: dict[tuple, Table]) -> list[Table]:
    ordered = [grouped[identity] for identity in sorted(grouped, key=lambda item: tuple(str(v) for _, v in item))]
    for table in ordered:
        table.rows.sort(key=lambda row: row.get("_time") or 0)
    return ordered


# ---- annotated CSV ----------------------------------------------------------------------------------

def rfc3339(time_ns: int) -> str:
    """InfluxDB's RFC3339Nano: UTC, fraction without trailing zeros."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def _cell(value: object, kind: str) -> str:
    if value is None:
        return ""
    if kind.startswith("dateTime"):
        return rfc3339(int(value))  # type: ignore[arg-type]
    if kind == "double":
        return repr(float(value))  # type: ignore[arg-type]
    text = str(value)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def annotated_csv(result: list[Table]) -> str:
    """Tables as InfluxDB 2 answers /api/v2/query (dialect: header, annotations datatype/group/default)."""
    blocks: list[list[str]] = []
    last_columns: list[str] | None = None
    for index, table in enumerate(result):
        if table.columns != last_columns:
            kinds = [table.kinds[column] for column in table.columns]
            groups = ["true" if column in table.group else "false" for column in table.columns]
            blocks.append([
                "#datatype,string,long," + ",".join(kinds),
                "#group,false,false," + ",".join(groups),
                "#default,_result,," + ",".join("" for _ in table.columns),
                ",result,table," + ",".join(table.columns),
            ])
            last_columns = table.columns
        for row in table.rows:
            cells = [_cell(row.get(column), table.kinds[column]) for column in table.columns]
            blocks[-1].append(f",,{index}," + ",".join(cells))
    return "".join("\r\n".join(block) + "\r\n\r\n" for block in blocks)
