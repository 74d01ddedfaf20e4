"""A call's arguments, checked and put in the shape the core takes: nothing is sent
before these pass, and each error names the argument at fault."""

from __future__ import annotations

import json as _json
import math
import os
from typing import Any, Iterable, List, Optional, Tuple, Union
from urllib.parse import urlencode

from . import exceptions as _exc
from ._models import CaseInsensitiveDict

#: What a header refused before sending reports.
_USAGE_HEADER = {"layer": "usage", "kind": "invalid_header"}

#: Marks an argument not given (None is a value: "none of the client's").
_MISSING: Any = object()


class Fallback:
    """One answer for an outage, tried in order after the call has failed (never for a
    4xx or a semantic failure: a fallback would hide a bug).

    ``fallback=`` also takes shortcuts: a ``str`` starting with ``http://`` or
    ``https://`` is :meth:`url`, the string ``"cache"`` is :meth:`cache`, and a dict or
    list is :meth:`json`.
    """

    def __init__(self, kind: str, url: Optional[str] = None, body: Optional[bytes] = None, content_type: Optional[str] = None) -> None:
        self._kind = kind
        self._url = url
        self._body = body
        self._content_type = content_type

    @classmethod
    def cache(cls) -> "Fallback":
        """The last good answer to the same request, from the client's ``cache=`` file."""
        return cls("cache")

    @classmethod
    def url(cls, url: str) -> "Fallback":  # type: ignore[override]
        """The same request to another URL (credentials included: name only a source you
        trust with them)."""
        return cls("url", url=url)

    @classmethod
    def json(cls, value: Any) -> "Fallback":
        """A fixed JSON answer."""
        return cls("body", body=_json.dumps(value).encode(), content_type="application/json")

    @classmethod
    def body(cls, body: Union[bytes, str], content_type: str = "text/plain") -> "Fallback":  # type: ignore[override]
        """A fixed answer with this body and content type."""
        data = body.encode() if isinstance(body, str) else bytes(body)
        return cls("body", body=data, content_type=content_type)

    def _tuple(self) -> Tuple[str, Optional[str], Optional[bytes], Optional[str]]:
        return (self._kind, self._url, self._body, self._content_type)

    def __repr__(self) -> str:
        return f"<Fallback {self._kind}>"


def _fallbacks(value: Any) -> Optional[List[Tuple[str, Optional[str], Optional[bytes], Optional[str]]]]:
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) and all(isinstance(v, (Fallback, str)) for v in value) else [value]
    out = []
    for v in items:
        if isinstance(v, Fallback):
            out.append(v._tuple())
        elif v == "cache":
            out.append(Fallback.cache()._tuple())
        elif isinstance(v, str) and v.startswith(("http://", "https://")):
            out.append(Fallback.url(v)._tuple())
        elif isinstance(v, (dict, list)):
            out.append(Fallback.json(v)._tuple())
        else:
            raise ValueError(f"fallback must be a steady.Fallback, a URL, 'cache', or a dict or list (a JSON answer), not {type(v).__name__}")
    return out


def _seconds(name: str, value: Any, allow_none: bool = False) -> Optional[float]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of seconds, not {type(value).__name__} {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


def _timeout(value: Any) -> Tuple[Optional[float], Optional[float]]:
    """``timeout=`` as requests reads it: a number (connect and read) or a (connect,
    read) tuple; None keeps the client's."""
    if value is None:
        return None, None
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"timeout must be a number of seconds or a (connect, read) tuple, not a {len(value)}-tuple {value!r}")
        return _seconds("timeout (connect)", value[0], True), _seconds("timeout (read)", value[1], True)
    seconds = _seconds("timeout", value)
    return seconds, seconds


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
    return value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _pairs(name: str, value: Any) -> List[Tuple[str, str]]:
    """A dict or a list of pairs as (str, str) pairs; a list value repeats the key, a
    None value is left out."""
    if value is None:
        return []
    items: Iterable[Any] = value.items() if hasattr(value, "items") else value
    out: List[Tuple[str, str]] = []
    try:
        for key, val in items:
            if val is None:
                continue
            if isinstance(val, (list, tuple)):
                out.extend((_text(key), _text(v)) for v in val if v is not None)
            else:
                out.append((_text(key), _text(val)))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a dict or a list of (key, value) pairs") from None
    return out


