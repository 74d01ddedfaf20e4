"""AsyncClient: the same surface, awaitable."""

import asyncio

import pytest

import steady
from conftest import HANG, HANG_LIMIT, Reply


def run(coro):
    return asyncio.run(coro)


def test_await_a_get(server):
    url = server.route("/items", Reply.json(200, {"items": [1]}))

    async def main():
        async with steady.AsyncClient() as client:
            r = await client.get(url, params={"page": 1})
            return r

    r = run(main())
    assert r.status_code == 200 and r.json() == {"items": [1]}
    assert server.requests()[0].path == "/items?page=1"


def test_many_calls_at_once(server):
    server.route("/echo", lambda seen: Reply.json(200, {"path": seen.path}))

    async def main():
        client = steady.AsyncClient()
        return await asyncio.gather(*(client.get(server.url("/echo"), params={"n": n}) for n in range(50)))

    responses = run(main())
    assert [r.json()["path"] for r in responses] == [f"/echo?n={n}" for n in range(50)]
    assert server.hits("/echo") == 50


def test_failures_as_in_the_sync_client(server, closed_port):
    missing = server.route("/missing", Reply.json(404, {"error": "no such item"}))
    flaky = server.route("/flaky", Reply.json(503, {}), Reply.json(200, {"ok": 1}))

    async def main():
        client = steady.AsyncClient(backoff=0.001, retries=1)
        r = await client.get(missing)
        with pytest.raises(steady.HTTPError, match="no such item"):
            r.raise_for_status()
        assert (await client.post(flaky, json={}, idempotency_key="k")).json() == {"ok": 1}
        with pytest.raises(steady.ConnectionError) as info:
            await client.get(f"http://127.0.0.1:{closed_port}/")
        assert info.value.attempts == 2
        with pytest.raises(steady.InvalidURL):
            await client.get("nowhere")
        with pytest.raises(ValueError, match="timeout"):
            await client.get(missing, timeout=-1)
        return await client.call(flaky)

    assert run(main()) == {"ok": 1}
    assert server.hits("/missing") == 1


def test_cancelling_the_task_cancels_the_call(server):
    url = server.route("/hang", HANG)

    async def main():
        client = steady.AsyncClient(retries=0, deadline=3600)
        task = asyncio.ensure_future(client.get(url, timeout=(3600, 3600)))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, server.wait_for, 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await loop.run_in_executor(None, server.client_gone.wait, HANG_LIMIT)

    assert run(main()) is True
    assert server.hits("/hang") == 1


def test_the_event_loop_runs_while_calls_wait(server):
    url = server.route("/hang", HANG)

    async def main():
        client = steady.AsyncClient(retries=0)
        call = asyncio.ensure_future(client.get(url, timeout=(HANG_LIMIT, HANG_LIMIT * 2)))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, server.wait_for, 1)
        ticks = 0
        for _ in range(3):
            await asyncio.sleep(0)
            ticks += 1
        server.release.set()
        with pytest.raises(steady.ConnectionError):
            await call
        return ticks

    assert run(main()) == 3
