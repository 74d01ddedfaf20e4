"""Type stubs of steady's public surface (requests' names, steady's knobs)."""

import datetime
import os
from typing import (
    IO,
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    MutableMapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import adapters as adapters
from . import exceptions as exceptions
from .adapters import HTTPAdapter as HTTPAdapter
from .adapters import Retry as Retry
from .exceptions import (
    BodyTooLarge as BodyTooLarge,
    ChunkedEncodingError as ChunkedEncodingError,
    ConnectionError as ConnectionError,
    ContentDecodingError as ContentDecodingError,
    InvalidProxyURL as InvalidProxyURL,
    ProxyError as ProxyError,
    RetryError as RetryError,
    StreamConsumedError as StreamConsumedError,
    URLRequired as URLRequired,
    ConnectTimeout as ConnectTimeout,
    DeadlineExceeded as DeadlineExceeded,
    GuardRefused as GuardRefused,
    HTTPError as HTTPError,
    InvalidHeader as InvalidHeader,
    InvalidJSONError as InvalidJSONError,
    InvalidRequest as InvalidRequest,
    InvalidSchema as InvalidSchema,
    InvalidURL as InvalidURL,
    JSONDecodeError as JSONDecodeError,
    MissingSchema as MissingSchema,
    ReadTimeout as ReadTimeout,
    RedirectRefused as RedirectRefused,
    RequestException as RequestException,
    SemanticError as SemanticError,
    SSLError as SSLError,
    Timeout as Timeout,
    TooManyRedirects as TooManyRedirects,
)

__version__: str

__all__ = [
    "AsyncClient",
    "BodyTooLarge",
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
    "delete",
    "adapters",
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

#: 3.05 s: DNS + TCP + TLS of one connection.
DEFAULT_CONNECT_TIMEOUT: float
#: 27 s: the longest silence between two reads.
DEFAULT_READ_TIMEOUT: float
#: 60 s: the whole call, every attempt, wait and the body.
DEFAULT_DEADLINE: float
#: 3 retries.
DEFAULT_RETRIES: int
#: 1 s: the first backoff, doubling.
DEFAULT_BACKOFF: float
#: 30 s: the longest backoff.
DEFAULT_BACKOFF_MAX: float

_Timeout = Union[None, float, Tuple[Optional[float], Optional[float]]]
_Params = Union[None, str, bytes, Mapping[str, Any], Sequence[Tuple[str, Any]]]
_Data = Union[None, str, bytes, IO[Any], Mapping[str, Any], Sequence[Tuple[str, Any]], Iterable[bytes]]
_Headers = Optional[Mapping[str, Union[str, bytes, None]]]
_Files = Union[None, Mapping[str, Any], Sequence[Tuple[str, Any]]]
_Auth = Union[None, Tuple[str, str]]
_FallbackArg = Union["Fallback", str, Dict[str, Any], List[Any], Sequence[Union["Fallback", str]], None]
_Expect = Union[str, Sequence[str], None]

class CaseInsensitiveDict(MutableMapping[str, Any]):
    def __init__(self, data: Any = ..., **kwargs: Any) -> None: ...
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __getitem__(self, key: str) -> Any: ...
    def __delitem__(self, key: str) -> None: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def lower_items(self) -> Iterator[Tuple[str, Any]]: ...
    def copy(self) -> CaseInsensitiveDict: ...

from ._models import _Codes

codes: _Codes

class Request:
    def __init__(self, method: str, url: str, headers: CaseInsensitiveDict, body: Optional[bytes]) -> None: ...
    method: str
    url: str
    headers: CaseInsensitiveDict
    body: Optional[bytes]

class Response:
    status_code: int
    reason: str
    headers: CaseInsensitiveDict
    url: str
    elapsed: datetime.timedelta
    history: List[Response]
    encoding: Optional[str]
    request: Optional[Request]
    attempt_log: List[Dict[str, Any]]
    guard_log: List[Dict[str, Any]]
    source: str
    degraded_by: Optional[RequestException]
    @property
    def ok(self) -> bool: ...
    def __bool__(self) -> bool: ...
    def __enter__(self) -> Response: ...
    def __exit__(self, *args: Any) -> None: ...
    def close(self) -> None: ...
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...
    @property
    def is_redirect(self) -> bool: ...
    @property
    def links(self) -> Dict[str, Dict[str, str]]: ...
    @property
    def cookies(self) -> Dict[str, str]: ...
    @property
    def apparent_encoding(self) -> str: ...
    def json(self, **kwargs: Any) -> Any: ...
    def iter_content(self, chunk_size: Optional[int] = 1, decode_unicode: bool = False) -> Iterator[Any]: ...
    def iter_lines(self, chunk_size: int = 512, decode_unicode: bool = False, delimiter: Any = None) -> Iterator[Any]: ...
    def raise_for_status(self) -> None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def layer(self) -> Optional[str]: ...
    @property
    def kind(self) -> Optional[str]: ...
    @property
    def server_message(self) -> Optional[str]: ...
    def explain(self) -> str: ...

class Event:
    id: str
    event: str
    data: str
    retry: Optional[float]
    def __init__(self, id: str, event: str, data: str, retry: Optional[float]) -> None: ...
    def json(self, **kwargs: Any) -> Any: ...

class EventStream(Iterator[Event]):
    response: Response
    def __iter__(self) -> EventStream: ...
    def __next__(self) -> Event: ...
    def close(self) -> None: ...
    def __enter__(self) -> EventStream: ...
    def __exit__(self, *args: Any) -> None: ...

class Fallback:
    def __init__(self, kind: str, url: Optional[str] = None, body: Optional[bytes] = None, content_type: Optional[str] = None) -> None: ...
    @classmethod
    def cache(cls) -> Fallback: ...
    @classmethod
    def url(cls, url: str) -> Fallback: ...
    @classmethod
    def json(cls, value: Any) -> Fallback: ...
    @classmethod
    def body(cls, body: Union[bytes, str], content_type: str = "text/plain") -> Fallback: ...

class _Settings:
    headers: CaseInsensitiveDict
    auth: _Auth
    def __init__(
        self,
        *,
        timeout: _Timeout = None,
        deadline: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
        jitter: str = "full",
        retry_after_max: float = 21600.0,
        breaker: Union[bool, Dict[str, float], None] = True,
        budget: bool = True,
        rate: Optional[str] = None,
        server_rate_limits: bool = True,
        state: Optional[str] = None,
        cache: Optional[str] = None,
        fallback: _FallbackArg = None,
        expect: _Expect = None,
        idempotency_key: Union[str, bool, None] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: _Auth = None,
        cookies: bool = True,
        user_agent: Optional[str] = None,
        max_redirects: int = 10,
        max_body: Optional[int] = None,
        fail_fast: bool = False,
        verify: Union[bool, str, "os.PathLike[str]"] = True,
        insecure_with_credentials: bool = False,
        sensitive_headers: Iterable[str] = (),
        seed: Optional[int] = None,
    ) -> None: ...
    @property
    def cookies(self) -> Mapping[str, str]: ...
    def circuit(self, url: str) -> str: ...

class Client(_Settings):
    """A session with steady's defaults on and every knob a keyword.

    Defaults: timeout=(3.05, 27) (connect, read), deadline=60 s for the whole call,
    retries=3 with backoff=1.0 s doubling to backoff_max=30 s and full jitter,
    Retry-After honoured up to 6 h, POST/PATCH resent only with an idempotency key,
    breaker=True, budget=True, server_rate_limits=True, rate=None, state=None (memory),
    fallback=None, expect=None, cookies=True, max_redirects=10, max_body=100 MiB,
    verify=True. Safe to share between threads; the GIL is released while a call waits.
    """
    def __enter__(self) -> Client: ...
    def __exit__(self, *args: Any) -> None: ...
    def close(self) -> None: ...
    def mount(self, prefix: str, adapter: Any) -> None: ...
    def get_adapter(self, url: str) -> Optional[HTTPAdapter]: ...
    def request(
        self,
        method: str,
        url: str,
        params: _Params = None,
        data: _Data = None,
        headers: _Headers = None,
        cookies: Optional[Mapping[str, str]] = None,
        files: _Files = None,
        auth: _Auth = None,
        timeout: _Timeout = None,
        allow_redirects: bool = True,
        proxies: None = None,
        hooks: None = None,
        stream: Optional[bool] = None,
        verify: Optional[bool] = None,
        cert: None = None,
        json: Any = None,
        *,
        deadline: Optional[float] = None,
        retries: Optional[int] = None,
        idempotency_key: Union[str, bool, None] = ...,
        expect: _Expect = None,
        expect_status: Optional[Sequence[int]] = None,
        allow_error_body: bool = False,
        fallback: _FallbackArg = ...,
        max_body: Optional[int] = None,
    ) -> Response: ...
    def get(self, url: str, params: _Params = None, **kwargs: Any) -> Response: ...
    def events(self, url: str, params: _Params = None, **kwargs: Any) -> EventStream: ...
    def options(self, url: str, **kwargs: Any) -> Response: ...
    def head(self, url: str, **kwargs: Any) -> Response: ...
    def post(self, url: str, data: _Data = None, json: Any = None, **kwargs: Any) -> Response: ...
    def put(self, url: str, data: _Data = None, **kwargs: Any) -> Response: ...
    def patch(self, url: str, data: _Data = None, **kwargs: Any) -> Response: ...
    def delete(self, url: str, **kwargs: Any) -> Response: ...
    def call(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        """The parsed JSON; None for a handled outage (transport failure, 5xx, 408, 429,
        open circuit, after retries and fallbacks); raises HTTPError for another 4xx and
        SemanticError for a body that is not what was asked for."""
        ...

class Session(Client):
    def __enter__(self) -> Session: ...

class AsyncClient(_Settings):
    """Client for asyncio: the same settings (and defaults) and methods, awaitable;
    cancelling the awaiting task cancels the call."""
    async def __aenter__(self) -> AsyncClient: ...
    async def __aexit__(self, *args: Any) -> None: ...
    async def aclose(self) -> None: ...
    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response: ...
    async def get(self, url: str, params: _Params = None, **kwargs: Any) -> Response: ...
    async def options(self, url: str, **kwargs: Any) -> Response: ...
    async def head(self, url: str, **kwargs: Any) -> Response: ...
    async def post(self, url: str, data: _Data = None, json: Any = None, **kwargs: Any) -> Response: ...
    async def put(self, url: str, data: _Data = None, **kwargs: Any) -> Response: ...
    async def patch(self, url: str, data: _Data = None, **kwargs: Any) -> Response: ...
    async def delete(self, url: str, **kwargs: Any) -> Response: ...
    async def call(self, url: str, method: str = "GET", **kwargs: Any) -> Any: ...

def request(method: str, url: str, **kwargs: Any) -> Response:
    """Sends a call with steady's defaults (connect 3.05 s, read 27 s, deadline 60 s,
    3 retries with backoff and jitter for what can succeed); takes Client.request's
    arguments. A 4xx or 5xx is returned as a Response."""
    ...

def get(url: str, params: _Params = None, **kwargs: Any) -> Response:
    """A GET with steady's defaults; see request()."""
    ...

def options(url: str, **kwargs: Any) -> Response: ...
def head(url: str, **kwargs: Any) -> Response: ...
def post(url: str, data: _Data = None, json: Any = None, **kwargs: Any) -> Response: ...
def put(url: str, data: _Data = None, **kwargs: Any) -> Response: ...
def patch(url: str, data: _Data = None, **kwargs: Any) -> Response: ...
def delete(url: str, **kwargs: Any) -> Response: ...
def session(**kwargs: Any) -> Session: ...
