"""p50 latency of the statistics and active-calls endpoints against a running gateway, cold and cached.

Cold: `Cache-Control: no-cache` (the gateway computes afresh and queries ClickHouse). Cached: the
same request again without it (after one warming request). The quality endpoint is measured in
the same run as the baseline, so results are read as ratios on the same machine and moment.
Usage: python bench/family.py GATEWAY_URL TOKEN ACCOUNT_UUID [REQUESTS]
"""

import http.client
import statistics
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def measure(conn, path, token, cold, n):
    headers = {"Authorization": f"Bearer {token}"}
    if cold:
        headers["Cache-Control"] = "no-cache"
    else:
        conn.request("GET", path, headers=headers)  # warm the cache
        conn.getresponse().read()
    times, source, status = [], "", 0
    for _ in range(n):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        times.append((time.perf_counter() - start) * 1000)
        source, status = resp.getheader("x-cdrstats-source", ""), resp.status
    return statistics.median(times), source, status


def main():
    gateway, token, account = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    day, hour = iso(now - timedelta(days=1)), iso(now - timedelta(hours=1))
    cases = [
        ("baseline: termination-statistics-quality, 24 h by minute (rollup)",
         "termination-statistics-quality", {"from-time": day, "sampling": "minute"}),
        ("baseline: termination-statistics-quality, 24 h by hour, duration filter (raw)",
         "termination-statistics-quality", {"from-time": day, "sampling": "hour", "duration-gt": "0"}),
        ("termination-statistics, 24 h by hour", "termination-statistics",
         {"from-time": day, "sampling": "hour"}),
        ("origination-statistics, 24 h by hour", "origination-statistics",
         {"from-time": day, "sampling": "hour"}),
        ("termination-statistics, 24 h by minute", "termination-statistics",
         {"from-time": day, "sampling": "minute"}),
        ("termination-statistics, month, Europe/Berlin", "termination-statistics",
         {"from-time": day, "sampling": "month", "time-zone": "Europe/Berlin"}),
        ("termination-active-calls, last hour", "termination-active-calls", {"from-time": hour}),
        ("origination-active-calls, last hour", "origination-active-calls", {"from-time": hour}),
        ("termination-active-calls, 24 h", "termination-active-calls", {"from-time": day}),
        ("outgoing-active-calls", "outgoing-active-calls", {}),
    ]
    url = urllib.parse.urlparse(gateway)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    print(f"{n} sequential requests per cell, account {account}, {now.isoformat()}\n")
    print("| request | cold p50 ms | cached p50 ms | cold source |")
    print("|---|---:|---:|---|")
    for label, endpoint, params in cases:
        query = urllib.parse.urlencode({"account-id": account, **params})
        path = f"/api/rest/customer/v1/{endpoint}?{query}"
        cold, source, status = measure(conn, path, token, True, n)
        cached, cached_source, cached_status = measure(conn, path, token, False, n)
        if status != 200 or cached_status != 200 or cached_source != "cache":
            sys.exit(f"{label}: status {status}/{cached_status}, cached source {cached_source}")
        print(f"| {label} | {cold:.1f} | {cached:.2f} | {source} |")


if __name__ == "__main__":
    main()
