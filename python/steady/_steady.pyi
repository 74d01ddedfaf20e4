"""The compiled core of steady (PyO3). Private: use the ``steady`` package."""

import asyncio
from typing import Any, Callable, Dict, List, Optional, Tuple, final

__all__ = ["Abort", "Body", "Client", "STEADY_VERSION"]

STEADY_VERSION: str

_Sent = Tuple[bool, Dict[str, Any], List[Tuple[int, str]]]

@final
class Abort:
    def abort(self) -> None: ...

@final
class Body:
    def next(self) -> Tuple[bool, Any]: ...
    def close(self) -> None: ...

@final
class Client:
    def __new__(cls, settings: Dict[str, Any]) -> "Client": ...
    def derive(self, settings: Dict[str, Any]) -> "Client": ...
    def send(self, call: Dict[str, Any]) -> _Sent: ...
    def send_stream(
        self, call: Dict[str, Any]
    ) -> Tuple[bool, Dict[str, Any], List[Tuple[int, str]], Optional[Body]]: ...
    def start(
        self,
        call: Dict[str, Any],
        event_loop: asyncio.AbstractEventLoop,
        future: "asyncio.Future[Any]",
        done: Callable[..., None],
    ) -> Tuple[Optional[Abort], Optional[_Sent]]: ...
    def save_cookies(self, path: str) -> bool: ...
    def circuit(self, url: str) -> str: ...
