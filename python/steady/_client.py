"""Client, Session and AsyncClient: steady's settings, and calls through the core."""

from __future__ import annotations

import asyncio
import json as _json
import logging
import os
import tempfile
from types import MappingProxyType
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _steady
from . import adapters as _adapters
from . import exceptions as _exc
from ._args import (
    _MISSING,
    _auth,
    _count,
    _fallbacks,
    _header_pairs,
    _multipart,
    _pairs,
    _read,
    _seconds,
    _text,
    _timeout,
    _unsupported,
    _with_params,
)
from ._models import CaseInsensitiveDict, EventStream, Request, Response

logger = logging.getLogger("steady")
logger.addHandler(logging.NullHandler())

#: steady's defaults, in seconds.
DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 27.0
DEFAULT_DEADLINE = 60.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 1.0
DEFAULT_BACKOFF_MAX = 30.0


class _Base:
    """What Client and AsyncClient share: the settings, and turning a call's arguments
    into what the core sends."""

    # requests' Session attributes steady does not have (verify, proxies, params, ...)
    # fail loudly when set, instead of being ignored.
    __slots__ = ("_core", "headers", "auth", "_fallback", "_expect", "_idempotency_key", "_cookies_on", "_settings", "_mounts")

    def __init__(
        self,
        *,
        timeout: Any = None,
        deadline: float = DEFAULT_DEADLINE,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        jitter: str = "full",
        retry_after_max: float = 6 * 3600.0,
        breaker: Union[bool, Dict[str, float], None] = True,
        budget: bool = True,
        rate: Optional[str] = None,
        server_rate_limits: bool = True,
        state: Optional[str] = None,
        cache: Optional[str] = None,
        fallback: Any = None,
        expect: Union[str, List[str], None] = None,
        idempotency_key: Union[str, bool, None] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: Any = None,
        cookies: bool = True,
        user_agent: Optional[str] = None,
        max_redirects: int = 10,
        max_body: Optional[int] = None,
        fail_fast: bool = False,
        verify: Union[bool, str, "os.PathLike[str]"] = True,
        insecure_with_credentials: bool = False,
        sensitive_headers: Iterable[str] = (),
        seed: Optional[int] = None,
    ) -> None:
        connect, read = _timeout(timeout)
        settings = {
            "connect_timeout": connect,
            "read_timeout": read,
            "deadline": _seconds("deadline", deadline),
            "retries": _count("retries", retries if retries is not False else 0),
            "backoff": _seconds("backoff", backoff),
            "backoff_max": _seconds("backoff_max", backoff_max),
            "jitter": jitter,
            "retry_after_max": _seconds("retry_after_max", retry_after_max),
            "breaker": breaker,
            "budget": bool(budget),
            "rate": rate,
            "server_rate_limits": bool(server_rate_limits),
            "state": None if state is None else os.fspath(state),
            "cache": None if cache is None else os.fspath(cache),
            "cookies": _cookies_switch(cookies),
            "user_agent": user_agent,
            "max_redirects": _count("max_redirects", max_redirects),
            "max_body": None if max_body is None else _count("max_body", max_body),
            "fail_fast": bool(fail_fast),
            "verify": verify if isinstance(verify, bool) else True,
            "ca": None if isinstance(verify, bool) else os.fspath(verify),
            "insecure_with_credentials": bool(insecure_with_credentials),
            "sensitive_headers": [str(h) for h in sensitive_headers],
            "seed": seed,
        }
        if idempotency_key not in (None, True, False, "auto"):
            raise ValueError("idempotency_key on a Client must be 'auto' (a fresh key for each POST and PATCH): one key for every call would make the server take them all for one; pass a key per call instead")
        if breaker not in (True, False, None) and not isinstance(breaker, dict):
            raise ValueError("breaker must be True, False or a dict (failures=, open_for=, open_max=, streak_span=)")
        self._core = _steady.Client(settings)
        self._settings = settings
        #: ``(prefix, adapter, core)`` by longest prefix first (``Session.mount``).
        self._mounts: List[Tuple[str, Any, Any]] = []
        #: Headers sent with every call (a call's own win; None removes one).
        self.headers = CaseInsensitiveDict(headers or {})
        #: ``(user, password)`` sent with every call that sets no ``auth=`` of its own.
        self.auth = auth
        self._fallback = _fallbacks(fallback)
        self._expect = [expect] if isinstance(expect, str) else list(expect or [])
        self._idempotency_key = idempotency_key
        self._cookies_on = bool(cookies)

    # -- the call's arguments, checked and normalised; nothing is sent before this passes

    def _call(
        self,
        method: str,
        url: Any,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        cookies: Any = None,
        files: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        proxies: Any = None,
        hooks: Any = None,
        stream: Any = None,
        verify: Any = None,
        cert: Any = None,
        json: Any = None,
        *,
        deadline: Any = None,
        retries: Any = None,
        idempotency_key: Any = _MISSING,
        expect: Any = None,
        expect_status: Any = None,
        allow_error_body: bool = False,
        fallback: Any = _MISSING,
        max_body: Any = None,
    ) -> Tuple[Dict[str, Any], Request]:
        if not isinstance(method, (str, bytes)):
            raise ValueError(f"method must be a str, not {type(method).__name__}")
        method = _text(method).upper()
        url = _with_params(_text(url), params)
        _unsupported("proxies", proxies, (None, {}), "steady reads http_proxy, https_proxy and no_proxy from the environment")
        _unsupported("verify", verify, (None, True), "set it on the client: steady.Client(verify='ca.pem') trusts a private CA, steady.Client(verify=False) checks nothing")
        _unsupported("cert", cert, (None,), "client certificates are not supported yet")
        _unsupported("hooks", hooks, (None, {}), "read the returned Response instead")
        connect, read = _timeout(timeout)
        merged = _header_pairs(self.headers, headers)
        if cookies:
            jar = "; ".join(f"{k}={v}" for k, v in _pairs("cookies", cookies))
            merged["Cookie"] = f"{merged['Cookie']}; {jar}" if "Cookie" in merged else jar
        body: Optional[bytes] = None
        form = None
        multipart = None
        if files:
            multipart = _multipart(data, files)
        elif data is not None and data != {} and data != []:
            if isinstance(data, (str, bytes, bytearray, memoryview)) or hasattr(data, "read"):
                body = _read(data)
            elif hasattr(data, "items") or isinstance(data, (list, tuple)):
                form = _pairs("data", data)
            else:
                try:
                    body = b"".join(_read(chunk) for chunk in data)
                except (TypeError, ValueError):
                    raise ValueError(f"data must be a dict, a list of pairs, str, bytes or a file, not {type(data).__name__}") from None
        elif json is not None:
            try:
                body = _json.dumps(json, allow_nan=False).encode("utf-8")
            except (TypeError, ValueError) as e:
                raise _exc.InvalidJSONError(f"json: the body cannot be serialised as JSON: {e}", info={"layer": "usage", "kind": "invalid_json_body"}) from None
            if "Content-Type" not in merged:
                merged["Content-Type"] = "application/json"
        key = self._idempotency_key if idempotency_key is _MISSING else idempotency_key
        if key is True:
            key = "auto"
        if key is False:
            key = None
        if idempotency_key is _MISSING and key is not None and (method not in ("POST", "PATCH") or "Idempotency-Key" in merged):
            key = None  # a client-wide key is for the methods that need one, and yields to the caller's header
        expectations = list(self._expect)
        if expect is not None:
            expectations += [expect] if isinstance(expect, str) else list(expect)
        call = {
            "method": method,
            "url": url,
            "headers": [(k, v) for k, v in merged.items()],
            "body": body,
            "form": form,
            "multipart": multipart,
            "auth": _auth(auth if auth is not None else self.auth),
            "connect_timeout": connect,
            "read_timeout": read,
            "allow_redirects": bool(allow_redirects),
            "deadline": _seconds("deadline", deadline, True),
            "retries": None if retries is None else _count("retries", retries),
            "idempotency_key": None if key is None else _text(key),
            "expect": expectations,
            "expect_status": None if expect_status is None else [int(s) for s in expect_status],
            "allow_error_body": bool(allow_error_body),
            "fallbacks": self._fallback if fallback is _MISSING else _fallbacks(fallback),
            "max_body": None if max_body is None else _count("max_body", max_body),
            "log_level": logger.getEffectiveLevel(),
            "stream": bool(stream),
        }
        return call, Request(method, url, merged, body)

    @staticmethod
    def _finish(ok: bool, info: Dict[str, Any], logs: List[Tuple[int, str]], request: Request) -> Response:
        for level, line in logs:
            logger.log(level, line)
        if ok:
            return Response._answered(info, request)
        if info.get("status") is not None and info.get("layer") in ("http", "semantic") and info.get("kind") not in ("too_many_redirects", "redirect_refused"):
            return Response._failed(info, request)
        raise _exc._from_info(info, request=request) from None

    @staticmethod
    def _json_or_none(response: Response) -> Any:
        """The seeds' contract on a response: data, None for an outage, raise for a bug."""
        if response.ok:
            if not response.content.strip():
                return None
            try:
                return response.json()
            except _exc.JSONDecodeError as e:
                info = {"layer": "semantic", "kind": "invalid_json", "attempt_log": response.attempt_log, "guard_log": response.guard_log}
                method = response.request.method if response.request else "GET"
                raise _exc.SemanticError(f"{method} {response._shown_url}: {response.status_code} {response.reason} but the body is not JSON: {e}", response=response, info=info) from None
        if response.layer == "semantic":
            response.raise_for_status()
        status = response.status_code
        if 400 <= status < 500 and status not in (408, 429):
            response.raise_for_status()
        return None

    # -- cookies and guards

    @property
    def cookies(self) -> Mapping[str, str]:
        """The cookies the servers set, by name: a read-only snapshot (the client sends
        them back where they match; to send others, pass ``cookies=`` to a call)."""
        if not self._cookies_on:
            return MappingProxyType({})
        fd, path = tempfile.mkstemp(prefix="steady-cookies-")
        os.close(fd)
        jar: Dict[str, str] = {}
        try:
            # Mounted adapters share the Session's jar.
            self._core.save_cookies(path)
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.startswith("#HttpOnly_"):
                        line = line[len("#HttpOnly_"):]
                    elif line.startswith("#") or not line.strip():
                        continue
                    fields = line.rstrip("\n").split("\t")
                    if len(fields) == 7:
                        jar[fields[5]] = fields[6]
            return MappingProxyType(jar)
        finally:
            os.unlink(path)

    def circuit(self, url: str) -> str:
        """The phase of the circuit breaker of ``url``'s host: ``closed``, ``open`` or
        ``half_open``."""
        return self._route(url)[1].circuit(url)

    def _route(self, url: str) -> Tuple[Any, Any]:
        """The adapter mounted for ``url`` (longest prefix first) and the core that
        sends its calls; ``(None, the client's own)`` when none matches."""
        lower = str(url).lower()
        for prefix, adapter, core in self._mounts:
            if lower.startswith(prefix.lower()):
                return adapter, core
        return None, self._core


