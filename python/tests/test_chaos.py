"""Against `steady chaos`: faults a Python server cannot make exactly (a trickling body,
a huge or bomb body), counted by the chaos server."""

import pytest

import steady


def test_a_trickling_body_is_ended_by_the_deadline(chaos):
    server = chaos("drip=100ms")
    with pytest.raises(steady.DeadlineExceeded) as info:
        steady.get(server.url("/items/1"), deadline=0.5)
    assert info.value.kind == "deadline"
    assert server.stats()["requests"] == 1


def test_a_body_over_max_body_is_refused_and_not_retried(chaos):
    server = chaos("huge=8MiB")
    with pytest.raises(steady.BodyTooLarge):
        steady.Client(max_body=1024 * 1024).get(server.url("/items/1"))
    assert server.stats()["requests"] == 1


def test_a_gzip_bomb_stops_at_max_body(chaos):
    server = chaos("gzip-bomb=100MiB")
    with pytest.raises(steady.BodyTooLarge):
        steady.get(server.url("/items/1"), max_body=1024 * 1024)
    assert server.stats()["requests"] == 1


def test_error_in_200_and_bad_json_from_chaos(chaos):
    quota = chaos("error-200")
    r = steady.get(quota.url("/items/1"))
    with pytest.raises(steady.SemanticError, match="quota exceeded"):
        r.raise_for_status()
    assert quota.stats()["requests"] == 1
    broken = chaos("bad-json")
    assert steady.get(broken.url("/items/1")).kind == "invalid_json"
    assert broken.stats()["requests"] == 1


def test_the_chaos_api_through_call(chaos):
    server = chaos("status=503,first=1")
    client = steady.Client(backoff=0.001)
    item = client.call(server.url("/items/7"))
    assert item["id"] == 7
    with pytest.raises(steady.HTTPError, match="does not exist"):
        client.call(server.url("/items/999"))
    # Each path's first request is a 503, retried; the 404 is not.
    assert server.stats()["requests"] == 4
