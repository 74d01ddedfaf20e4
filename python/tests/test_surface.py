"""requests' surface: functions, arguments, Session and Response."""

import base64
import datetime
import json

import pytest

import steady
from conftest import Reply


def test_get_returns_a_response_with_requests_attributes(server):
    url = server.route("/items", Reply.json(200, {"items": [1, 2]}, {"X-Trace": "abc"}))
    r = steady.get(url)
    assert r.status_code == 200
    assert r.ok and bool(r)
    assert r.reason == "OK"
    assert r.headers["content-type"] == "application/json"
    assert r.headers["X-TRACE"] == "abc"
    assert r.json() == {"items": [1, 2]}
    assert r.content == b'{"items": [1, 2]}'
    assert r.text == '{"items": [1, 2]}'
    assert r.url == url
    assert isinstance(r.elapsed, datetime.timedelta)
    assert r.history == []
    assert repr(r) == "<Response [200]>"
    r.raise_for_status()
    # steady's own
    assert r.attempts == 1
    assert r.attempt_log[0]["status"] == 200
    assert r.attempt_log[0]["verdict"] == "success"
    assert r.layer is None
    assert r.server_message is None
    assert "200 OK" in r.explain()
    assert server.hits("/items") == 1
    assert server.requests()[0].headers["user-agent"].startswith("steady/")


def test_params_headers_cookies_and_auth_reach_the_server(server):
    url = server.route("/q", Reply.json(200, {}))
    steady.get(
        url,
        params={"page": 2, "tag": ["a", "b"], "skip": None},
        headers={"X-Request-Id": "r-1"},
        cookies={"sid": "s1", "theme": "dark"},
        auth=("ann", "pw"),
    )
    (seen,) = server.requests("/q")
    assert seen.path == "/q?page=2&tag=a&tag=b"
    assert seen.headers["x-request-id"] == "r-1"
    assert seen.headers["cookie"] == "sid=s1; theme=dark"
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"ann:pw").decode()


def test_request_bodies_json_form_raw_and_files(server):
    url = server.route("/b", Reply.json(201, {"ok": True}))
    steady.post(url, json={"item": 7})
    steady.post(url, data={"a": "1", "b": ["x", "y"]})
    steady.post(url, data="raw text")
    steady.post(url, data=b"\x00\x01")
    steady.post(url, data={"note": "hi"}, files={"upload": ("report.csv", b"a,b\n1,2\n", "text/csv")})
    j, form, text, raw, multipart = server.requests("/b")
    assert json.loads(j.body) == {"item": 7}
    assert j.headers["content-type"] == "application/json"
    assert form.body == b"a=1&b=x&b=y"
    assert form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert text.body == b"raw text"
    assert raw.body == b"\x00\x01"
    assert multipart.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="note"\r\n\r\nhi' in multipart.body
    assert b'filename="report.csv"' in multipart.body
    assert b"Content-Type: text/csv" in multipart.body
    assert b"a,b\n1,2\n" in multipart.body


def test_a_file_tuple_without_a_name_is_a_form_field_and_string_data_is_refused(server):
    url = server.route("/f", Reply.json(201, {"ok": True}))
    steady.post(url, files={"field": (None, "value"), "doc": ("a.txt", b"x")})
    (sent,) = server.requests("/f")
    assert b'name="field"\r\n\r\nvalue' in sent.body
    assert b'name="field"; filename' not in sent.body
    assert b'filename="a.txt"' in sent.body
    with pytest.raises(ValueError, match="Data must not be a string"):
        steady.post(url, data="raw", files={"doc": ("a.txt", b"x")})
    assert server.hits("/f") == 1


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def test_every_method_by_function_and_by_request(server, method):
    url = server.route("/m", Reply.json(200, {}))
    r = getattr(steady, method.lower())(url)
    assert r.status_code == 200
    r = steady.request(method, url)
    assert r.status_code == 200
    assert [s.method for s in server.requests("/m")] == [method, method]


