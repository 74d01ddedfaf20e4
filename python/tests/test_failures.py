"""Failures: which are retried, what comes back, what is raised, what the server saw."""

import pytest

import steady
from steady import exceptions
from conftest import HANG, RESET, Reply


def test_exception_tree_is_requests_own():
    e = steady.exceptions
    assert issubclass(e.RequestException, IOError)
    for cls in (e.ConnectionError, e.Timeout, e.HTTPError, e.TooManyRedirects, e.InvalidURL,
                e.InvalidJSONError, e.SemanticError, e.DeadlineExceeded, e.GuardRefused):
        assert issubclass(cls, e.RequestException)
    assert issubclass(e.ConnectTimeout, e.ConnectionError) and issubclass(e.ConnectTimeout, e.Timeout)
    assert issubclass(e.ReadTimeout, e.Timeout)
    assert issubclass(e.DeadlineExceeded, e.Timeout)
    assert issubclass(e.InvalidURL, ValueError)
    assert issubclass(e.MissingSchema, e.InvalidURL) and issubclass(e.InvalidSchema, e.InvalidURL)
    assert issubclass(e.JSONDecodeError, e.InvalidJSONError)
    for name in e.__all__:
        assert getattr(steady, name) is getattr(e, name)


def test_a_503_is_retried_until_it_succeeds(server, fast):
    url = server.route("/flaky", Reply.json(503, {"error": "busy"}), Reply.json(200, {"ok": True}))
    r = fast.get(url)
    assert r.status_code == 200
    assert r.attempts == 2
    assert [a["status"] for a in r.attempt_log] == [503, 200]
    assert "retrying" in r.attempt_log[0]["decision"]
    assert server.hits("/flaky") == 2


def test_a_5xx_that_survives_the_retries_is_returned_then_raised_with_the_server_message(server, fast):
    url = server.route("/down", Reply.json(503, {"error": {"message": "maintenance until 10:00"}}))
    r = fast.get(url)
    assert r.status_code == 503
    assert not r.ok
    assert r.attempts == 4
    assert r.layer == "http"
    assert r.server_message == "maintenance until 10:00"
    with pytest.raises(steady.HTTPError) as info:
        r.raise_for_status()
    assert "503 Server Error" in str(info.value)
    assert "maintenance until 10:00" in str(info.value)
    assert info.value.response is r
    assert info.value.attempts == 4
    assert "4 attempts" in info.value.explain()
    assert server.hits("/down") == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_a_4xx_is_never_retried(server, fast, status):
    url = server.route("/bad", Reply.json(status, {"error": "no"}))
    r = fast.get(url)
    assert r.status_code == status
    assert r.attempts == 1
    assert server.hits("/bad") == 1


def test_raise_for_status_carries_what_the_server_said(server, fast):
    expired = server.route("/me", Reply.json(401, {"error": "token expired"}))
    invalid = server.route("/users", Reply.json(422, {"errors": {"email": ["is invalid"]}}))
    with pytest.raises(steady.HTTPError) as info:
        fast.get(expired).raise_for_status()
    assert str(info.value).startswith("401 Client Error: Unauthorized for url: ")
    assert "token expired" in str(info.value)
    assert info.value.response.status_code == 401
    assert info.value.layer == "http"
    assert info.value.server_message == "token expired"
    with pytest.raises(steady.HTTPError) as info:
        fast.post(invalid, json={"email": "x"}).raise_for_status()
    assert "email" in str(info.value) and "is invalid" in str(info.value)


def test_retry_after_is_honoured(server, fast):
    url = server.route("/limited", Reply.json(429, {"error": "slow down"}, {"Retry-After": "1"}), Reply.json(200, {}))
    r = fast.get(url)
    assert r.status_code == 200
    assert "Retry-After" in r.attempt_log[0]["decision"]
    assert server.hits("/limited") == 2


