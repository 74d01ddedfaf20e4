"""The GIL is released while a call waits; one Client serves many threads; Ctrl-C ends
a waiting call."""

import os
import signal
import threading

import pytest

import steady
from conftest import HANG, HANG_LIMIT, Reply


def test_ctrl_c_ends_a_waiting_call_and_cancels_it(server):
    url = server.route("/hang", HANG)
    assert threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt_once_the_request_arrived():
        if server.wait_for(1):
            os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt_once_the_request_arrived)
    helper.start()
    try:
        # The deadline and the timeouts are far away: only the signal can end this call.
        with pytest.raises(KeyboardInterrupt):
            steady.get(url, deadline=3600, timeout=(3600, 3600), retries=0)
    finally:
        helper.join()
        signal.signal(signal.SIGINT, previous)
    # The call was cancelled, not left running: its connection was closed.
    assert server.client_gone.wait(HANG_LIMIT)
    assert server.hits("/hang") == 1


def test_ctrl_c_ends_a_call_waiting_out_a_retry_after(server):
    # The server asks for an hour: the call waits between attempts, not on a socket.
    url = server.route("/later", Reply.json(503, {"error": "later"}, {"Retry-After": "3600"}), Reply.json(200, {}))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt_once_the_request_arrived():
        if server.wait_for(1):
            os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt_once_the_request_arrived)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            steady.get(url, deadline=7200)
    finally:
        helper.join()
        signal.signal(signal.SIGINT, previous)
    assert server.hits("/later") == 1


def test_the_gil_is_released_while_a_call_waits(server):
    # The server is Python too: were the GIL held while the call waits, it could not even
    # read the request, and wait_for would give up.
    url = server.route("/held", HANG)
    outcome = {}

    def worker():
        try:
            steady.get(url, retries=0, timeout=(HANG_LIMIT, HANG_LIMIT * 2))
        except steady.ConnectionError as e:
            outcome["error"] = e

    t = threading.Thread(target=worker)
    t.start()
    assert server.wait_for(1)
    assert sum(range(100_000)) == 4999950000  # Python runs here meanwhile
    server.release.set()
    t.join()
    assert server.released_by_test == [True]
    assert outcome["error"].kind == "connection_closed"


def test_one_client_shared_by_32_threads(server):
    server.route("/echo", lambda seen: Reply.json(200, {"path": seen.path}))
    client = steady.Client()
    results = {}
    errors = []

    def worker(n):
        try:
            for i in range(20):
                r = client.get(server.url("/echo"), params={"t": n, "i": i})
                results[(n, i)] = r.json()["path"]
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 32 * 20
    assert all(path == f"/echo?t={n}&i={i}" for (n, i), path in results.items())
    assert server.hits("/echo") == 32 * 20


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_calls_on_a_runtime_of_its_own(server):
    """After the parent's first call, a child made by os.fork() inherits a runtime with
    no threads: steady makes the child its own, so module-level calls work there, and a
    Client made before the fork says so instead of waiting."""
    url = server.route("/ok", Reply.json(200, {"ok": True}))
    assert steady.get(url).status_code == 200
    client = steady.Client()
    assert client.get(url).status_code == 200
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            signal.alarm(30)  # a child that hangs must not hang the suite
            if steady.get(url, deadline=10).status_code != 200:
                code |= 1
            try:
                client.get(url)
                code |= 2
            except RuntimeError as e:
                if "os.fork()" not in str(e):
                    code |= 4
        except BaseException:
            code |= 8
        os.write(write_end, bytes([code]))
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 1) == b"\x00"
    os.close(read_end)
    assert server.hits("/ok") == 3


def test_each_thread_logs_its_own_calls_lines(server, caplog):
    """A call's log lines are emitted when that call returns, in its own thread: a call
    that ends while another is still retrying does not take the other's lines."""
    import logging

    slow = server.route("/slow", Reply.json(503, {}), HANG)
    quick = server.route("/quick", Reply.json(200, {}))
    client = steady.Client(backoff=0.001, retries=1, timeout=(1, 30))
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append((threading.current_thread().name, record.getMessage()))

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("steady")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        def slow_call():
            with pytest.raises(steady.exceptions.ConnectionError):
                client.get(slow)  # the hang is released: the connection closes

        worker = threading.Thread(target=slow_call, name="slow-caller")
        worker.start()
        # The slow call's first attempt (a 503) has ended and told its line; its
        # second attempt now hangs.
        assert server.wait_for(2)
        client.get(quick)  # in this thread, while the slow call is still out
        server.release.set()
        worker.join(HANG_LIMIT)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    mine = [m for t, m in records if t != "slow-caller"]
    theirs = [m for t, m in records if t == "slow-caller"]
    assert mine and all("/slow" not in m for m in mine), mine
    assert any("/slow" in m and "attempt 1/2" in m for m in theirs), theirs