def test_session_keeps_cookies_and_default_headers(server):
    server.route("/login", Reply(200, b"", {"Set-Cookie": "sid=abc123; Path=/"}))
    url = server.route("/me", Reply.json(200, {"me": 1}))
    with steady.Session() as s:
        s.headers["X-Client"] = "tests"
        s.get(server.url("/login"))
        s.get(url)
        s.get(url, headers={"X-Client": None})
        s.get(url, cookies={"x": "1"})  # joins the session's, as requests merges them
        assert s.cookies == {"sid": "abc123"}
        with pytest.raises(TypeError):
            s.cookies["sid"] = "forged"  # a snapshot: changing it would send nothing
    _, me, me_without, me_with_x = server.requests()
    assert me.headers["cookie"] == "sid=abc123"
    assert me_with_x.headers["cookie"] == "x=1; sid=abc123"
    assert me.headers["x-client"] == "tests"
    assert "x-client" not in me_without.headers


def test_module_functions_keep_no_cookies(server):
    server.route("/login", Reply(200, b"", {"Set-Cookie": "sid=abc123; Path=/"}))
    url = server.route("/me", Reply.json(200, {}))
    steady.get(server.url("/login"))
    steady.get(url)
    assert "cookie" not in server.requests("/me")[0].headers


def test_redirects_followed_or_returned(server):
    server.route("/old", Reply(302, b"", {"Location": "/new"}))
    new = server.route("/new", Reply.json(200, {"here": True}))
    r = steady.get(server.url("/old"))
    assert r.status_code == 200 and r.url == new
    # requests' history: the redirect answers, oldest first, without their bodies.
    assert [(h.status_code, h.url) for h in r.history] == [(302, server.url("/old"))]
    assert r.history[0].headers["location"] == "/new"
    assert r.history[0].is_redirect and r.history[0].history == []
    r = steady.get(server.url("/old"), allow_redirects=False)
    assert r.history == []
    assert r.status_code == 302
    assert r.ok and r.is_redirect
    assert r.headers["location"] == "/new"
    r.raise_for_status()
    assert server.hits("/old") == 2 and server.hits("/new") == 1


def test_head_does_not_follow_redirects_unless_asked(server):
    server.route("/old", Reply(301, b"", {"Location": "/new"}))
    server.route("/new", Reply(200))
    assert steady.head(server.url("/old")).status_code == 301
    assert steady.head(server.url("/old"), allow_redirects=True).status_code == 200


def test_text_uses_the_charset_the_server_names(server):
    url = server.route("/latin", Reply(200, "café".encode("latin-1"), {"Content-Type": "text/plain; charset=latin-1"}))
    r = steady.get(url)
    assert r.encoding == "latin-1"
    assert r.text == "café"


def test_response_json_on_a_body_that_is_not_json_raises_jsondecodeerror(server):
    url = server.route("/html", Reply(200, b"<html>", {"Content-Type": "text/html"}))
    r = steady.get(url)
    with pytest.raises(steady.JSONDecodeError) as info:
        r.json()
    assert isinstance(info.value, json.JSONDecodeError)
    assert isinstance(info.value, steady.exceptions.InvalidJSONError)
    assert isinstance(info.value, steady.RequestException)
    assert isinstance(info.value, ValueError)


def test_codes_by_name_as_requests_has_them():
    assert steady.codes.ok == 200
    assert steady.codes.not_found == steady.codes.NOT_FOUND == 404
    assert steady.codes["too_many_requests"] == 429


def test_many_different_timeouts_on_one_client(server):
    url = server.route("/t", Reply.json(200, {}))
    client = steady.Client()
    for i in range(40):
        assert client.get(url, timeout=(1 + i / 100, 5 + i / 100)).status_code == 200
    assert server.hits("/t") == 40


def test_session_attributes_steady_lacks_fail_loudly():
    s = steady.Session()
    with pytest.raises(AttributeError):
        s.verify = False
    with pytest.raises(AttributeError):
        s.proxies = {"https": "http://proxy:3128"}
