"""requests' module-level functions, on one shared client with steady's defaults."""

from __future__ import annotations

import os
import threading
from typing import Any, Optional

from ._client import Client, Session
from ._models import Response

_default: Optional[Client] = None
_default_pid = 0
_default_lock = threading.Lock()


def _client() -> Client:
    """The client behind ``steady.get`` and friends: steady's defaults, no cookies kept;
    its breaker and budgets are shared by every module-level call of the process."""
    global _default, _default_pid
    # A child made by os.fork() gets a client of its own: the parent's connections
    # belong to the parent.
    if _default is None or _default_pid != os.getpid():
        with _default_lock:
            if _default is None or _default_pid != os.getpid():
                _default = Client(cookies=False)
                _default_pid = os.getpid()
    return _default


def request(method: str, url: str, **kwargs: Any) -> Response:
    """Sends a call with steady's defaults; see :meth:`Client.request`."""
    return _client().request(method, url, **kwargs)


def get(url: str, params: Any = None, **kwargs: Any) -> Response:
    """A GET with steady's defaults: connect 3.05 s, read 27 s, a 60 s deadline, 3
    retries with backoff and jitter for what can succeed."""
    return _client().get(url, params=params, **kwargs)


def options(url: str, **kwargs: Any) -> Response:
    """An OPTIONS with steady's defaults."""
    return _client().options(url, **kwargs)


def head(url: str, **kwargs: Any) -> Response:
    """A HEAD with steady's defaults (redirects not followed unless asked)."""
    return _client().head(url, **kwargs)


def post(url: str, data: Any = None, json: Any = None, **kwargs: Any) -> Response:
    """A POST with steady's defaults: resent only with ``idempotency_key=``."""
    return _client().post(url, data=data, json=json, **kwargs)


def put(url: str, data: Any = None, **kwargs: Any) -> Response:
    """A PUT with steady's defaults."""
    return _client().put(url, data=data, **kwargs)


def patch(url: str, data: Any = None, **kwargs: Any) -> Response:
    """A PATCH with steady's defaults: resent only with ``idempotency_key=``."""
    return _client().patch(url, data=data, **kwargs)


def delete(url: str, **kwargs: Any) -> Response:
    """A DELETE with steady's defaults."""
    return _client().delete(url, **kwargs)


def session(**kwargs: Any) -> Session:
    """A new :class:`Session` (requests' spelling)."""
    return Session(**kwargs)