def test_an_unkeyed_post_is_not_resent(server, fast):
    url = server.route("/orders", Reply.json(503, {}), Reply.json(201, {"id": 1}))
    r = fast.post(url, json={"item": 7})
    assert r.status_code == 503
    assert r.attempts == 1
    assert "Idempotency-Key" in r.attempt_log[0]["why"] or "idempotency" in r.attempt_log[0]["why"].lower()
    assert server.hits("/orders") == 1


def test_a_keyed_post_is_resent_with_the_same_key(server, fast):
    url = server.route("/orders", Reply.json(503, {}), Reply.json(201, {"id": 1}))
    r = fast.post(url, json={"item": 7}, idempotency_key="order-7")
    assert r.status_code == 201
    assert [s.headers["idempotency-key"] for s in server.requests("/orders")] == ["order-7", "order-7"]


def test_idempotency_key_auto_and_the_header_make_a_post_retriable(server):
    url = server.route("/orders", Reply.json(503, {}), Reply.json(201, {}), Reply.json(503, {}), Reply.json(201, {}))
    client = steady.Client(backoff=0.001, idempotency_key="auto")
    assert client.post(url, json={}).status_code == 201
    assert client.post(url, json={}, headers={"Idempotency-Key": "mine"}).status_code == 201
    keys = [s.headers.get("idempotency-key") for s in server.requests("/orders")]
    assert keys[0] == keys[1] and len(keys[0]) == 36
    assert keys[2:] == ["mine", "mine"]


def test_connection_refused_is_a_connection_error_after_retries(closed_port):
    client = steady.Client(backoff=0.001, retries=2)
    with pytest.raises(steady.ConnectionError) as info:
        client.get(f"http://127.0.0.1:{closed_port}/x")
    e = info.value
    assert e.layer == "transport"
    assert e.kind == "connection_refused"
    assert e.attempts == 3
    assert e.response is None
    assert "connection refused" in e.explain()


def test_a_reset_is_retried(server, fast):
    url = server.route("/reset", RESET, RESET, Reply.json(200, {"ok": 1}))
    assert fast.get(url).json() == {"ok": 1}
    assert server.hits("/reset") == 3


def test_a_silent_server_is_a_read_timeout(server):
    url = server.route("/hang", HANG)
    client = steady.Client(retries=0)
    with pytest.raises(steady.ReadTimeout) as info:
        client.get(url, timeout=(2, 0.05))
    assert isinstance(info.value, steady.Timeout)
    assert info.value.kind == "read_timeout"
    assert server.hits("/hang") == 1


def test_the_deadline_ends_the_call_whatever_the_read_timeout(server):
    url = server.route("/hang", HANG)
    with pytest.raises(steady.DeadlineExceeded) as info:
        steady.get(url, deadline=0.1)
    assert isinstance(info.value, steady.Timeout)
    assert info.value.kind == "deadline"
    assert server.hits("/hang") == 1


def test_too_many_redirects(server):
    server.route("/loop", Reply(302, b"", {"Location": "/loop"}))
    client = steady.Client(max_redirects=3)
    with pytest.raises(steady.TooManyRedirects):
        client.get(server.url("/loop"))
    assert server.hits("/loop") == 4


def test_an_error_in_a_200_is_a_semantic_error(server, fast):
    url = server.route("/quota", Reply.json(200, {"error": "quota exceeded"}))
    r = fast.get(url)
    assert r.status_code == 200
    assert not r.ok
    assert r.layer == "semantic"
    with pytest.raises(steady.SemanticError) as info:
        r.raise_for_status()
    assert "quota exceeded" in str(info.value)
    assert info.value.layer == "semantic"
    assert server.hits("/quota") == 1


def test_a_body_labelled_json_that_does_not_parse_is_a_semantic_error(server, fast):
    url = server.route("/broken", Reply(200, b"{not json", {"Content-Type": "application/json"}))
    r = fast.get(url)
    with pytest.raises(steady.SemanticError):
        r.raise_for_status()
    with pytest.raises(steady.JSONDecodeError):
        r.json()
    assert r.kind == "invalid_json"


