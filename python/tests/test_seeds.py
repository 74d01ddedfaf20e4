"""The three seed examples, rewritten with steady: same code shape, steady underneath."""

import sys

import steady
from conftest import HANG, Reply


def get_api_status(url, timeout_seconds=5):
    """Seed 1: print the status code; None on failure."""
    try:
        response = steady.get(url, timeout=timeout_seconds, retries=0)
        response.raise_for_status()
    except steady.exceptions.RequestException as e:
        print(f"Error: Could not connect to the API. {e}", file=sys.stderr)
        return None
    print(f"Success! Response Status Code: {response.status_code}")
    return response.status_code


def fetch_api_data(url, timeout=5, **steady_settings):
    """Seed 2: JSON, or None after saying why."""
    try:
        response = steady.get(url, timeout=timeout, **steady_settings)
        response.raise_for_status()
        return response.json()
    except steady.exceptions.ConnectionError:
        print("Network connection failed")
    except steady.exceptions.Timeout:
        print("Request timed out")
    except steady.HTTPError as http_err:
        print(f"HTTP error occurred: {http_err}")
    except steady.exceptions.RequestException as req_err:
        print(f"Request error: {req_err}")
    except ValueError:
        print("Invalid JSON response")
    return None


def call_api(client, url):
    """Seed 3: data, None for a handled outage, raise for a bug."""
    return client.call(url)


def test_get_api_status(server, closed_port, capsys):
    assert get_api_status(server.route("/ok", Reply.json(200, {}))) == 200
    assert get_api_status(server.route("/nope", Reply.json(404, {"error": "no such page"}))) is None
    assert get_api_status(f"http://127.0.0.1:{closed_port}") is None
    err = capsys.readouterr().err
    assert "404 Client Error" in err and "no such page" in err
    assert "connection refused" in err


def test_fetch_api_data(server, closed_port, capsys):
    assert fetch_api_data(server.route("/data", Reply.json(200, {"a": 1}))) == {"a": 1}
    assert fetch_api_data(server.route("/hang", HANG), timeout=(1, 0.05), retries=0) is None
    assert "Request timed out" in capsys.readouterr().out
    assert fetch_api_data(server.route("/quota", Reply.json(200, {"error": "quota exceeded"}))) is None
    assert "quota exceeded" in capsys.readouterr().out
    # A semantic failure is not retried.
    assert server.hits("/hang") == 1
    assert server.hits("/quota") == 1


def test_call_api(server):
    client = steady.Client(backoff=0.001)
    assert call_api(client, server.route("/flaky", Reply.json(502, {}), Reply.json(200, {"ok": 1}))) == {"ok": 1}
    assert call_api(client, server.route("/down", Reply.json(500, {}))) is None
    try:
        call_api(client, server.route("/bug", Reply.json(400, {"error": "missing field 'q'"})))
    except steady.HTTPError as err:
        assert err.response.status_code == 400
        assert "missing field 'q'" in str(err)
    else:
        raise AssertionError("a 400 must raise")