def _with_params(url: str, params: Any) -> str:
    if params is None:
        return url
    if isinstance(params, (str, bytes)):
        query = _text(params).lstrip("?")
    else:
        query = urlencode(_pairs("params", params))
    if not query:
        return url
    base, hash_, fragment = url.partition("#")
    sep = "&" if "?" in base else "?"
    if base.endswith(("?", "&")):
        sep = ""
    return f"{base}{sep}{query}{hash_}{fragment}"


def _header_pairs(defaults: CaseInsensitiveDict, headers: Any) -> CaseInsensitiveDict:
    merged = defaults.copy()
    if headers:
        for name, value in (headers.items() if hasattr(headers, "items") else headers):
            if value is None:
                merged.pop(name, None)
                continue
            if not isinstance(name, (str, bytes)):
                raise _exc.InvalidHeader(f"Header name {name!r} must be of type str or bytes, not {type(name).__name__}", info=_USAGE_HEADER)
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            elif not isinstance(value, str):
                # The value may be a credential: it is not shown.
                raise _exc.InvalidHeader(f"Header part for {_text(name)!r} must be of type str or bytes, not {type(value).__name__}", info=_USAGE_HEADER)
            merged[_text(name)] = value
    return merged


def _read(value: Any) -> bytes:
    if hasattr(value, "read"):
        value = value.read()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ValueError(f"files: a file must be bytes, str or a file object, not {type(value).__name__}")


def _multipart(data: Any, files: Any) -> List[Tuple[str, Optional[str], Optional[str], bytes]]:
    parts: List[Tuple[str, Optional[str], Optional[str], bytes]] = []
    if isinstance(data, (str, bytes)):
        # As requests: a string body cannot become form fields beside the files.
        raise ValueError("Data must not be a string: with files=, give data= as a dict of form fields")
    if data is not None:
        parts.extend((k, None, None, v.encode("utf-8")) for k, v in _pairs("data", data))
    for name, value in (files.items() if hasattr(files, "items") else files):
        filename: Optional[str] = None
        content_type: Optional[str] = None
        if isinstance(value, (tuple, list)):
            # (None, "value") is a plain form field, as requests sends it.
            filename = value[0]
            content = value[1]
            if len(value) > 2:
                content_type = value[2]
        else:
            content = value
            filename = os.path.basename(getattr(value, "name", "") or "") or name
        parts.append((_text(name), filename, content_type, _read(content)))
    return parts


def _auth(value: Any) -> Optional[Tuple[str, str]]:
    if value is None:
        return None
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (_text(value[0]), _text(value[1]))
    # requests' HTTPBasicAuth (or steady's own tuple); any other auth object (digest,
    # proxy auth, OAuth) would need its own exchange: refused, never sent as Basic.
    if type(value).__name__ == "HTTPBasicAuth" and hasattr(value, "username") and hasattr(value, "password"):
        return (_text(value.username), _text(value.password))
    if hasattr(value, "username") or callable(value):
        raise ValueError(
            f"auth={type(value).__name__}(...) is not supported: steady sends Basic auth from a "
            "(user, password) tuple or HTTPBasicAuth; for a token, send headers={'Authorization': 'Bearer ...'}"
        )
    raise ValueError("auth must be a (user, password) tuple; for a token, send headers={'Authorization': 'Bearer ...'} (marked as a credential and shown as ****)")


def _unsupported(name: str, value: Any, fine: Tuple[Any, ...], hint: str) -> None:
    if value not in fine:
        raise ValueError(f"{name}={value!r} is not supported per call: {hint}")