def test_expect_checks_the_body(server):
    url = server.route("/items", Reply.json(200, {"items": []}))
    client = steady.Client(expect="$.items count > 0")
    r = client.get(url)
    with pytest.raises(steady.SemanticError):
        r.raise_for_status()
    assert client.get(url, expect=None).kind == "expectation_failed"
    assert server.hits("/items") == 2


def test_allow_error_body_turns_the_check_off(server, fast):
    url = server.route("/quota", Reply.json(200, {"error": "none"}))
    r = fast.get(url, allow_error_body=True)
    assert r.ok
    r.raise_for_status()


def test_a_post_that_was_never_sent_is_retried(closed_port):
    client = steady.Client(backoff=0.001, retries=2)
    with pytest.raises(steady.ConnectionError) as info:
        client.post(f"http://127.0.0.1:{closed_port}/orders", json={"item": 7})
    assert info.value.attempts == 3


def test_a_redirect_to_another_host_strips_every_credential(server):
    from conftest import ScriptServer

    other = ScriptServer()
    try:
        landing = other.route("/landing", Reply.json(200, {"ok": True}))
        server.route("/start", Reply(302, b"", {"Location": landing}))
        r = steady.get(
            server.url("/start"),
            headers={"Authorization": "Bearer tok-1", "X-Api-Key": "key-1", "X-Trace": "t-1"},
            cookies={"sid": "s-1"},
        )
        assert r.status_code == 200 and r.url == landing
        (first,) = server.requests("/start")
        assert first.headers["authorization"] == "Bearer tok-1" and first.headers["x-api-key"] == "key-1"
        (second,) = other.requests("/landing")
        assert "authorization" not in second.headers
        assert "x-api-key" not in second.headers
        assert "cookie" not in second.headers
        assert second.headers["x-trace"] == "t-1"
    finally:
        other.stop()


def test_every_exception_has_layer_attempts_and_explain(server, closed_port):
    from conftest import HANG

    hang = server.route("/hang", HANG)
    server.route("/loop", Reply(302, b"", {"Location": "/loop"}))
    bad = server.route("/bad", Reply.json(400, {"error": "missing q"}))
    quota = server.route("/quota", Reply.json(200, {"error": "quota exceeded"}))
    html = server.route("/html", Reply(200, b"<html>", {"Content-Type": "text/html"}))
    client = steady.Client(retries=0, max_redirects=1)
    raised = []
    for attempt in (
        lambda: client.get(f"http://127.0.0.1:{closed_port}/"),
        lambda: client.get(hang, timeout=(1, 0.05)),
        lambda: client.get(hang, deadline=0.05),
        lambda: client.get(server.url("/loop")),
        lambda: client.get(bad).raise_for_status(),
        lambda: client.get(quota).raise_for_status(),
        lambda: client.get(html).json(),
        lambda: client.get("nowhere"),
        lambda: client.get(bad, headers={"X": 1}),
        lambda: client.post(bad, json={1j}),
    ):
        with pytest.raises(steady.RequestException) as info:
            attempt()
        raised.append(info.value)
    kinds = [(type(e).__name__, e.layer) for e in raised]
    assert kinds == [
        ("ConnectionError", "transport"),
        ("ReadTimeout", "transport"),
        ("DeadlineExceeded", "transport"),
        ("TooManyRedirects", "http"),
        ("HTTPError", "http"),
        ("SemanticError", "semantic"),
        ("JSONDecodeError", "semantic"),
        ("MissingSchema", "usage"),
        ("InvalidHeader", "usage"),
        ("InvalidJSONError", "usage"),
    ]
    for e in raised:
        assert isinstance(e.attempts, int)
        assert e.explain()
