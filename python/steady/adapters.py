"""requests' retry idiom, kept working: ``HTTPAdapter(max_retries=Retry(...))`` mounted on
a Session.

Code written for requests often makes its retries like this::

    from requests.adapters import HTTPAdapter
    from requests.packages.urllib3.util.retry import Retry

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=Retry(total=3, backoff_factor=0.5,
                                            status_forcelist=[429, 500, 502, 503, 504]))
    session.mount("https://", adapter)

With ``requests`` changed to ``steady`` in the imports, the same code runs and its
``Retry`` becomes steady's settings for the URLs the adapter is mounted on. A ``Retry``
of urllib3's own (``from urllib3.util import Retry``) is read the same way. What maps:

- ``total`` (or the largest of ``connect``, ``read`` and ``status`` when ``total`` is
  None) is ``retries=``; ``total=False`` or ``0`` is no retry; an ``int`` for
  ``max_retries`` is ``Retry(total=n)``.
- ``backoff_factor`` is the first wait (``backoff=``), doubling each retry, with full
  jitter (steady's; a fleet of clients then does not retry in step); 0 keeps steady's
  1 s, because retrying at once adds load to a server that is failing.
  ``backoff_max`` is ``backoff_max=``.
- ``status_forcelist``: steady retries 408, 429, 500, 502, 503 and 504 (and transport
  failures) whatever the list says; a status in the list that steady never retries (a
  4xx is the request's fault) is named in a warning on the ``steady`` logger when the
  adapter is mounted. With ``raise_on_status`` (urllib3's default), a call that ends on
  a listed status raises :class:`~steady.exceptions.RetryError`, as requests does.
- ``allowed_methods`` (or urllib3 1.x's ``method_whitelist``) with ``POST`` or ``PATCH``
  in it: those calls get an ``Idempotency-Key`` (``idempotency_key="auto"``), so that a
  resend is one the server can recognise; steady never resends them without one.
- ``Retry-After`` is always honoured (within the deadline), whatever
  ``respect_retry_after_header`` says; ``pool_connections``, ``pool_maxsize`` and
  ``pool_block`` are accepted and have no effect (steady's pool grows as needed; bound
  the calls to a host with ``rate=``).
"""

from __future__ import annotations

import logging
from typing import Any, Collection, Dict, Optional

#: Statuses steady retries (besides transport failures).
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_UNSAFE = ("POST", "PATCH")
_UNSET = object()

logger = logging.getLogger("steady")


class Retry:
    """urllib3's ``Retry``, as settings for steady (see the module's documentation for
    what each argument becomes). Takes urllib3's arguments; those without a meaning
    here are accepted and kept."""

    #: urllib3's default methods to retry: the idempotent ones.
    DEFAULT_ALLOWED_METHODS = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE"})
    DEFAULT_BACKOFF_MAX = 120.0

    def __init__(
        self,
        total: Any = 10,
        connect: Optional[int] = None,
        read: Optional[int] = None,
        redirect: Optional[int] = None,
        status: Optional[int] = None,
        other: Optional[int] = None,
        allowed_methods: Optional[Collection[str]] = DEFAULT_ALLOWED_METHODS,
        status_forcelist: Optional[Collection[int]] = None,
        backoff_factor: float = 0,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        raise_on_redirect: bool = True,
        raise_on_status: bool = True,
        history: Any = None,
        respect_retry_after_header: bool = True,
        remove_headers_on_redirect: Any = None,
        backoff_jitter: float = 0.0,
        method_whitelist: Optional[Collection[str]] = None,
    ) -> None:
        self.total = total
        self.connect = connect
        self.read = read
        self.redirect = redirect
        self.status = status
        self.other = other
        self.allowed_methods = method_whitelist if method_whitelist is not None else allowed_methods
        self.status_forcelist = set(status_forcelist or ())
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.raise_on_redirect = raise_on_redirect
        self.raise_on_status = raise_on_status
        self.respect_retry_after_header = respect_retry_after_header
        self.backoff_jitter = backoff_jitter

    @classmethod
    def from_int(cls, retries: Any) -> "Retry":
        """``max_retries=3`` as requests reads it."""
        if isinstance(retries, Retry):
            return retries
        return cls(total=retries, read=False) if retries is not None else cls()

    def __repr__(self) -> str:
        return f"Retry(total={self.total!r}, status_forcelist={sorted(self.status_forcelist)!r}, backoff_factor={self.backoff_factor!r})"


