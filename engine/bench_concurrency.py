"""Concurrency benchmark for the local engine.

Creates a 10M-row `cdrs`-like table (once) and runs a per-minute aggregation
over one account for 24 h from 1 and from 8 concurrent clients (threads, each
with its own keep-alive connection), reporting queries/s.

  .venv/bin/python engine/bench_concurrency.py                 # own engine, temp dir
  .venv/bin/python engine/bench_concurrency.py --url http://127.0.0.1:8123
"""

import argparse
import http.client
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = 10_000_000
ACCOUNTS = 100
DAYS = 30
T0 = 1_700_006_400  # 2023-11-15 00:00:00 UTC

QUERY = """
SELECT toStartOfMinute(time_start) AS minute, count() AS calls, sum(duration) AS total
FROM bench_cdrs
WHERE vendor_acc_id = {acc:UInt32}
  AND time_start >= toDateTime({t:UInt32}) AND time_start < toDateTime({t:UInt32}) + 86400
GROUP BY minute ORDER BY minute
FORMAT RowBinaryWithNamesAndTypes
"""


def post(conn, sql, params=None):
    path = "/?" + urllib.parse.urlencode({"param_" + k: v for k, v in (params or {}).items()})
    conn.request("POST", path, body=sql.encode())
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError("HTTP %d: %s" % (r.status, body[:300]))
    return body


def setup(host, port):
    c = http.client.HTTPConnection(host, port, timeout=600)
    have = post(c, "SELECT count() FROM system.tables WHERE database = currentDatabase() "
                   "AND name = 'bench_cdrs'").strip()
    if have == b"1" and post(c, "SELECT count() FROM bench_cdrs").strip() == str(ROWS).encode():
        print("table bench_cdrs already present")
        return
    post(c, "DROP TABLE IF EXISTS bench_cdrs")
    post(c, """CREATE TABLE bench_cdrs (
                 time_start DateTime, vendor_acc_id UInt32, duration Int32)
               ENGINE = MergeTree ORDER BY (vendor_acc_id, time_start)""")
    t = time.time()
    post(c, """INSERT INTO bench_cdrs
               SELECT toDateTime(%d + intHash32(number) %% %d), number %% %d,
                      toInt32(intHash32(number + 1) %% 600)
               FROM numbers(%d)""" % (T0, DAYS * 86400, ACCOUNTS, ROWS))
    post(c, "OPTIMIZE TABLE bench_cdrs FINAL")
    print("inserted %d rows in %.1f s" % (ROWS, time.time() - t))


def run(host, port, clients, seconds):
    stop = time.time() + seconds
    counts = [0] * clients
    errors = []
    lat = []

    def worker(i):
        c = http.client.HTTPConnection(host, port, timeout=120)
        rnd = random.Random(i)
        while time.time() < stop:
            acc = rnd.randrange(ACCOUNTS)
            day = T0 + rnd.randrange(DAYS - 1) * 86400
            t = time.time()
            try:
                post(c, QUERY, {"acc": acc, "t": day})
            except Exception as e:  # noqa
                errors.append(e)
                return
            lat.append(time.time() - t)
            counts[i] += 1
        c.close()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.time() - t0
    if errors:
        raise errors[0]
    lat.sort()
    total = sum(counts)
    return total / elapsed, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.95)] * 1000, total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="existing engine/ClickHouse (default: start one)")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--pool", default="8")
    args = ap.parse_args()

    proc = tmp = None
    if args.url:
        u = urllib.parse.urlsplit(args.url)
        host, port = u.hostname, u.port or 8123
    else:
        tmp = tempfile.mkdtemp(prefix="engine-bench-")
        host, port = "127.0.0.1", free_port()
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "chdb_http.py"),
                                 "--listen", "%s:%d" % (host, port), "--data-dir", tmp,
                                 "--pool", args.pool],
                                stderr=open(os.path.join(tmp, "engine.log"), "wb"))
        for _ in range(300):
            try:
                c = http.client.HTTPConnection(host, port, timeout=5)
                c.request("GET", "/ping")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
    try:
        setup(host, port)
        run(host, port, 1, 1.0)  # warm-up
        print("cpu cores: %d" % os.cpu_count())
        for n in [int(x) for x in args.clients.split(",")]:
            qps, p50, p95, total = run(host, port, n, args.seconds)
            print("clients=%d  %.1f q/s  (p50 %.1f ms, p95 %.1f ms, %d queries in %.0f s)"
                  % (n, qps, p50, p95, total, args.seconds))
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
