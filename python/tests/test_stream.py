"""stream=True: the head at once, the body off the wire as the server sends it."""

import socket
import threading

import pytest

import steady
from conftest import Reply


class Gated:
    """A raw HTTP/1.1 server: writes parts[0] at once, each next part when the test
    opens the gate, then closes (or, with `hang`, keeps the connection silent)."""

    def __init__(self, parts, hang=False):
        self.parts = parts
        self.hang = hang
        self.gate = threading.Semaphore(0)
        self.heads = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        conn, _ = self.sock.accept()
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = conn.recv(1)
            if not byte:
                return
            head += byte
        self.heads.append(head.decode())
        for i, part in enumerate(self.parts):
            if i > 0:
                self.gate.acquire()
            conn.sendall(part)
        if self.hang:
            self.done.wait(30)
        conn.close()

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def open(self):
        self.gate.release()

    def stop(self):
        self.done.set()
        self.sock.close()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"


def test_the_first_chunk_is_read_before_the_rest_is_sent():
    server = Gated([HEAD + chunk(b"first "), chunk(b"second") + b"0\r\n\r\n"])
    try:
        r = steady.get(server.url("/log"), stream=True)
        assert r.status_code == 200 and r.ok
        pieces = r.iter_content(chunk_size=None)
        assert next(pieces) == b"first "  # the server holds "second" until the gate opens
        server.open()
        assert list(pieces) == [b"second"]
        assert len(server.heads) == 1
    finally:
        server.stop()


def test_iter_lines_joins_a_line_split_across_chunks_and_decodes():
    server = Gated([HEAD + chunk(b'{"n": 1}\n{"n"') + chunk(b": 2}\n\xc3") + chunk(b"\xa9t\xc3\xa9\n") + b"0\r\n\r\n"])
    try:
        r = steady.get(server.url("/export.ndjson"), stream=True)
        assert list(r.iter_lines()) == [b'{"n": 1}', b'{"n": 2}', "été".encode()]
    finally:
        server.stop()
    server = Gated([HEAD + chunk(b"a\n\xc3") + chunk(b"\xa9\n") + b"0\r\n\r\n"])
    try:
        r = steady.get(server.url("/x"), stream=True)
        assert list(r.iter_lines(decode_unicode=True)) == ["a", "é"]
    finally:
        server.stop()


def test_a_body_cut_short_raises_chunked_encoding_error_saying_how_much_came():
    cut = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\n0123456789"
    server = Gated([cut])
    try:
        r = steady.get(server.url("/export"), stream=True)
        got = b""
        with pytest.raises(steady.exceptions.ChunkedEncodingError) as caught:
            for piece in r.iter_content(chunk_size=None):
                got += piece
        assert got == b"0123456789"
        assert caught.value.body_received == 10
        assert "after 10 B of the body" in str(caught.value)
        assert len(server.heads) == 1  # not sent again
    finally:
        server.stop()


def test_silence_past_the_read_timeout_raises_read_timeout_mid_body():
    server = Gated([HEAD + chunk(b"tick")], hang=True)
    try:
        r = steady.get(server.url("/tail"), stream=True, timeout=(1, 0.05))
        pieces = r.iter_content(chunk_size=None)
        assert next(pieces) == b"tick"
        with pytest.raises(steady.exceptions.ReadTimeout) as caught:
            next(pieces)
        assert caught.value.body_received == 4
        assert isinstance(caught.value, steady.exceptions.ConnectionError)  # as requests raises
    finally:
        server.stop()


def test_content_reads_the_rest_and_a_consumed_body_is_not_read_twice(server):
    url = server.route("/doc", Reply.text(200, "the whole document"))
    r = steady.get(url, stream=True)
    assert r.text == "the whole document"
    assert r.content == b"the whole document"
    assert list(r.iter_content(5)) == [b"the w", b"hole ", b"docum", b"ent"]
    r = steady.get(url, stream=True)
    assert b"".join(r.iter_content(4)) == b"the whole document"
    with pytest.raises(RuntimeError, match="already consumed"):
        r.content
    with pytest.raises(steady.exceptions.StreamConsumedError):
        list(r.iter_content())