class HTTPAdapter:
    """requests' ``HTTPAdapter``: what a Session does for the URLs it is mounted on. In
    steady that is the retry settings of ``max_retries`` (a number, or a ``Retry`` of
    steady's or urllib3's)."""

    def __init__(
        self,
        pool_connections: int = 10,
        pool_maxsize: int = 10,
        max_retries: Any = 0,
        pool_block: bool = False,
    ) -> None:
        self.max_retries = max_retries if _is_retry(max_retries) else Retry.from_int(max_retries)
        self._pool_connections = pool_connections
        self._pool_maxsize = pool_maxsize
        self._pool_block = pool_block

    def close(self) -> None:
        """Nothing to release: connections belong to the Session's client."""

    # -- what steady makes of it

    def _settings(self) -> Dict[str, Any]:
        """The client settings this adapter's ``Retry`` becomes."""
        r = self.max_retries
        total = getattr(r, "total", None)
        if total is False:
            retries = 0
        elif isinstance(total, int) and not isinstance(total, bool):
            retries = total
        else:
            counts = [c for c in (getattr(r, n, None) for n in ("connect", "read", "status")) if isinstance(c, int) and not isinstance(c, bool)]
            retries = max(counts) if counts else 3
        settings: Dict[str, Any] = {"retries": max(0, retries)}
        factor = getattr(r, "backoff_factor", 0) or 0
        if factor > 0:
            settings["backoff"] = float(factor)
        backoff_max = getattr(r, "backoff_max", None) or getattr(r, "DEFAULT_BACKOFF_MAX", None)
        if isinstance(backoff_max, (int, float)) and backoff_max > 0:
            settings["backoff_max"] = max(float(backoff_max), settings.get("backoff", 0.0))
        return settings

    def _forcelist(self) -> Collection[int]:
        return set(getattr(self.max_retries, "status_forcelist", None) or ())

    def _allows(self, method: str) -> bool:
        """Whether the Retry retries ``method`` (urllib3: ``allowed_methods=None`` is
        every method, ``False`` none)."""
        r = self.max_retries
        allowed = getattr(r, "allowed_methods", _UNSET)
        if allowed is _UNSET:
            allowed = getattr(r, "method_whitelist", Retry.DEFAULT_ALLOWED_METHODS)
        if allowed is None:
            return True
        if allowed is False:
            return False
        return method.upper() in {str(a).upper() for a in allowed}

    def _raises_on(self, status: int, method: str) -> bool:
        """Whether a call that ends on ``status`` raises RetryError, as urllib3's would:
        a listed status, for a method the Retry retries."""
        return (
            bool(getattr(self.max_retries, "raise_on_status", True))
            and status in self._forcelist()
            and self._allows(method)
        )

    def _keyed_methods(self) -> Collection[str]:
        """The unsafe methods the Retry allows: steady sends them with an idempotency key."""
        return tuple(m for m in _UNSAFE if self._allows(m))

    def _warn_unretried(self, prefix: str) -> None:
        never = sorted(s for s in self._forcelist() if s not in RETRIED_STATUSES)
        if never:
            logger.warning(
                "steady: the Retry mounted on %r lists %s in status_forcelist; steady does not retry %s "
                "(a 4xx is the request's fault, retrying will not help; steady retries 408, 429, 500, 502, 503, 504)",
                prefix,
                ", ".join(map(str, never)),
                "it" if len(never) == 1 else "them",
            )


def _is_retry(value: Any) -> bool:
    """A Retry of steady's or urllib3's (duck-typed: urllib3 need not be installed)."""
    return isinstance(value, Retry) or (hasattr(value, "total") and hasattr(value, "backoff_factor"))