def _cookies_switch(cookies: Any) -> bool:
    """``cookies=`` on a Client says whether it keeps cookies; cookies to send go with a
    call (``cookies={...}``) or ``Session.get(..., cookies=...)``."""
    if not isinstance(cookies, bool):
        raise TypeError(
            f"cookies= on a Client is True or False (keep the cookies servers set), not "
            f"{type(cookies).__name__}: send cookies of your own with a call's cookies="
        )
    return cookies


class Client(_Base):
    """A session with steady's defaults on, and every knob a keyword.

    Defaults: ``timeout=(3.05, 27)`` (connect, read: requests' reading of ``timeout=``),
    ``deadline=60`` seconds for the whole call (every attempt, wait and the body),
    ``retries=3`` with exponential ``backoff=1.0`` seconds doubling up to
    ``backoff_max=30``, ``jitter="full"``, ``Retry-After`` honoured up to
    ``retry_after_max=6h``; a POST or PATCH is resent only with an idempotency key
    (``idempotency_key="auto"`` gives every POST and PATCH one); ``breaker=True`` (the
    per-host circuit breaker: opens after 5 failed calls in a row, ``{"failures": 5,
    "open_for": 2.0}`` to change it, False for none); ``budget=True`` (retries limited to
    20% of calls plus 10 a second per host); ``rate=None`` (``"10/s"`` paces calls per host);
    ``server_rate_limits=True`` (429 + Retry-After and RateLimit headers pause the host);
    ``state=None`` (guard state in memory; a SQLite path or ``redis://`` URL shares it with
    other processes and with the ``steady`` CLI); ``fallback=None``; ``expect=None`` (a
    check on every JSON body, ``"$.items count > 0"``); ``cookies=True`` (kept between
    calls); ``max_redirects=10``; ``max_body=None`` (100 MiB); ``verify=True``.

    One Client is safe to share between threads; the GIL is released while a call waits.
    """

    __slots__ = ()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release now; connections close when the client is dropped."""

    def mount(self, prefix: str, adapter: Any) -> None:
        """requests' ``Session.mount``: calls to URLs that start with ``prefix`` use the
        retry settings of ``adapter`` (an :class:`steady.adapters.HTTPAdapter` whose
        ``max_retries`` is a number or a ``Retry``, steady's or urllib3's); the longest
        matching prefix wins. See :mod:`steady.adapters` for what each setting becomes.
        """
        if not hasattr(adapter, "max_retries"):
            raise TypeError(f"mount takes an HTTPAdapter (steady.adapters.HTTPAdapter), not {type(adapter).__name__}")
        if not isinstance(adapter, _adapters.HTTPAdapter):
            adapter = _adapters.HTTPAdapter(max_retries=adapter.max_retries)
        adapter._warn_unretried(prefix)
        # The adapter's retries over the Session's own cookies and guards.
        core = next((c for _, a, c in self._mounts if a is adapter), None)
        if core is None:
            core = self._core.derive({**self._settings, **adapter._settings()})
        mounts = [m for m in self._mounts if m[0] != prefix] + [(prefix, adapter, core)]
        self._mounts = sorted(mounts, key=lambda m: len(m[0]), reverse=True)

    def get_adapter(self, url: str) -> Any:
        """The adapter mounted for ``url`` (longest prefix), or None when steady's own
        settings apply."""
        return self._route(url)[0]

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Sends a call: every attempt, wait and redirect under one deadline.

        Takes requests' arguments (``params``, ``data``, ``headers``, ``cookies``, ``files``,
        ``auth``, ``timeout``, ``allow_redirects``, ``json``) and steady's own per call:
        ``deadline=`` (seconds), ``retries=``, ``idempotency_key=`` (a key, or ``"auto"``),
        ``expect=``, ``expect_status=``, ``allow_error_body=``, ``fallback=``,
        ``max_body=``.

        Returns the Response, also for a 4xx or 5xx after the retries; raises a
        :class:`~steady.exceptions.RequestException` when no response came (transport,
        a guard, a bad argument: nothing is sent when an argument is wrong).
        """
        adapter, core = self._route(url)
        if adapter is not None and "idempotency_key" not in kwargs and str(method).upper() in adapter._keyed_methods():
            kwargs["idempotency_key"] = "auto"
        call, req = self._call(method, url, *args, **kwargs)
        if call["stream"]:
            ok, info, logs, body = core.send_stream(call)
            response = self._finish(ok, info, logs, req)
            if body is not None:
                response._on_the_wire(body)
        else:
            ok, info, logs = core.send(call)
            response = self._finish(ok, info, logs, req)
        if adapter is not None and not response.ok and adapter._raises_on(response.status_code, req.method):
            # urllib3's Retry with raise_on_status: requests raises RetryError here.
            n = len(response.attempt_log)
            raise _exc.RetryError(
                f"{req.method} {response._shown_url or req.url}: still {response.status_code} {response.reason} after "
                f"{n} attempt{'s' if n != 1 else ''} (Caused by ResponseError('too many {response.status_code} error responses'))",
                response=response,
                request=req,
                info={"layer": "http", "kind": "server_error" if response.status_code >= 500 else "client_error",
                      "attempt_log": response.attempt_log, "guard_log": response.guard_log,
                      "server_message": response.server_message, "explain": response.explain()},
            )
        return response

    def get(self, url: str, params: Any = None, **kwargs: Any) -> Response:
        """A GET (retried on a transport failure, 408, 429, 5xx)."""
        return self.request("GET", url, params=params, **kwargs)

    def events(self, url: str, params: Any = None, **kwargs: Any) -> EventStream:
        """Subscribes to server-sent events: a GET with ``Accept: text/event-stream``
        (the arguments of :meth:`get`), and each :class:`~steady.Event` as it arrives.
        The deadline bounds each connection up to its response head, the read timeout
        each silence; when the stream ends or breaks, steady connects again after the
        server's ``retry:`` (3 s when it gave none; longer after connections without an
        event) with ``Last-Event-ID``. A 204 ends the stream; a reconnection that fails
        raises its exception from the iteration.

        ::

            with client.events("https://api.example.com/feed") as feed:
                for event in feed:
                    handle(event.json())

        :raises steady.exceptions.RequestException: the first connection failed (a 4xx
            or 5xx raises ``HTTPError``; an answer that is not an event stream
            ``SemanticError``).
        """
        adapter, core = self._route(url)
        call, req = self._call("GET", url, params=params, **kwargs)
        ok, info, logs, body = core.send_events(call)
        response = self._finish(ok, info, logs, req)
        if body is None:
            response.raise_for_status()
        return EventStream(response, body)

    def options(self, url: str, **kwargs: Any) -> Response:
        """An OPTIONS."""
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Response:
        """A HEAD; redirects are not followed unless ``allow_redirects=True`` (as requests)."""
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> Response:
        """A POST: resent only with an idempotency key, or when nothing was sent."""
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> Response:
        """A PUT (idempotent: retried)."""
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> Response:
        """A PATCH: resent only with an idempotency key, or when nothing was sent."""
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        """A DELETE (idempotent: retried)."""
        return self.request("DELETE", url, **kwargs)

    def call(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        """The contract of a careful ``call_api``, built in.

        Returns the parsed JSON on success (or a fallback's answer); returns None for a
        handled outage (a transport failure, a 5xx, 408 or 429, an open circuit: after
        the retries and fallbacks; an empty body); raises
        :class:`~steady.exceptions.HTTPError` for another 4xx (a bug in the request) and
        :class:`~steady.exceptions.SemanticError` for a body that is not what was asked
        for. Bad arguments raise as in :meth:`request`.
        """
        headers = dict(kwargs.pop("headers", None) or {})
        if not any(k.lower() == "accept" for k in headers):
            headers["Accept"] = "application/json"
        try:
            response = self.request(method, url, headers=headers, **kwargs)
        except (_exc.ConnectionError, _exc.Timeout, _exc.GuardRefused):
            return None
        return self._json_or_none(response)


class Session(Client):
    """requests' ``Session``: a :class:`Client` with steady's defaults, keeping cookies and
    default ``headers`` between calls; a context manager."""

    __slots__ = ()


class AsyncClient(_Base):
    """:class:`Client` for asyncio: the same settings and methods, awaitable.

    ``async with steady.AsyncClient() as client: r = await client.get(url)``. A call runs
    on steady's own threads; cancelling the awaiting task cancels the call.
    """

    __slots__ = ()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Nothing to release now; connections close when the client is dropped."""

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """See :meth:`Client.request`."""
        call, req = self._call(method, url, *args, **kwargs)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        abort, immediate = self._core.start(call, loop, future, _deliver)
        if immediate is not None or abort is None:
            assert immediate is not None
            return self._finish(*immediate, req)
        try:
            ok, info, logs = await future
        except asyncio.CancelledError:
            abort.abort()
            raise
        return self._finish(ok, info, logs, req)

    async def get(self, url: str, params: Any = None, **kwargs: Any) -> Response:
        return await self.request("GET", url, params=params, **kwargs)

    async def options(self, url: str, **kwargs: Any) -> Response:
        return await self.request("OPTIONS", url, **kwargs)

    async def head(self, url: str, **kwargs: Any) -> Response:
        kwargs.setdefault("allow_redirects", False)
        return await self.request("HEAD", url, **kwargs)

    async def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> Response:
        return await self.request("POST", url, data=data, json=json, **kwargs)

    async def put(self, url: str, data: Any = None, **kwargs: Any) -> Response:
        return await self.request("PUT", url, data=data, **kwargs)

    async def patch(self, url: str, data: Any = None, **kwargs: Any) -> Response:
        return await self.request("PATCH", url, data=data, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Response:
        return await self.request("DELETE", url, **kwargs)

    async def call(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        """See :meth:`Client.call`."""
        headers = dict(kwargs.pop("headers", None) or {})
        if not any(k.lower() == "accept" for k in headers):
            headers["Accept"] = "application/json"
        try:
            response = await self.request(method, url, headers=headers, **kwargs)
        except (_exc.ConnectionError, _exc.Timeout, _exc.GuardRefused):
            return None
        return self._json_or_none(response)


def _deliver(future: "asyncio.Future[Any]", ok: bool, info: Dict[str, Any], logs: List[Tuple[int, str]]) -> None:
    """Runs on the event loop when a call ends."""
    if not future.done():
        future.set_result((ok, info, logs))
