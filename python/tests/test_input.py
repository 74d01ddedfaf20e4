"""Bad input gets the exception requests would raise, and nothing is sent."""

import pytest

import steady
from conftest import Reply


@pytest.mark.parametrize(
    "url, cls",
    [
        ("example.com/items", steady.MissingSchema),
        ("ftp://example.com/file", steady.InvalidSchema),
        ("http://", steady.InvalidURL),
        ("http://exa mple.com/", steady.InvalidURL),
        ("http://[::1/", steady.InvalidURL),
    ],
)
def test_an_invalid_url_is_invalid_url(url, cls):
    with pytest.raises(cls) as info:
        steady.get(url)
    assert isinstance(info.value, steady.InvalidURL)
    assert isinstance(info.value, ValueError)
    assert info.value.layer == "usage"
    assert info.value.attempts == 0


@pytest.mark.parametrize("timeout", ["5", -1, 0, float("nan"), float("inf"), (1, 2, 3), (1, "x"), True, [0, 1]])
def test_a_bad_timeout_is_a_value_error_naming_it_and_nothing_is_sent(server, timeout):
    url = server.route("/x", steady_reply := __import__("conftest").Reply(200))
    with pytest.raises(ValueError, match="timeout"):
        steady.get(url, timeout=timeout)
    assert server.hits() == 0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"deadline": 0}, "deadline"),
        ({"deadline": "soon"}, "deadline"),
        ({"retries": -1}, "retries"),
        ({"auth": "user:pw"}, "auth"),
        ({"params": 5}, "params"),
        ({"verify": False}, "verify"),
        ({"proxies": {"http": "http://proxy:3128"}}, "proxies"),
        ({"expect": "$.items count >"}, "expect"),
        ({"fallback": 3}, "fallback"),
    ],
)
def test_bad_arguments_name_themselves_and_nothing_is_sent(server, kwargs, name):
    url = server.route("/x", __import__("conftest").Reply(200))
    with pytest.raises(ValueError, match=name):
        steady.get(url, **kwargs)
    assert server.hits() == 0


@pytest.mark.parametrize("kwargs", [{"idempotency_key": "same-for-all"}, {"deadline": -5}, {"retries": "3"}, {"backoff": 0}, {"timeout": "3"}, {"rate": "fast"}, {"jitter": "lots"}, {"breaker": "yes"}])
def test_bad_client_settings_are_value_errors(kwargs):
    (name,) = kwargs
    with pytest.raises(ValueError, match=name):
        steady.Client(**kwargs)


def test_a_header_with_a_line_break_is_refused_without_showing_it(server):
    url = server.route("/x", __import__("conftest").Reply(200))
    with pytest.raises(steady.exceptions.InvalidHeader) as info:
        steady.get(url, headers={"X-Api-Key": "secret-value\r\nX-Injected: 1"})
    assert "secret-value" not in str(info.value)
    with pytest.raises(steady.exceptions.InvalidHeader) as info:
        steady.get(url, headers={"X-Count": 5})
    assert info.value.layer == "usage" and info.value.attempts == 0
    with pytest.raises(steady.exceptions.InvalidHeader):
        steady.get(url, headers={"Bad Name": "v"})
    assert server.hits() == 0


def test_a_json_body_that_cannot_be_serialised_is_invalid_json_error(server):
    url = server.route("/x", __import__("conftest").Reply(200))
    with pytest.raises(steady.InvalidJSONError):
        steady.post(url, json={"when": object()})
    with pytest.raises(steady.InvalidJSONError):
        steady.post(url, json={"x": float("nan")})
    assert server.hits() == 0


def test_an_invalid_url_never_shows_its_password_or_query():
    with pytest.raises(steady.InvalidURL) as info:
        steady.get("http://user:hunter2@exa mple.com/?api_key=k-123")
    assert "hunter2" not in str(info.value)
    assert "k-123" not in str(info.value)


def test_digest_and_other_auth_objects_are_refused_not_sent_as_basic(server):
    url = server.route("/a", Reply.json(200, {}))

    class HTTPDigestAuth:  # requests' shape: username and password attributes
        def __init__(self, username, password):
            self.username, self.password = username, password

    with pytest.raises(ValueError, match="HTTPDigestAuth"):
        steady.get(url, auth=HTTPDigestAuth("user", "pw"))
    assert server.hits("/a") == 0


def test_a_misspelt_breaker_setting_or_cookies_to_send_on_a_client_is_refused():
    with pytest.raises(ValueError, match='breaker: unknown setting "failure"'):
        steady.Client(breaker={"failure": 1})
    with pytest.raises(TypeError, match="cookies= on a Client"):
        steady.Client(cookies={"a": "b"})
