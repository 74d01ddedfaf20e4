"""steady's exceptions: requests' names, in requests' hierarchy, plus steady's own.

Code written for ``requests.exceptions`` moves by changing the import::

    RequestException (IOError)
    ├── ConnectionError            DNS, refused, reset, closed, a broken response
    │   ├── ConnectTimeout         (also a Timeout)
    │   └── SSLError
    ├── Timeout
    │   ├── ConnectTimeout
    │   ├── ReadTimeout            the server went silent longer than the read timeout
    │   └── DeadlineExceeded       the call's one total deadline passed (steady)
    ├── HTTPError                  raise_for_status() on a 4xx or 5xx
    ├── TooManyRedirects
    ├── RedirectRefused            a redirect that would leak credentials (steady)
    ├── InvalidURL (ValueError)
    │   ├── MissingSchema
    │   └── InvalidSchema
    ├── InvalidHeader (ValueError)
    ├── InvalidRequest (ValueError)   another request steady refused to send (steady)
    ├── InvalidJSONError
    │   └── JSONDecodeError        Response.json() on a body that is not JSON
    ├── SemanticError              a 2xx whose body is not what was asked for (steady)
    ├── GuardRefused               open circuit, rate limit, bulkhead: nothing sent (steady)
    └── BodyTooLarge               the body is over the client's max_body (steady)

Every exception has ``.layer`` (``"transport"``, ``"http"``, ``"semantic"``,
``"guard"`` or ``"usage"``), ``.kind`` (steady's stable name: ``"read_timeout"``,
``"circuit_open"``, ...), ``.attempts``, ``.attempt_log``, ``.server_message``,
``.response`` (for HTTP and semantic errors) and ``.explain()``; its message never shows
a credential (``****``).
"""

from __future__ import annotations

import json as _json
from typing import Any, Dict, List, Optional

__all__ = [
    "RequestException",
    "ConnectionError",
    "SSLError",
    "Timeout",
    "ConnectTimeout",
    "ReadTimeout",
    "DeadlineExceeded",
    "HTTPError",
    "TooManyRedirects",
    "RedirectRefused",
    "InvalidURL",
    "MissingSchema",
    "InvalidSchema",
    "InvalidHeader",
    "InvalidRequest",
    "InvalidJSONError",
    "JSONDecodeError",
    "SemanticError",
    "GuardRefused",
    "BodyTooLarge",
    "ProxyError",
    "ChunkedEncodingError",
    "ContentDecodingError",
    "RetryError",
    "StreamConsumedError",
    "URLRequired",
    "InvalidProxyURL",
]


class RequestException(IOError):
    """The base of every exception steady raises for a call (a subclass of ``IOError``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        response = kwargs.pop("response", None)
        request = kwargs.pop("request", None)
        info: Dict[str, Any] = kwargs.pop("info", None) or {}
        super().__init__(*args, **kwargs)
        self.response = response
        if request is None and response is not None:
            request = getattr(response, "request", None)
        self.request = request
        #: The layer that failed: transport, http, semantic, guard or usage.
        self.layer: Optional[str] = info.get("layer")
        #: steady's stable name for what failed (``read_timeout``, ``client_error``, ...).
        self.kind: Optional[str] = info.get("kind")
        #: Every attempt, as dicts (number, status, fault, decision, why, ...).
        self.attempt_log: List[Dict[str, Any]] = list(info.get("attempt_log") or ())
        #: Every guard decision (at, guard, wait, message): waits, refusals, the probe.
        self.guard_log: List[Dict[str, Any]] = list(info.get("guard_log") or ())
        #: What the server said (``token expired``, a 422's fields), credentials scrubbed.
        self.server_message: Optional[str] = info.get("server_message")
        #: Whether the last failure was one another attempt could fix.
        self.retryable: bool = bool(info.get("retryable", False))
        #: Seconds the call took, waits included.
        self.elapsed: float = float(info.get("elapsed") or 0.0)
        #: For a body read with ``stream=True`` that broke part way: how many bytes of
        #: it had come (``None`` for any other failure).
        self.body_received: Optional[int] = info.get("body_received")
        self._explain: Optional[str] = info.get("explain")

    @property
    def attempts(self) -> int:
        """How many attempts were sent (0 when nothing was sent)."""
        return len(self.attempt_log)

    def explain(self) -> str:
        """What happened, at which layer, what the server said, what steady tried and what
        to do next, in one to three lines for a person."""
        return self._explain or str(self)


class ConnectionError(RequestException):
    """No complete response: DNS, connection refused or reset, closed early, TLS, a
    response that broke HTTP."""


class SSLError(ConnectionError):
    """The TLS handshake failed (certificate, host name, protocol)."""


class Timeout(RequestException):
    """A time limit ended the call: connect, read, or the total deadline."""


class ConnectTimeout(ConnectionError, Timeout):
    """No connection within the connect timeout (nothing was sent)."""


class ReadTimeout(Timeout):
    """The server went silent for longer than the read timeout."""


class DeadlineExceeded(Timeout):
    """The call's one total deadline passed (all attempts, waits and the body)."""


class HTTPError(RequestException):
    """A 4xx or 5xx, raised by ``Response.raise_for_status()``; its message carries the
    status and what the server said."""


class TooManyRedirects(RequestException):
    """More redirects than allowed (``max_redirects``, default 10)."""


