"""Servers for the tests: on 127.0.0.1, free ports, started per test; they record what
they receive, so a test asserts what the server saw (counts, headers, bodies), not only
what steady reports."""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional

import pytest

# How long a hanging reply waits at most before giving up on its own (a test that fails
# must not hang the suite). Never reached by a passing test.
HANG_LIMIT = 30.0


class Reply:
    """One scripted answer."""

    def __init__(self, status: int = 200, body: bytes | str = b"", headers: Optional[Dict[str, str]] = None, action: Optional[str] = None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = headers or {}
        self.action = action

    @classmethod
    def json(cls, status: int, value, headers: Optional[Dict[str, str]] = None) -> "Reply":
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return cls(status, json.dumps(value), h)

    @classmethod
    def text(cls, status: int, text: str, headers: Optional[Dict[str, str]] = None) -> "Reply":
        h = {"Content-Type": "text/plain; charset=utf-8"}
        h.update(headers or {})
        return cls(status, text, h)


#: Reads the request, never answers (until the client goes away).
HANG = Reply(action="hang")
#: Reads the request, resets the connection.
RESET = Reply(action="reset")


class Seen:
    """One request the server received."""

    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<{self.method} {self.path}>"


class ScriptServer:
    """An HTTP/1.1 server answering each path from its script (the last reply repeats;
    an unknown path is a 404) and recording every request."""

    def __init__(self) -> None:
        self.routes: Dict[str, List[Reply]] = {}
        self.seen: List[Seen] = []
        self.lock = threading.Lock()
        #: Set each time a request arrives.
        self.arrived = threading.Condition(self.lock)
        #: Set when a hanging reply sees its client close the connection.
        self.client_gone = threading.Event()
        #: Set by a test to end every hanging reply.
        self.release = threading.Event()
        self.released_by_test: List[bool] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path_only = self.path.split("?", 1)[0]
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with server.lock:
                    server.seen.append(seen)
                    script = server.routes.get(path_only)
                    if script is None:
                        reply = Reply.json(404, {"error": f"no route {path_only}"})
                    else:
                        n = sum(1 for s in server.seen if s.path.split("?", 1)[0] == path_only) - 1
                        reply = script[min(n, len(script) - 1)]
                    server.arrived.notify_all()
                if callable(reply):
                    reply = reply(seen)
                if reply.action == "hang":
                    self.hang()
                    return
                if reply.action == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            def hang(self):
                """Waits until the client closes the connection or the test releases it."""
                self.close_connection = True
                waited = 0.0
                while waited < HANG_LIMIT:
                    if server.release.is_set():
                        server.released_by_test.append(True)
                        return
                    ready, _, _ = select.select([self.connection], [], [], 0.05)
                    waited += 0.05
                    if ready:
                        try:
                            data = self.connection.recv(1024)
                        except OSError:
                            data = b""
                        if not data:
                            server.client_gone.set()
                            return
                server.released_by_test.append(False)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_one

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def route(self, path: str, *replies: Reply) -> str:
        self.routes[path] = list(replies)
        return self.url(path)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: Optional[str] = None) -> int:
        with self.lock:
            return sum(1 for s in self.seen if path is None or s.path.split("?", 1)[0] == path)

    def requests(self, path: Optional[str] = None) -> List[Seen]:
        with self.lock:
            return [s for s in self.seen if path is None or s.path.split("?", 1)[0] == path]

    def wait_for(self, count: int, timeout: float = HANG_LIMIT) -> bool:
        """Waits until `count` requests arrived (a generous limit: failing tests end)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.seen) >= count, timeout)

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ScriptServer()
    yield s
    s.stop()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def fast():
    """A client with steady's defaults, but backoff in milliseconds, so tests run fast."""
    import steady

    return steady.Client(backoff=0.001, backoff_max=0.01)


class Chaos:
    """A `steady chaos` server (python/examples/chaos.rs) with the faults given; its
    statistics, read when it stops, say what it received."""

    def __init__(self, binary: str, faults: List[str]):
        import subprocess

        args = [binary, "--seed", "7"]
        for f in faults:
            args += ["--fault", f]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.base = self.proc.stdout.readline().strip()
        self._stats = None

    def url(self, path: str) -> str:
        return self.base + path

    def stats(self) -> dict:
        """Stops the server and returns what it received."""
        if self._stats is None:
            self.proc.stdin.close()
            self._stats = json.loads(self.proc.stdout.read().strip().splitlines()[-1])
            self.proc.wait()
        return self._stats


@pytest.fixture
def chaos():
    """Starts `steady chaos` servers: chaos("drip=100ms", ...). The binary comes from
    run-tests.sh (STEADY_CHAOS); without it these tests are skipped."""
    import os

    binary = os.environ.get("STEADY_CHAOS")
    if not binary or not os.path.exists(binary):
        pytest.skip("STEADY_CHAOS is not set (python/run-tests.sh builds and sets it)")
    started: List[Chaos] = []

    def start(*faults: str) -> Chaos:
        c = Chaos(binary, list(faults))
        started.append(c)
        return c

    yield start
    for c in started:
        c.stats()