def test_an_error_answer_is_read_whole_and_raises_with_the_servers_words(server):
    url = server.route("/gone", Reply.json(404, {"error": "no such export"}))
    with steady.Session() as s:
        r = s.get(url, stream=True)
    assert r.status_code == 404
    assert r.json() == {"error": "no such export"}
    with pytest.raises(steady.exceptions.HTTPError, match="no such export"):
        r.raise_for_status()
    assert server.hits("/gone") == 1


def test_close_releases_a_body_not_read(server):
    url = server.route("/big", Reply.text(200, "x" * 100_000))
    with steady.get(url, stream=True) as r:
        assert r.status_code == 200
    assert list(r.iter_content(chunk_size=None)) == []
    assert server.hits("/big") == 1


def test_response_cookies_are_the_ones_it_set_and_apparent_encoding_reads_the_bytes(server):
    url = server.route(
        "/login",
        Reply(200, "é".encode("utf-8"), {"Set-Cookie": 'sid="abc"; Path=/; HttpOnly'}),
    )
    r = steady.get(url)
    assert r.cookies["sid"] == "abc"
    assert r.cookies.get_dict() == {"sid": "abc"}
    assert r.apparent_encoding == "utf-8"
    assert steady.get(server.route("/plain", Reply.text(200, "abc"))).apparent_encoding == "ascii"
    assert steady.get(server.route("/latin", Reply(200, b"\xe9t\xe9"))).apparent_encoding == "ISO-8859-1"


def test_iter_lines_hands_on_a_short_line_without_waiting_for_512_bytes():
    server = Gated([HEAD + chunk(b"first line\n"), chunk(b"second line\n") + b"0\r\n\r\n"])
    try:
        r = steady.get(server.url("/tail"), stream=True)
        lines = r.iter_lines()
        assert next(lines) == b"first line"  # before the server sends the second
        server.open()
        assert list(lines) == [b"second line"]
    finally:
        server.stop()


def test_a_closed_body_reads_as_ended():
    server = Gated([HEAD + chunk(b"a"), chunk(b"b") + b"0\r\n\r\n"])
    try:
        r = steady.get(server.url("/x"), stream=True)
        pieces = r.iter_content(chunk_size=None)
        assert next(pieces) == b"a"
        r.close()  # the server still holds "b": the rest is dropped, not waited for
        assert list(pieces) == []
    finally:
        server.stop()


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"


def test_events_come_one_at_a_time_and_a_break_resumes_from_the_last_id():
    # One connection: event 1, then (gate) event 2 and a half event, then the end.
    first = Gated([
        SSE_HEAD + chunk(b"retry: 1\nid: 1\nevent: add\ndata: {\"n\": 1}\n\n"),
        chunk(b"id: 2\ndata: two\n\nid: 3\ndata: half") + b"0\r\n\r\n",
    ])
    try:
        client = steady.Client()
        with client.events(first.url("/feed")) as feed:
            one = next(feed)
            assert (one.id, one.event, one.json()) == ("1", "add", {"n": 1})
            assert one.retry == 0.001
            first.open()
            two = next(feed)
            assert (two.id, two.event, two.data) == ("2", "message", "two")
            assert feed.response.status_code == 200
        assert "accept: text/event-stream" in first.heads[0].lower()
    finally:
        first.stop()


def test_events_reconnect_with_last_event_id_and_end_on_204(server):
    url = server.route(
        "/feed",
        Reply(200, "retry: 1\nid: 5\ndata: x\n\nid: 6\ndata: half", {"Content-Type": "text/event-stream"}),
        Reply(200, "id: 7\ndata: y\n\n", {"Content-Type": "text/event-stream"}),
        Reply(204),
    )
    got = [(e.id, e.data) for e in steady.Client().events(url)]
    assert got == [("5", "x"), ("7", "y")]
    assert [s.headers.get("last-event-id") for s in server.requests("/feed")] == [None, "5", "7"]


def test_events_on_an_error_or_the_wrong_type_raise_at_once(server):
    with pytest.raises(steady.exceptions.HTTPError, match="token expired"):
        steady.Client().events(server.route("/401", Reply.json(401, {"error": "token expired"})))
    with pytest.raises(steady.exceptions.SemanticError, match="text/event-stream"):
        steady.Client().events(server.route("/json", Reply.json(200, {"items": []})))