class RedirectRefused(RequestException):
    """A redirect steady would not follow: https to http with credentials, or a scheme
    other than http(s)."""


class InvalidURL(RequestException, ValueError):
    """The URL cannot be called; nothing was sent."""


class MissingSchema(InvalidURL):
    """The URL has no scheme (``api.example.com/x``); nothing was sent."""


class InvalidSchema(InvalidURL):
    """The URL's scheme is not http or https; nothing was sent."""


class InvalidHeader(RequestException, ValueError):
    """A header name or value that cannot be sent; nothing was sent."""


class InvalidRequest(RequestException, ValueError):
    """Another request steady refused to send (a bad expectation, an unreadable
    file); nothing was sent."""


class InvalidJSONError(RequestException):
    """A JSON error: a ``json=`` body that cannot be serialised, or a body that does not
    parse."""


class JSONDecodeError(InvalidJSONError, _json.JSONDecodeError):
    """``Response.json()`` on a body that is not JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _json.JSONDecodeError.__init__(self, *args)
        InvalidJSONError.__init__(self, *self.args, **kwargs)

    def __reduce__(self):  # pragma: no cover - pickling support as requests has it
        return InvalidJSONError, self.args


class SemanticError(RequestException):
    """A 2xx whose body is not what was asked for: ``{"error": ...}`` in a 200, a body
    labelled JSON that does not parse, a failed ``expect=``. Retrying will not help."""


class GuardRefused(RequestException):
    """Nothing was sent: the host's circuit is open, a rate limit or the retry budget
    leaves no time before the deadline, or the bulkhead is full."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        info = kwargs.get("info") or {}
        super().__init__(*args, **kwargs)
        #: Seconds until the guard lets a call through, when known (the circuit's probe).
        self.retry_after: Optional[float] = info.get("retry_after")


class BodyTooLarge(RequestException):
    """The response body is larger than the client's ``max_body`` (default 100 MiB)."""


# requests' other names, so that code written against them imports and catches as it
# did. steady raises ConnectionError for a body cut short (its retries already tried
# again) and for a proxy that refuses; these exist for ``except`` clauses and
# ``isinstance`` checks.


class ProxyError(ConnectionError):
    """The proxy failed (requests' name)."""


class ChunkedEncodingError(RequestException):
    """A body read with ``stream=True`` broke off part way (cut or reset); a body read
    whole that breaks is retried, and raises ConnectionError when it keeps breaking."""


class ContentDecodingError(RequestException):
    """A compressed body could not be decoded (requests' name)."""


class RetryError(RequestException):
    """urllib3's retries ran out (requests' name; steady says it in ``attempts``)."""


class StreamConsumedError(RequestException, TypeError):
    """The body was already read (requests' name)."""


class URLRequired(RequestException):
    """No URL was given (requests' name)."""


class InvalidProxyURL(InvalidURL):
    """The proxy URL is not valid (requests' name)."""


#: steady's kind of failure -> the exception raised for it (HTTP statuses and semantic
#: failures come back as a Response instead; see ``Response.raise_for_status``).
_BY_KIND = {
    "dns": ConnectionError,
    "connection_refused": ConnectionError,
    "connect": ConnectionError,
    "connection_reset": ConnectionError,
    "connection_closed": ConnectionError,
    "protocol": ConnectionError,
    "tls": SSLError,
    "connect_timeout": ConnectTimeout,
    "read_timeout": ReadTimeout,
    "deadline": DeadlineExceeded,
    "body_too_large": BodyTooLarge,
    "too_many_redirects": TooManyRedirects,
    "redirect_refused": RedirectRefused,
    "missing_schema": MissingSchema,
    "invalid_schema": InvalidSchema,
    "invalid_url": InvalidURL,
    "invalid_header": InvalidHeader,
}

_BY_LAYER = {
    "transport": ConnectionError,
    "http": HTTPError,
    "semantic": SemanticError,
    "guard": GuardRefused,
    "usage": InvalidRequest,
}


def _from_info(info: Dict[str, Any], response: Any = None, request: Any = None) -> RequestException:
    """The exception for a failed call, from what the core reported."""
    cls = _BY_KIND.get(info.get("kind") or "") or _BY_LAYER.get(info.get("layer") or "", RequestException)
    return cls(info.get("message") or info.get("kind") or "request failed", response=response, request=request, info=info)


class _BodyReadTimeout(ReadTimeout, ConnectionError):
    """A silence past the read timeout part way through a streamed body: a
    ``ReadTimeout``, and a ``ConnectionError`` as requests raises there."""


def _from_body(info: Dict[str, Any], response: Any = None, request: Any = None) -> RequestException:
    """The exception for a streamed body (``stream=True``) that broke part way: a cut or
    reset connection is requests' ``ChunkedEncodingError``, undecodable data its
    ``ContentDecodingError``, a read timeout both ``ReadTimeout`` and requests'
    ``ConnectionError``; the deadline and the size limit keep their own classes."""
    kind = info.get("kind") or ""
    message = info.get("message") or kind
    if kind == "read_timeout":
        return _BodyReadTimeout(message, response=response, request=request, info=info)
    if kind in ("connection_reset", "connection_closed", "protocol"):
        cls = ContentDecodingError if "cannot be decoded" in message else ChunkedEncodingError
        return cls(message, response=response, request=request, info=info)
    return _from_info(info, response=response, request=request)

