"""steady: an HTTP client for a network that fails, with requests' surface.

Change the import and keep the code::

    import steady as requests

    r = requests.get("https://api.example.com/items", timeout=5)
    r.raise_for_status()          # HTTPError with the server's own message
    items = r.json()

What changes is underneath: a connect timeout (3.05 s), a read timeout (27 s) and one
total deadline (60 s) on every call; retries with backoff and jitter for what can
succeed, Retry-After honoured, never a 4xx, never a POST without an idempotency key; a
per-host circuit breaker and retry budget; the server's rate limits; a 200 whose body
is an error caught (``SemanticError``); redirects that never leak credentials; errors
that say at which layer the call failed and what to do (``explain()``), and never show
a credential.

The seeds' contract in one call: ``steady.Client().call(url)`` returns the parsed JSON,
None for a handled outage, and raises ``HTTPError`` for a 4xx.
"""

from . import adapters, exceptions
from ._api import delete, get, head, options, patch, post, put, request, session
from ._args import Fallback
from .adapters import HTTPAdapter, Retry
from ._client import (
    DEFAULT_BACKOFF,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEADLINE,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_RETRIES,
    AsyncClient,
    Client,
    Session,
)
from ._models import CaseInsensitiveDict, Event, EventStream, Request, Response, codes
from ._steady import STEADY_VERSION as _STEADY_VERSION
from .exceptions import (
    BodyTooLarge,
    ChunkedEncodingError,
    ConnectionError,
    ContentDecodingError,
    InvalidProxyURL,
    ProxyError,
    RetryError,
    StreamConsumedError,
    URLRequired,
    ConnectTimeout,
    DeadlineExceeded,
    GuardRefused,
    HTTPError,
    InvalidHeader,
    InvalidJSONError,
    InvalidRequest,
    InvalidSchema,
    InvalidURL,
    JSONDecodeError,
    MissingSchema,
    ReadTimeout,
    RedirectRefused,
    RequestException,
    SemanticError,
    SSLError,
    Timeout,
    TooManyRedirects,
)

__version__ = _STEADY_VERSION

__all__ = [
    "AsyncClient",
    "BodyTooLarge",
    "ChunkedEncodingError",
    "ContentDecodingError",
    "InvalidProxyURL",
    "ProxyError",
    "RetryError",
    "StreamConsumedError",
    "URLRequired",
    "CaseInsensitiveDict",
    "Client",
    "ConnectTimeout",
    "ConnectionError",
    "DEFAULT_BACKOFF",
    "DEFAULT_BACKOFF_MAX",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DEADLINE",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_RETRIES",
    "Event",
    "EventStream",
    "DeadlineExceeded",
    "Fallback",
    "GuardRefused",
    "HTTPError",
    "InvalidHeader",
    "InvalidJSONError",
    "InvalidRequest",
    "InvalidSchema",
    "InvalidURL",
    "JSONDecodeError",
    "MissingSchema",
    "ReadTimeout",
    "RedirectRefused",
    "Request",
    "RequestException",
    "Response",
    "SSLError",
    "SemanticError",
    "HTTPAdapter",
    "Retry",
    "Session",
    "Timeout",
    "TooManyRedirects",
    "codes",
    "adapters",
    "delete",
    "exceptions",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "session",
]


def _alias_urllib3() -> None:
    """``from requests.packages.urllib3.util.retry import Retry``, with the import
    changed to steady, gives steady's Retry (requests keeps urllib3 under that name)."""
    import sys
    import types

    parent = sys.modules[__name__]
    for name in ("packages", "urllib3", "util", "retry"):
        module = types.ModuleType(f"{parent.__name__}.{name}")
        module.__doc__ = "requests' urllib3 alias, for code that imports Retry from it: see steady.adapters."
        module.Retry = Retry  # type: ignore[attr-defined]
        sys.modules[module.__name__] = module
        setattr(parent, name, module)
        parent = module


_alias_urllib3()

