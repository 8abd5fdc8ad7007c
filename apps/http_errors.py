"""What went wrong in a `requests` call, in a few words, for messages that name the server and what to check.

requests wraps urllib3's errors, which wrap the socket's or TLS's, and urllib3 prefixes them with object reprs
("<HTTPConnection object at 0x...>: Failed to establish a new connection: [Errno 111] Connection refused");
people need the last part. Shared by our HTTP clients (the rollout gate, the Rancher client).
"""

from __future__ import annotations

import re

_PREFIXES = re.compile(r"^(<[^>]*>: |\w+Connection(Pool)?\([^)]*\): )")


def innermost(error: BaseException) -> BaseException:
    """Follow `.reason` (urllib3) and a wrapped exception in args[0] (requests) to the original cause."""
    cause, seen = error, set()
    while id(cause) not in seen:
        seen.add(id(cause))
        inner = getattr(cause, "reason", None)
        if not isinstance(inner, BaseException) and cause.args and isinstance(cause.args[0], BaseException):
            inner = cause.args[0]
        if not isinstance(inner, BaseException):
            break
        cause = inner
    return cause


def reason(error: BaseException) -> str:
    """e.g. 'Connection refused', 'Read timed out. (read timeout=0.2)', '[SSL: CERTIFICATE_VERIFY_FAILED] ...'."""
    text = str(innermost(error))
    while _PREFIXES.match(text):
        text = _PREFIXES.sub("", text, count=1)
    return re.sub(r"^\[Errno -?\d+\] ", "", text).strip() or type(error).__name__
