"""The breaker, shared state, fallbacks and the seeds' contract (client.call)."""

import logging
import os
import subprocess

import pytest

import steady
from conftest import HANG, Reply


def test_an_open_circuit_refuses_without_sending(server, caplog):
    url = server.route("/down", Reply.json(503, {"error": "down"}))
    client = steady.Client(retries=0, deadline=5, breaker={"failures": 2, "open_for": 60, "streak_span": 0.001})
    with caplog.at_level(logging.WARNING, logger="steady"):
        assert client.get(url).status_code == 503
        assert client.get(url).status_code == 503
    assert client.circuit(url) == "open"
    (opened,) = [r for r in caplog.records if r.name == "steady"]
    assert opened.levelno == logging.WARNING
    assert f"circuit for http://127.0.0.1:{server.port}: closed -> open" in opened.getMessage()
    with pytest.raises(steady.GuardRefused) as info:
        client.get(url)
    e = info.value
    assert e.layer == "guard"
    assert e.kind == "circuit_open"
    assert e.attempts == 0
    assert 0 < e.retry_after <= 60
    assert "nothing was sent" in e.explain()
    assert server.hits("/down") == 2


def test_breaker_false_turns_it_off(server):
    url = server.route("/down", Reply.json(503, {}))
    client = steady.Client(retries=0, breaker=False)
    for _ in range(8):
        assert client.get(url).status_code == 503
    assert server.hits("/down") == 8


def test_state_in_sqlite_is_shared_by_clients(server, tmp_path):
    url = server.route("/down", Reply.json(503, {}))
    state = str(tmp_path / "guards.db")
    settings = dict(retries=0, deadline=5, breaker={"failures": 2, "open_for": 60, "streak_span": 0.001}, state=state)
    first, second = steady.Client(**settings), steady.Client(**settings)
    assert first.get(url).status_code == 503
    assert first.get(url).status_code == 503
    with pytest.raises(steady.GuardRefused):
        second.get(url)
    assert second.circuit(url) == "open"
    assert server.hits("/down") == 2


