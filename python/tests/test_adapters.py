"""requests' retry idiom: HTTPAdapter(max_retries=Retry(...)) mounted on a Session."""

import logging

import pytest

import steady
from conftest import Reply


def resilient_session():
    """Seed 2's create_resilient_session, with requests changed to steady in the imports
    (and millisecond backoff, so that the test runs fast)."""
    from steady.adapters import HTTPAdapter
    from steady.packages.urllib3.util.retry import Retry

    session = steady.Session(backoff=0.001, backoff_max=0.01)
    retry_strategy = Retry(
        total=3,
        status_forcelist=[429, 500, 502, 503, 504],
        method_whitelist=["HEAD", "GET", "OPTIONS"],
    )
    adapter = HTTPAdapter(max_retries=retry_strategy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def fetch_data_resilient(url):
    session = resilient_session()
    try:
        response = session.get(url, timeout=5)
        response.raise_for_status()
        return response.json()
    except steady.exceptions.RequestException as e:
        print(f"Request failed after multiple attempts: {e}")
        return None


def test_the_seed_retries_through_its_mounted_adapter(server, capsys):
    flaky = server.route("/flaky", Reply.json(503, {}), Reply.json(502, {}), Reply.json(200, {"ok": 1}))
    assert fetch_data_resilient(flaky) == {"ok": 1}
    assert server.hits("/flaky") == 3
    down = server.route("/down", Reply.json(503, {"error": "maintenance"}))
    assert fetch_data_resilient(down) is None
    assert server.hits("/down") == 4  # the first and total=3 retries
    out = capsys.readouterr().out
    assert "too many 503 error responses" in out and "after 4 attempts" in out


def test_retries_are_total_and_a_status_outside_the_forcelist_is_returned(server):
    session = steady.Session(backoff=0.001)
    session.mount("http://", steady.adapters.HTTPAdapter(max_retries=steady.Retry(total=1, status_forcelist=[503])))
    url = server.route("/down", Reply.json(503, {}))
    with pytest.raises(steady.exceptions.RetryError) as caught:
        session.get(url)
    assert caught.value.response.status_code == 503
    assert server.hits("/down") == 2
    # A number is Retry(total=n) without a forcelist: the answer comes back, as requests'.
    session.mount("http://", steady.adapters.HTTPAdapter(max_retries=2))
    url = server.route("/busy", Reply.json(502, {}))
    r = session.get(url)
    assert r.status_code == 502 and not r.ok
    assert server.hits("/busy") == 3
    # total=False: no retry.
    session.mount("http://", steady.adapters.HTTPAdapter(max_retries=steady.Retry(total=False)))
    url = server.route("/once", Reply.json(503, {}))
    assert session.get(url).status_code == 503
    assert server.hits("/once") == 1


def test_a_post_the_retry_allows_is_sent_with_an_idempotency_key(server):
    session = steady.Session(backoff=0.001)
    retry = steady.Retry(total=2, allowed_methods=["GET", "POST"], status_forcelist=[503])
    session.mount("http://", steady.adapters.HTTPAdapter(max_retries=retry))
    url = server.route("/orders", Reply.json(503, {}), Reply.json(201, {"id": 7}))
    assert session.post(url, json={"item": 1}).status_code == 201
    keys = [seen.headers.get("idempotency-key") for seen in server.requests("/orders")]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    # A POST the Retry does not allow has no key, is not resent, and its answer comes
    # back (urllib3 does not retry it, so requests raises no RetryError).
    session.mount("http://", steady.adapters.HTTPAdapter(max_retries=steady.Retry(total=2, status_forcelist=[503])))
    url = server.route("/unkeyed", Reply.json(503, {}))
    assert session.post(url, json={"item": 1}).status_code == 503
    assert server.hits("/unkeyed") == 1
    assert "idempotency-key" not in server.requests("/unkeyed")[0].headers


def test_a_4xx_in_the_forcelist_is_named_in_a_warning(caplog):
    session = steady.Session()
    with caplog.at_level(logging.WARNING, logger="steady"):
        session.mount("https://", steady.adapters.HTTPAdapter(max_retries=steady.Retry(status_forcelist=[404, 503])))
    assert "lists 404 in status_forcelist; steady does not retry it" in caplog.text


def test_a_retry_of_urllib3s_own_is_read_the_same_way(server):
    class Urllib3Retry:  # the attributes urllib3.util.Retry has
        total = 1
        backoff_factor = 0.001
        backoff_max = 0.01
        status_forcelist = {500}
        allowed_methods = frozenset({"GET"})
        raise_on_status = False

    session = steady.Session()
    session.mount("http://", steady.adapters.HTTPAdapter(max_retries=Urllib3Retry()))
    url = server.route("/err", Reply.json(500, {}))
    assert session.get(url).status_code == 500  # raise_on_status=False: returned
    assert server.hits("/err") == 2


def test_the_longest_prefix_wins_and_cookies_are_the_sessions(server):
    session = steady.Session(backoff=0.001)
    wide = steady.adapters.HTTPAdapter(max_retries=0)
    narrow = steady.adapters.HTTPAdapter(max_retries=1)
    session.mount("http://", wide)
    session.mount(server.url("/api/"), narrow)
    assert session.get_adapter(server.url("/api/x")) is narrow
    assert session.get_adapter(server.url("/other")) is wide
    assert session.get_adapter("https://example.com/") is None
    url = server.route("/api/x", Reply.json(503, {}))
    session.get(url)
    assert server.hits("/api/x") == 2
    login = server.route("/api/login", Reply.json(200, {}, {"Set-Cookie": "sid=abc; Path=/"}))
    session.get(login)
    assert session.cookies["sid"] == "abc"


def test_a_method_the_retry_does_not_cover_returns_its_answer(server):
    session = steady.Session(backoff=0.001)
    session.mount("http://", steady.adapters.HTTPAdapter(max_retries=steady.Retry(total=2, status_forcelist=[503])))
    url = server.route("/orders", Reply.json(503, {}))
    r = session.post(url, json={"item": 1})  # urllib3 does not retry a POST: requests returns the 503
    assert r.status_code == 503
    assert server.hits("/orders") == 1
    # allowed_methods=None is every method: the POST is keyed and retried.
    session.mount("http://", steady.adapters.HTTPAdapter(max_retries=steady.Retry(total=1, allowed_methods=None, status_forcelist=[503])))
    url = server.route("/any", Reply.json(503, {}))
    with pytest.raises(steady.exceptions.RetryError):
        session.post(url, json={"item": 1})
    assert server.hits("/any") == 2
    assert server.requests("/any")[0].headers.get("idempotency-key")
