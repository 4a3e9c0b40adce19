"""p50 of the breakdown endpoints against a straightforward GROUP BY over raw CDRs, in one run.

For each dimension: the gateway with `Cache-Control: no-cache` (computed afresh), the same request
with `compare=previous-period`, and the straightforward SQL (`GROUP BY` the key over the account's
raw CDRs of the window with the same sums, top 20 by calls) POSTed to the engine. Results are read
as ratios measured in the same run.
Usage: python bench/breakdown.py GATEWAY_URL ENGINE_URL DATABASE TOKEN ACCOUNT_UUID FROM TO [REQUESTS]
"""

import http.client
import statistics
import sys
import time
import urllib.parse

STRAIGHTFORWARD = """
SELECT {key} AS k, count() AS total_calls, countIf(duration > 0) AS successful_calls,
       sum(duration) / 60 AS total_duration, avgIf(duration, duration > 0) AS acd,
       100 * countIf(duration > 0) / count() AS asr, sum(vendor_price) AS total_price,
       avgIf(pdd, pdd > 0) AS pdd
FROM {db}.cdrs
WHERE vendor_acc_id = 1 AND time_start >= '{start}' AND time_start <= '{end}'
GROUP BY k ORDER BY total_calls DESC LIMIT 20
FORMAT JSONCompact"""

DIMENSIONS = [
    ("dst-country", "dst_country_id"),
    ("dst-prefix", "dst_prefix_routing"),
    ("disconnect-code", "(legb_disconnect_code, legb_disconnect_reason)"),
]


def p50(send, n):
    send()  # one untimed request: connections and the engine's caches warm
    times = []
    for _ in range(n):
        start = time.perf_counter()
        send()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    gateway, engine, db, token, account, start, end = sys.argv[1:8]
    n = int(sys.argv[8]) if len(sys.argv) > 8 else 30
    g = urllib.parse.urlparse(gateway)
    e = urllib.parse.urlparse(engine)
    gconn = http.client.HTTPConnection(g.hostname, g.port, timeout=120)
    econn = http.client.HTTPConnection(e.hostname, e.port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Cache-Control": "no-cache"}

    def get(path):
        def send():
            gconn.request("GET", path, headers=headers)
            resp = gconn.getresponse()
            resp.read()
            if resp.status != 200:
                sys.exit(f"{path}: {resp.status}")
        return send

    def sql(text):
        def send():
            econn.request("POST", "/", body=text.encode())
            resp = econn.getresponse()
            resp.read()
            if resp.status != 200:
                sys.exit(f"engine: {resp.status}")
        return send

    print(f"{n} sequential requests per cell; window {start} → {end}; termination, account 1\n")
    print("| by | straightforward SQL p50 ms | gateway p50 ms | × | with compare p50 ms | compare adds |")
    print("|---|---:|---:|---:|---:|---:|")
    for by, key in DIMENSIONS:
        query = urllib.parse.urlencode({"account-id": account, "from-time": start.replace(" ", "T") + "Z",
                                        "to-time": end.replace(" ", "T") + "Z", "by": by})
        path = f"/api/rest/customer/v1/termination-breakdown?{query}"
        base = p50(sql(STRAIGHTFORWARD.format(key=key, db=db, start=start, end=end)), n)
        plain = p50(get(path), n)
        compared = p50(get(path + "&compare=previous-period"), n)
        print(f"| {by} | {base:.1f} | {plain:.1f} | {base / plain:.2f} | {compared:.1f} | "
              f"{100 * (compared / plain - 1):+.0f} % |")


if __name__ == "__main__":
    main()