def test_state_in_sqlite_is_shared_with_the_command_line(server, tmp_path):
    """The Python client and the `steady` binary read and write one state file: a
    circuit opened from Python refuses the command line's call, which sends nothing."""
    binary = os.environ.get("STEADY_BIN")
    if not binary or not os.path.exists(binary):
        if os.environ.get("CI"):
            pytest.fail("STEADY_BIN is not set: test.sh builds the steady binary first")
        pytest.skip("STEADY_BIN is not set (test.sh sets it after building steady)")
    url = server.route("/down", Reply.json(503, {}))
    state = str(tmp_path / "shared.db")
    client = steady.Client(retries=0, deadline=5, breaker={"failures": 2, "open_for": 60, "streak_span": 0.001}, state=state)
    assert client.get(url).status_code == 503
    assert client.get(url).status_code == 503
    assert client.circuit(url) == "open"
    run = subprocess.run(
        [binary, "get", url, "--state", state, "--fail-fast"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 8, run.stderr
    assert "circuit open" in run.stderr
    assert server.hits("/down") == 2


def test_a_fallback_answers_an_outage_and_says_so(server, fast):
    url = server.route("/down", Reply.json(503, {"error": "down"}))
    client = steady.Client(retries=0, fallback={"items": []})
    r = client.get(url)
    assert r.status_code == 200
    assert r.json() == {"items": []}
    assert r.source == "default"
    assert isinstance(r.degraded_by, steady.HTTPError)
    assert r.degraded_by.response is None
    assert "fallback" in r.explain()
    assert server.hits("/down") == 1


def test_a_fallback_url_is_tried_in_order(server):
    down = server.route("/primary", Reply.json(503, {}))
    mirror = server.route("/mirror", Reply.json(200, {"from": "mirror"}))
    r = steady.get(down, retries=0, fallback=[mirror, steady.Fallback.json({"from": "default"})])
    assert r.json() == {"from": "mirror"}
    assert r.source == "fallback_url"


def test_a_fallback_never_hides_a_4xx(server):
    url = server.route("/missing", Reply.json(404, {"error": "no such item"}))
    r = steady.get(url, fallback={"items": []})
    assert r.status_code == 404
    assert r.source == "network"


def test_the_cache_answers_when_the_service_is_down(server, tmp_path):
    url = server.route("/rates", Reply.json(200, {"eur": 1.1}), Reply.json(503, {}))
    client = steady.Client(retries=0, cache=str(tmp_path / "cache.db"), fallback="cache")
    assert client.get(url).source == "network"
    r = client.get(url)
    assert r.json() == {"eur": 1.1}
    assert r.source == "cache"
    assert server.hits("/rates") == 2


class TestCall:
    """client.call: data, None for a handled outage, raise for a bug."""

    def test_returns_the_parsed_json(self, server, fast):
        url = server.route("/items", Reply.json(200, {"items": [1]}))
        assert fast.call(url) == {"items": [1]}
        assert server.requests("/items")[0].headers["accept"] == "application/json"

    def test_returns_none_for_a_5xx_after_the_retries(self, server, fast):
        url = server.route("/down", Reply.json(503, {}))
        assert fast.call(url) is None
        assert server.hits("/down") == 4

    def test_returns_none_for_a_transport_failure(self, closed_port, fast):
        assert fast.call(f"http://127.0.0.1:{closed_port}/x") is None

    def test_returns_none_for_a_timeout(self, server):
        url = server.route("/hang", HANG)
        assert steady.Client(retries=0).call(url, timeout=(1, 0.05)) is None

    def test_returns_none_for_an_open_circuit(self, server):
        url = server.route("/down", Reply.json(503, {}))
        client = steady.Client(retries=0, deadline=5, breaker={"failures": 2, "open_for": 60, "streak_span": 0.001})
        assert client.call(url) is None
        assert client.call(url) is None
        assert client.call(url) is None
        assert server.hits("/down") == 2

    def test_returns_the_fallback_for_an_outage(self, server):
        url = server.route("/down", Reply.json(503, {}))
        assert steady.Client(retries=0, fallback={"cached": True}).call(url) == {"cached": True}

    def test_raises_http_error_for_a_4xx(self, server, fast):
        url = server.route("/me", Reply.json(401, {"error": "token expired"}))
        with pytest.raises(steady.HTTPError, match="token expired") as info:
            fast.call(url)
        assert info.value.response.status_code == 401
        assert server.hits("/me") == 1

    def test_raises_semantic_error_for_an_error_in_a_200(self, server, fast):
        url = server.route("/quota", Reply.json(200, {"error": "quota exceeded"}))
        with pytest.raises(steady.SemanticError, match="quota exceeded"):
            fast.call(url)

    def test_raises_semantic_error_for_a_body_that_is_not_json(self, server, fast):
        url = server.route("/html", Reply(200, b"<html>", {"Content-Type": "text/html"}))
        with pytest.raises(steady.SemanticError):
            fast.call(url)

    def test_raises_for_bad_input(self, fast):
        with pytest.raises(steady.InvalidURL):
            fast.call("not a url")


def test_a_client_rate_limit_refuses_a_call_that_would_wait_past_its_deadline(server):
    url = server.route("/paced", Reply.json(200, {}))
    client = steady.Client(rate="1/m", deadline=5)
    assert client.get(url).status_code == 200
    with pytest.raises(steady.GuardRefused) as info:
        client.get(url)
    assert info.value.kind == "rate_limited"
    assert info.value.attempts == 0
    assert server.hits("/paced") == 1


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of the test's own on a free loopback port (skipped without one)."""
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()


def test_state_in_redis_is_shared_by_clients(server, redis_url):
    url = server.route("/down", Reply.json(503, {}))
    settings = dict(retries=0, deadline=5, breaker={"failures": 2, "open_for": 60, "streak_span": 0.001}, state=redis_url)
    first, second = steady.Client(**settings), steady.Client(**settings)
    assert first.get(url).status_code == 503
    assert first.get(url).status_code == 503
    with pytest.raises(steady.GuardRefused):
        second.get(url)
    assert server.hits("/down") == 2
