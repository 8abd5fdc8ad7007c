"""A stand-in for the `influx` CLI: the subcommands the setup Job uses, on a JSON state file, logging every call.

Output follows the real CLI's `--hide-headers` tables (tab-separated, ID first).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def main(args: list[str]) -> int:
    state_path = Path(os.environ["FAKE_INFLUX_STATE"])
    state = json.loads(state_path.read_text())
    state["calls"].append(args)
    code, output = _run(state, args)
    state_path.write_text(json.dumps(state))
    if output:
        print(output, file=sys.stdout if code == 0 else sys.stderr)  # the real CLI reports errors on stderr
    return code


def _run(state: dict, args: list[str]) -> tuple[int, str]:
    if args[:1] == ["ping"]:
        return 0, "OK"
    if args[:2] == ["bucket", "list"]:
        bucket = state["buckets"].get(_flag(args, "--name"))
        if bucket is None:
            return 1, "Error: bucket not found"
        return 0, f"{bucket['id']}\t{_flag(args, '--name')}\t{bucket['retention']}"
    if args[:2] == ["bucket", "create"]:
        state["buckets"][_flag(args, "--name")] = {"id": "b-new", "retention": _flag(args, "--retention")}
        return 0, f"b-new\t{_flag(args, '--name')}"
    if args[:2] == ["bucket", "update"]:
        for bucket in state["buckets"].values():
            if bucket["id"] == _flag(args, "--id"):
                bucket["retention"] = _flag(args, "--retention")
        return 0, ""
    if args[:3] == ["v1", "dbrp", "list"]:
        return 0, "\n".join(f"d1\t{db}" for db in state["dbrps"] if db == _flag(args, "--db"))
    if args[:3] == ["v1", "dbrp", "create"]:
        state["dbrps"].append(_flag(args, "--db"))
        return 0, ""
    return _run_auth(state, args)


def _run_auth(state: dict, args: list[str]) -> tuple[int, str]:
    auths = state["auths"]
    if args[:3] == ["v1", "auth", "list"]:
        user = _flag(args, "--username")
        return 0, "\n".join(f"{a['id']}\tdesc\t{a['user']}\t[{a['perm']}:buckets/{a['bucket']}]"
                            for a in auths if a["user"] == user)
    if args[:3] == ["v1", "auth", "create"]:
        perm = "write" if "--write-bucket" in args else "read"
        bucket = _flag(args, "--write-bucket") or _flag(args, "--read-bucket")
        auths.append({"id": f"a{len(state['calls'])}", "user": _flag(args, "--username"),
                      "password": _flag(args, "--password"), "perm": perm, "bucket": bucket})
        return 0, ""
    if args[:3] == ["v1", "auth", "delete"]:
        state["auths"] = [a for a in auths if a["id"] != _flag(args, "--id")]
        return 0, ""
    if args[:3] == ["v1", "auth", "set-password"]:
        for auth in auths:
            if auth["user"] == _flag(args, "--username"):
                auth["password"] = _flag(args, "--password")
        return 0, ""
    return 2, f"fake influx: unsupported command {args}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
