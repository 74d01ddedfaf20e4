#!/usr/bin/env python3
"""steady's Python package against requests + urllib3 Retry and httpx, on loopback.

Two scenarios, every tool against a fresh chaos server (seed 7) in the same run, each
tool in a process of its own (its peak RSS is its own):

1. throughput: 10,000 GETs of the built-in JSON API from 50 threads sharing one client
   (steady.Client; requests.Session with urllib3 Retry and a pool of 50; httpx.Client
   with retries=3 and 50 connections), alternating ROUNDS times; plus steady's
   AsyncClient with 50 tasks in flight. Reported: requests per second (median), what
   the server received, peak RSS.
2. flaky: 1,500 items, every answer 40 ms, about 40% of items failing once or twice
   (a 503 on the first request to a quarter of them, a reset on one of the first two
   for a fifth), 16 threads: steady.Client with its defaults against requests + urllib3
   Retry(total=3, backoff_factor=0.5, status_forcelist=[429, 500, 502, 503, 504]), as
   bench/adaptive.sh runs the CLI. Reported: successes, requests that reached the
   server, wall time, peak RSS; and steady with budget=False, to show what the retry
   budget costs here.

Run through bench/python/run.sh, which builds what this needs.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

FLAKY_FAULTS = ["latency=40ms", "status=503,first=1,rate=0.25", "reset,first=2,rate=0.2"]


def ok_body(status, body):
    return status == 200 and "id" in body


# -- the workers: one tool, one list of URLs, in a process of its own


def run_steady(urls, conc, **settings):
    import steady

    client = steady.Client(**settings)

    def get(u):
        try:
            r = client.get(u)
            return ok_body(r.status_code, r.json())
        except Exception:
            return False

    with ThreadPoolExecutor(conc) as pool:
        return sum(pool.map(get, urls))


def run_steady_async(urls, conc):
    import asyncio

    import steady

    async def main():
        client = steady.AsyncClient()
        room = asyncio.Semaphore(conc)

        async def get(u):
            async with room:
                try:
                    r = await client.get(u)
                    return ok_body(r.status_code, r.json())
                except Exception:
                    return False

        return sum(await asyncio.gather(*(get(u) for u in urls)))

    return asyncio.run(main())


def run_requests(urls, conc):
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(total=3, backoff_factor=0.5, status_forcelist=[429, 500, 502, 503, 504])
    session.mount("http://", HTTPAdapter(max_retries=retry, pool_connections=conc, pool_maxsize=conc))

    def get(u):
        try:
            r = session.get(u, timeout=(3.05, 27))
            return ok_body(r.status_code, r.json())
        except Exception:
            return False

    with ThreadPoolExecutor(conc) as pool:
        return sum(pool.map(get, urls))


def run_httpx(urls, conc):
    import httpx

    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    client = httpx.Client(transport=httpx.HTTPTransport(retries=3, limits=limits), timeout=httpx.Timeout(27, connect=3.05))

    def get(u):
        try:
            r = client.get(u)
            return ok_body(r.status_code, r.json())
        except Exception:
            return False

    with ThreadPoolExecutor(conc) as pool:
        return sum(pool.map(get, urls))


def run_steady_no_budget(urls, conc):
    return run_steady(urls, conc, budget=False)


TOOLS = {
    "steady": run_steady,
    "steady_no_budget": run_steady_no_budget,
    "steady_async": run_steady_async,
    "requests_urllib3_retry": run_requests,
    "httpx": run_httpx,
}


def worker(tool, conc, url_file):
    urls = open(url_file).read().split()
    t0 = time.perf_counter()
    ok = TOOLS[tool](urls, conc)
    wall = time.perf_counter() - t0
    print(json.dumps({"ok": ok, "wall_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


# -- the orchestra


class Chaos:
    def __init__(self, binary, faults):
        args = [binary, "--seed", "7"]
        for f in faults:
            args += ["--fault", f]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def stop(self):
        self.proc.stdin.close()
        out = self.proc.stdout.read()
        self.proc.wait()
        return json.loads(out.strip().splitlines()[-1])


def one(chaos_bin, faults, tool, items, conc):
    server = Chaos(chaos_bin, faults)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for i in range(1, items + 1):
            f.write(f"{server.url}/items/{(i - 1) % 100 + 1}?n={i}\n")
    try:
        out = subprocess.run([sys.executable, __file__, "--worker", tool, str(conc), f.name], check=True, capture_output=True, text=True).stdout
    finally:
        stats = server.stop()
        os.unlink(f.name)
    result = json.loads(out.strip().splitlines()[-1])
    result.update(tool=tool, sent=stats["requests"], peak_in_flight=stats.get("peak_in_flight", 0))
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chaos")
    p.add_argument("--worker", nargs=3)
    p.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "3")))
    a = p.parse_args()
    if a.worker:
        worker(a.worker[0], int(a.worker[1]), a.worker[2])
        return
    quick = bool(os.environ.get("QUICK"))
    n_get, n_flaky = (2000, 500) if quick else (10000, 1500)
    import platform

    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}}

    print(f"== throughput: {n_get} GETs, 50 threads sharing one client ({a.rounds} rounds, alternating)")
    runs = {}
    for _ in range(a.rounds):
        for tool in ("steady", "requests_urllib3_retry", "httpx", "steady_async"):
            runs.setdefault(tool, []).append(one(a.chaos, [], tool, n_get, 50))
    rows = []
    print("%-24s%10s%9s%8s%12s" % ("tool", "req/s", "ok", "sent", "peak MiB"))
    for tool, rs in runs.items():
        rates = [r["ok"] / r["wall_s"] for r in rs]
        row = {
            "tool": tool,
            "req_per_s": round(statistics.median(rates)),
            "req_per_s_runs": [round(x) for x in rates],
            "ok": min(r["ok"] for r in rs),
            "sent": max(r["sent"] for r in rs),
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in rs), 1),
        }
        rows.append(row)
        print("%-24s%10d%9d%8d%12.1f   (%s)" % (tool, row["req_per_s"], row["ok"], row["sent"], row["peak_rss_mib"], " / ".join(map(str, row["req_per_s_runs"]))))
    results["throughput"] = {"items": n_get, "threads": 50, "rows": rows}

    print(f"== flaky: {n_flaky} items, 40 ms answers, ~40% fail once or twice, 16 threads")
    rows = []
    print("%-24s%9s%8s%9s%12s%7s" % ("tool", "success", "sent", "wall s", "peak MiB", "peak"))
    for tool in ("steady", "requests_urllib3_retry", "steady_no_budget"):
        r = one(a.chaos, FLAKY_FAULTS, tool, n_flaky, 16)
        rows.append(r)
        print("%-24s%8.1f%%%8d%9.2f%12.1f%7d" % (tool, 100 * r["ok"] / n_flaky, r["sent"], r["wall_s"], r["peak_rss_mib"], r["peak_in_flight"]))
    results["flaky"] = {"items": n_flaky, "threads": 16, "faults": FLAKY_FAULTS, "rows": rows}

    os.makedirs("bench/results", exist_ok=True)
    with open("bench/results/python.json", "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
