"""Response, its case-insensitive headers, and the request it answers."""

from __future__ import annotations

import codecs
import datetime
import json as _json
from collections.abc import Mapping, MutableMapping
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import exceptions as _exc


class CaseInsensitiveDict(MutableMapping):
    """A dict whose keys are compared without case, keeping the case last set (as
    ``requests.structures.CaseInsensitiveDict``)."""

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        self._store: Dict[str, Tuple[str, Any]] = {}
        self.update(data or {}, **kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        self._store[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> Any:
        return self._store[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._store[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (cased for cased, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def lower_items(self) -> Iterator[Tuple[str, Any]]:
        return ((k, v[1]) for k, v in self._store.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            other = CaseInsensitiveDict(other)
        else:
            return NotImplemented
        return dict(self.lower_items()) == dict(other.lower_items())

    def copy(self) -> "CaseInsensitiveDict":
        return CaseInsensitiveDict(self._store.values())

    def __repr__(self) -> str:
        return str(dict(self.items()))


class Cookies(Dict[str, str]):
    """Cookies by name, as requests' cookie jar reads: ``r.cookies["sid"]``,
    ``r.cookies.get("sid")``, ``r.cookies.get_dict()``."""

    def get_dict(self) -> Dict[str, str]:
        return dict(self)


def _headers(pairs: Optional[List[Tuple[str, str]]]) -> CaseInsensitiveDict:
    """Headers as requests shows them: a repeated header joined with ', '."""
    headers = CaseInsensitiveDict()
    for name, value in pairs or ():
        if name in headers:
            headers[name] = headers[name] + ", " + value
        else:
            headers[name] = value
    return headers


class Request:
    """What was asked: method, URL and the headers given (as ``requests``'
    ``PreparedRequest``; steady adds its own headers, ``User-Agent`` and ``Accept``, when
    sending)."""

    def __init__(self, method: str, url: str, headers: CaseInsensitiveDict, body: Optional[bytes]) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<Request [{self.method}]>"


class Response:
    """The answer to a call: requests' attributes, and steady's own.

    A 4xx or 5xx that survived the retries is returned as a Response, as with requests;
    ``raise_for_status()`` raises :class:`~steady.exceptions.HTTPError` with the status and
    what the server said. A 2xx whose body is not what was asked for (``{"error": ...}``,
    a body labelled JSON that does not parse, a failed ``expect=``) is returned too, with
    ``ok`` False; ``raise_for_status()`` raises :class:`~steady.exceptions.SemanticError`.
    """

    def __init__(self) -> None:
        #: The status of the final response.
        self.status_code: int = 0
        #: The reason phrase (``Not Found``).
        self.reason: str = ""
        #: The headers, case-insensitive; a repeated header joined with ``", "``.
        self.headers: CaseInsensitiveDict = CaseInsensitiveDict()
        #: The URL of the final response, after redirects.
        self.url: str = ""
        #: How long the call took, waits and retries included.
        self.elapsed: datetime.timedelta = datetime.timedelta(0)
        #: The redirects followed to this answer, oldest first, as Responses without a
        #: body (status, reason, url, headers), as requests keeps them.
        self.history: List["Response"] = []
        #: The encoding used by ``text``: the Content-Type's charset, else UTF-8.
        self.encoding: Optional[str] = None
        #: The request this answers.
        self.request: Optional[Request] = None
        #: Every attempt, as dicts (number, status, fault, layer, verdict, decision, why, ...).
        self.attempt_log: List[Dict[str, Any]] = []
        #: Every guard decision of the call, as dicts (at, guard, wait, message): waits for
        #: a permit, the server's pauses, the circuit's probe.
        self.guard_log: List[Dict[str, Any]] = []
        #: Where the answer came from: ``network``, ``cache``, ``fallback_url`` or ``default``.
        self.source: str = "network"
        #: For an answer from a fallback: the outage it covered, as an exception (not raised).
        self.degraded_by: Optional[_exc.RequestException] = None
        self._content: bytes = b""
        self._set_cookies: List[str] = []
        #: The body still on the wire (``stream=True``) until it is read or closed.
        self._body: Any = None
        #: ``iter_content`` took the body piece by piece: it is not kept.
        self._consumed: bool = False
        self._error: Optional[Dict[str, Any]] = None
        self._summary: str = ""
        #: The URL for messages, credentials as ****.
        self._shown_url: str = ""

    @classmethod
    def _answered(cls, info: Dict[str, Any], request: Request) -> "Response":
        r = cls()
        r._fill(info["status"], info.get("reason"), info.get("headers"), info.get("body"), request)
        r.url = info.get("url") or request.url
        r.elapsed = datetime.timedelta(seconds=info.get("elapsed") or 0.0)
        r.attempt_log = info.get("attempt_log") or []
        r.guard_log = info.get("guard_log") or []
        r.source = info.get("source") or "network"
        r._shown_url = info.get("shown_url") or ""
        for hop in info.get("history") or []:
            h = cls()
            h._fill(hop["status"], hop.get("reason"), hop.get("headers"), b"", request)
            h.url = hop["url"]
            h._summary = f"{h.status_code} {h.reason} ({request.method}, redirected)"
            r.history.append(h)
        degraded = info.get("degraded_by")
        if degraded is not None:
            r.degraded_by = _exc._from_info(degraded, request=request)
        n = len(r.attempt_log)
        r._summary = (
            f"{r.status_code} {r.reason} ({request.method} {r._shown_url}) "
            f"after {n} attempt{'s' if n != 1 else ''} in {r.elapsed.total_seconds():.3f}s"
        )
        if r.degraded_by is not None:
            r._summary += f"; answered by the fallback ({r.source}) for:\n{r.degraded_by.explain()}"
        return r

    @classmethod
    def _failed(cls, info: Dict[str, Any], request: Request) -> "Response":
        """A response that came back as a failure: a 4xx/5xx, a semantic failure, a 3xx
        not followed."""
        r = cls()
        r._fill(info["status"], info.get("reason"), info.get("headers"), info.get("body"), request)
        r.url = request.url if info.get("final_url") is None else info["final_url"]
        r.elapsed = datetime.timedelta(seconds=info.get("elapsed") or 0.0)
        r.attempt_log = info.get("attempt_log") or []
        r.guard_log = info.get("guard_log") or []
        r._shown_url = _shown_url(info, None)
        if info.get("kind") != "redirect_not_followed":
            r._error = info
        r._summary = info.get("explain") or ""
        return r

    def _fill(self, status: int, reason: Optional[str], headers: Any, body: Optional[bytes], request: Request) -> None:
        self.status_code = status
        self.reason = reason or ""
        self.headers = _headers(headers)
        self._set_cookies = [v for n, v in headers or () if n.lower() == "set-cookie"]
        self._content = body or b""
        self.request = request
        self.encoding = _charset(self.headers.get("content-type"))

    # requests' surface

    @property
    def ok(self) -> bool:
        """True unless ``raise_for_status()`` would raise: a 4xx, a 5xx, or a 2xx whose
        body steady's checks rejected."""
        return self._error is None

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Releases a body not read yet (``stream=True``) and its connection; nothing
        to release otherwise."""
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def _on_the_wire(self, body: Any) -> None:
        self._body = body

    def _pieces(self) -> Iterator[bytes]:
        """The rest of a streamed body, piece by piece as it arrives (decoded)."""
        while self._body is not None:
            ok, piece = self._body.next()
            if not ok:
                self._body = None
                raise _exc._from_body(piece, response=self, request=self.request)
            if piece is None:
                self._body = None
                return
            yield piece

    @property
    def content(self) -> bytes:
        """The body, bytes (decompressed). With ``stream=True``, reading it reads the
        rest of the body (its read timeout and deadline apply; a body that breaks
        raises)."""
        if self._body is not None:
            if self._consumed:
                raise RuntimeError("The content for this response was already consumed")
            self._content = b"".join(self._pieces())
        elif self._consumed:
            raise RuntimeError("The content for this response was already consumed")
        return self._content

    @property
    def text(self) -> str:
        """The body decoded with ``encoding`` (UTF-8 when the server names none),
        undecodable bytes replaced."""
        content = self.content
        try:
            return content.decode(self.encoding or "utf-8", errors="replace")
        except LookupError:
            return content.decode("utf-8", errors="replace")

    @property
    def cookies(self) -> "Cookies":
        """The cookies this response set (``Set-Cookie``), by name; a redirect's are on
        its entry in ``history``. (A Session keeps them all: ``Session.cookies``.)"""
        jar = Cookies()
        for line in self._set_cookies:
            pair = line.split(";", 1)[0]
            name, sep, value = pair.partition("=")
            if sep and name.strip():
                jar[name.strip()] = value.strip().strip('"')
        return jar

    @property
    def apparent_encoding(self) -> str:
        """The body's encoding as its bytes suggest: ``ascii``, ``utf-8``, or
        ``ISO-8859-1`` for anything else (steady guesses no further; requests asks
        charset_normalizer)."""
        content = self.content
        if content.isascii():
            return "ascii"
        try:
            content.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            return "ISO-8859-1"

    @property
    def is_redirect(self) -> bool:
        return "location" in self.headers and self.status_code in (301, 302, 303, 307, 308)

    @property
    def links(self) -> Dict[str, Dict[str, str]]:
        """The ``Link`` header parsed, by ``rel``."""
        result: Dict[str, Dict[str, str]] = {}
        for link in _parse_links(self.headers.get("link", "")):
            result[link.get("rel") or link["url"]] = link
        return result

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON.

        :raises steady.exceptions.JSONDecodeError: the body is not JSON (also a
            ``json.JSONDecodeError`` and an ``InvalidJSONError``).
        """
        try:
            return _json.loads(self.content, **kwargs)
        except _json.JSONDecodeError as e:
            info = {"layer": "semantic", "kind": "invalid_json", "attempt_log": self.attempt_log, "guard_log": self.guard_log}
            raise _exc.JSONDecodeError(e.msg, e.doc, e.pos, response=self, info=info) from None

    def iter_content(self, chunk_size: Optional[int] = 1, decode_unicode: bool = False) -> Iterator[Any]:
        """The body in chunks of at most ``chunk_size`` bytes (``None``: as they arrive).
        With ``stream=True`` the chunks come off the wire as the server sends them (a
        piece shorter than ``chunk_size`` is handed on at once), and are
        not kept: ``content`` cannot be read afterwards (as with requests). A body that
        breaks part way raises: :class:`~steady.exceptions.ChunkedEncodingError` for a
        connection cut or reset, ``ReadTimeout`` for a silence past the read timeout,
        ``DeadlineExceeded``, ``BodyTooLarge``; ``.info["body_received"]`` says how
        many bytes had come."""
        if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
            raise TypeError(f"chunk_size must be an int of at least 1 or None, not {chunk_size!r}")
        if self._body is not None:
            if self._consumed:
                raise _exc.StreamConsumedError("the body of this response was already read by iter_content")
            self._consumed = True
            pieces: Iterator[bytes] = self._pieces()
        elif self._consumed:
            raise _exc.StreamConsumedError("the body of this response was already read by iter_content")
        else:
            pieces = iter([self._content] if self._content else [])
        chunks = pieces if chunk_size is None else _bounded(pieces, chunk_size)
        if not decode_unicode:
            yield from chunks
            return
        try:
            decoder = codecs.getincrementaldecoder(self.encoding or "utf-8")(errors="replace")
        except LookupError:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for chunk in chunks:
            text = decoder.decode(chunk)
            if text:
                yield text
        rest = decoder.decode(b"", final=True)
        if rest:
            yield rest

    def iter_lines(self, chunk_size: int = 512, decode_unicode: bool = False, delimiter: Any = None) -> Iterator[Any]:
        """The body line by line; with ``stream=True``, each line as soon as it is
        whole (requests' algorithm: a line split across chunks is joined)."""
        pending = None
        for chunk in self.iter_content(chunk_size=chunk_size, decode_unicode=decode_unicode):
            if pending is not None:
                chunk = pending + chunk
            lines = chunk.split(delimiter) if delimiter is not None else chunk.splitlines()
            if lines and lines[-1] and chunk and lines[-1][-1] == chunk[-1]:
                pending = lines.pop()
            else:
                pending = None
            yield from lines
        if pending is not None:
            yield pending

    def raise_for_status(self) -> None:
        """Raises when the call failed at the HTTP or semantic layer.

        :raises steady.exceptions.HTTPError: a 4xx or 5xx; the message carries the status,
            the URL (credentials as ``****``) and what the server said.
        :raises steady.exceptions.SemanticError: a 2xx whose body is not what was asked for.
        """
        info = self._error
        if info is None:
            return
        if info.get("layer") == "semantic":
            raise _exc.SemanticError(info.get("message"), response=self, info=info)
        side = "Client" if 400 <= self.status_code < 500 else "Server" if self.status_code >= 500 else "Unexpected"
        message = f"{self.status_code} {side} Error: {self.reason} for url: {_shown_url(info, self.request)}"
        if info.get("server_message"):
            message += f" (server said: {info['server_message']})"
        raise _exc.HTTPError(message, response=self, info=info)

    # steady's own

    @property
    def attempts(self) -> int:
        """How many attempts the call took."""
        return len(self.attempt_log)

    @property
    def layer(self) -> Optional[str]:
        """The layer that failed (``http``, ``semantic``), or None for a success."""
        return None if self._error is None else self._error.get("layer")

    @property
    def kind(self) -> Optional[str]:
        """steady's name for what failed (``client_error``, ``error_in_body``, ...), or None."""
        return None if self._error is None else self._error.get("kind")

    @property
    def server_message(self) -> Optional[str]:
        """What the server said about a failure (``token expired``, a 422's fields),
        credentials scrubbed; None for a success."""
        return None if self._error is None else self._error.get("server_message")

    def explain(self) -> str:
        """The call in words: for a failure, what happened, at which layer, what the server
        said, what steady tried and what to do next; for a success, the status, attempts
        and time."""
        return self._summary


def _shown_url(info: Dict[str, Any], request: Optional[Request]) -> str:
    """The URL for messages: steady's redacted one when it has it."""
    return info.get("final_url") or info.get("url") or (request.url if request else "")


def _charset(content_type: Optional[str]) -> Optional[str]:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset" and value:
            return value.strip().strip("'\"")
    return None


def _parse_links(value: str) -> List[Dict[str, str]]:
    links = []
    for part in value.split(","):
        url, _, params = part.partition(";")
        url = url.strip().strip("<> '\"")
        if not url:
            continue
        link = {"url": url}
        for param in params.split(";"):
            key, _, val = param.partition("=")
            if key.strip():
                link[key.strip()] = val.strip().strip("'\"")
        links.append(link)
    return links


class _Codes:
    """Status codes by name, as ``requests.codes``: ``codes.ok``, ``codes.not_found``,
    ``codes.TOO_MANY_REQUESTS``."""

    def __init__(self) -> None:
        import http

        self._by_name: Dict[str, int] = {}
        for status in http.HTTPStatus:
            self._by_name[status.name.lower()] = status.value
        self._by_name.update({"teapot": 418, "im_a_teapot": 418, "all_ok": 200, "okay": 200, "all_good": 200})

    def __getattr__(self, name: str) -> int:
        try:
            return self._by_name[name.lower()]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Optional[int]:
        return self._by_name.get(name.lower())

    def get(self, name: str, default: Optional[int] = None) -> Optional[int]:
        return self._by_name.get(name.lower(), default)


#: Status codes by name, as ``requests.codes``.
codes = _Codes()


def _bounded(pieces: Iterator[bytes], size: int) -> Iterator[bytes]:
    """``pieces`` cut into chunks of at most ``size`` bytes, each handed on as soon as
    it came (never held back to fill a chunk, as urllib3 reads a chunked body)."""
    for piece in pieces:
        if len(piece) <= size:
            yield piece
            continue
        view = memoryview(piece)
        for i in range(0, len(piece), size):
            yield bytes(view[i : i + size])


class Event:
    """One server-sent event (:meth:`steady.Client.events`)."""

    __slots__ = ("id", "event", "data", "retry")

    def __init__(self, id: str, event: str, data: str, retry: Optional[float]) -> None:
        #: The last event id the server set (this event's or an earlier one's; "" when none).
        self.id = id
        #: The event's type (``event:``), ``message`` when the server gave none.
        self.event = event
        #: The event's data: its ``data:`` lines joined by newlines.
        self.data = data
        #: The reconnection time in seconds this event set (``retry:``), or None.
        self.retry = retry

    def json(self, **kwargs: Any) -> Any:
        """The data parsed as JSON."""
        return _json.loads(self.data, **kwargs)

    def __repr__(self) -> str:
        return f"<Event {self.event} id={self.id!r} data={self.data[:40]!r}>"


class EventStream:
    """The events of a subscription (:meth:`steady.Client.events`), one at a time as
    they arrive; a context manager that closes the connection."""

    def __init__(self, response: "Response", body: Any) -> None:
        #: The first connection's response (status, headers, attempts).
        self.response = response
        self._body = body

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> Event:
        if self._body is None:
            raise StopIteration
        ok, item = self._body.next()
        if not ok:
            self._body = None
            raise _exc._from_body(item, response=self.response, request=self.response.request)
        if item is None:
            self._body = None
            raise StopIteration
        return Event(*item)

    def close(self) -> None:
        """Ends the subscription and its connection."""
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

