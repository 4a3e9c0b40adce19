"""Cold p50 of termination-statistics over 24 h by minute, raw CDRs against the rollup path.

Both measured in the same run on the same data: the hot account's termination side unlisted
(a `rollup_accounts` row with `since` in 2106: the gateway reads raw CDRs, as before
schema/011_family_rollups.sql) and listed from 1970 (whole minutes from rollup_minute),
alternating ROUNDS times so load from other work on the machine falls on both.
Usage: python bench/statistics_rollup.py GATEWAY_URL ENGINE_URL DATABASE TOKEN ACCOUNT_UUID
       ACCOUNT_ID [REQUESTS] [ROUNDS]
"""

import statistics
import sys
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from family import iso, measure  # noqa: E402

import http.client  # noqa: E402


def engine(url, database, sql):
    query = urllib.parse.urlencode({"database": database})
    with urllib.request.urlopen(f"{url}/?{query}", data=sql.encode()) as resp:
        return resp.read().decode()


def main():
    gateway, engine_url, database, token, account, account_id = sys.argv[1:7]
    n = int(sys.argv[7]) if len(sys.argv) > 7 else 50
    rounds = int(sys.argv[8]) if len(sys.argv) > 8 else 2
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    params = {"account-id": account, "from-time": iso(now - timedelta(days=1)),
              "sampling": "minute"}
    path = f"/api/rest/customer/v1/termination-statistics?{urllib.parse.urlencode(params)}"
    url = urllib.parse.urlparse(gateway)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    results = {"raw": [], "rollup": []}
    bodies = {}
    for _ in range(rounds):
        for label, since in (("raw", 4294967295), ("rollup", 0)):
            engine(engine_url, database,
                   f"INSERT INTO rollup_accounts VALUES (0, {int(account_id)}, {since})")
            p50, source, status = measure(conn, path, token, True, n)
            if status != 200:
                sys.exit(f"{label}: status {status}")
            results[label].append((p50, source))
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}",
                                                "Cache-Control": "no-cache"})
            bodies[label] = conn.getresponse().read()
    print(f"{n} sequential cold requests per cell, {rounds} alternating rounds, {now.isoformat()}\n")
    # x-cdrstats-source names the plan ("rollup" for both): the since split is inside the query.
    print("| path | cold p50 ms per round | median |")
    print("|---|---|---:|")
    for label, runs in results.items():
        cells = ", ".join(f"{p:.1f}" for p, _ in runs)
        print(f"| {label} | {cells} | {statistics.median(p for p, _ in runs):.1f} |")
    ratio = statistics.median(p for p, _ in results["raw"]) / statistics.median(
        p for p, _ in results["rollup"])
    print(f"\nraw / rollup: {ratio:.1f}x; same document on both paths: "
          f"{bodies['raw'] == bodies['rollup']}")


if __name__ == "__main__":
    main()
