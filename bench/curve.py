"""Scale curve: grows one dataset (2M -> 20M -> 100M CDRs by default) and measures at each size.

Usage (repo root, after `make venv build`): .venv/bin/python bench/curve.py   (see bench/README.md)

At each size, in the same run: p50 of the straightforward SQL on raw CDRs sent to the engine (the
baseline, unfiltered and with each scenario's filter), of the gateway's (A)-(D) (cold path,
`Cache-Control: no-cache`), of the termination breakdown (G)-(K) for the same account and window
(and of a straightforward GROUP BY for each of (G)-(I)), rows each statistics request would read
(EXPLAIN ESTIMATE: the local engine reports `read_rows` 0 in X-ClickHouse-Summary), bytes on disk
per CDR, and the insert rate of the rows added to reach the size. The dataset grows by appending
(`cdrstats seed --first-stream`), never reseeding from zero; every increment uses the same fixed
24 h window, seed and profile.

Env: CURVE_SIZES (default "2000000 20000000 100000000"), CURVE_DURATION (s per scenario, 5),
CURVE_WARMUP (s, 1), CURVE_RESET=1 (drop the curve database first), CURVE_DATABASE (curve), BENCH_KEEP_ENGINE=1,
CURVE_IDLE_WAIT (s to wait for load average < nproc/2 before measuring, default 60),
CURVE_MERGE_WAIT (s to wait for the engine's merges to finish first, default 300), VENV.
Writes bench/results/curve-<stamp>.md, curve-latest.md, curve-latest.png; raw JSON per size in
bench/data/curve/.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)

SIZES = [int(x) for x in os.environ.get("CURVE_SIZES", "2000000 20000000 100000000").split()]
DURATION = int(os.environ.get("CURVE_DURATION", "5"))
WARMUP = int(os.environ.get("CURVE_WARMUP", "1"))
IDLE_WAIT = int(os.environ.get("CURVE_IDLE_WAIT", "60"))
# Same ports and engine data directory as bench/run.sh, in a database of its own, so the curve
# never drops or grows run.sh's `bench` dataset.
ENGINE = "http://127.0.0.1:28123"
GATEWAY_ADDR = "127.0.0.1:28080"
GATEWAY = "http://" + GATEWAY_ADDR
ENGINE_DIR = "bench/data/engine"
DB = os.environ.get("CURVE_DATABASE", "curve")
STATE_DIR = "bench/data/" + DB
RESULTS = "bench/results"
BIN = "target/release/cdrstats"
LUA = "bench/wrk/bench.lua"
API = "/api/rest/customer/v1/termination-statistics-quality"
BREAKDOWN_API = "/api/rest/customer/v1/termination-breakdown"
# The dataset: realistic profile plus the hot account, as bench/run.sh seeds it.
SEED, HOT_SHARE, PARALLEL = 7, 0.4, 2

ENV = dict(
    os.environ,
    CLICKHOUSE_URL=ENGINE,
    CLICKHOUSE_DATABASE=DB,
    JWT_SECRET=os.environ.get("BENCH_JWT_SECRET", "cdrstats-bench-secret-0123456789"),
)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ch(sql, params=None, db=DB, fmt=None):
    """Runs SQL on the engine; values only as query parameters."""
    q = {"database": db}
    if fmt:
        q["default_format"] = fmt
    q.update({"param_" + k: str(v) for k, v in (params or {}).items()})
    url = ENGINE + "/?" + urllib.parse.urlencode(q)
    with urllib.request.urlopen(urllib.request.Request(url, data=sql.encode()), timeout=3600) as r:
        return r.read().decode()


def cli(*args):
    return subprocess.run([BIN, *args], env=ENV, check=True, capture_output=True, text=True).stdout


# --- the dataset ----------------------------------------------------------------------------------


def load_state(reset):
    path = os.path.join(STATE_DIR, "state.json")
    count = int(ch("SELECT count() FROM cdrs"))
    if not reset and count and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    if count:
        log(f"dropping database {DB} ({count:,} rows) to start the curve over")
        ch(f"DROP DATABASE IF EXISTS {DB} SYNC", db="default")
        cli("migrate")
    for name in os.listdir(STATE_DIR):
        if name.endswith(".json"):
            os.remove(os.path.join(STATE_DIR, name))
    # One fixed 24 h window for every increment: [end - 24 h, end).
    return {"end": int(time.time()) // 60 * 60, "next_stream": 0}


def save_state(state):
    with open(os.path.join(STATE_DIR, "state.json"), "w") as f:
        json.dump(state, f)


def grow(state, size):
    """Appends CDRs until `cdrs` holds `size`; returns (rows added, seconds)."""
    count = int(ch("SELECT count() FROM cdrs"))
    delta = size - count
    if delta <= 0:
        return 0, 0.0, roll_up_dense_accounts()
    log(f"seeding {delta:,} CDRs ({count:,} -> {size:,}), streams from {state['next_stream']}")
    first = state["next_stream"]
    # Claimed before seeding: a run interrupted half way resumes with fresh streams, never
    # inserting the same draws twice.
    state["next_stream"] += PARALLEL
    save_state(state)
    t0 = time.monotonic()
    with open(os.path.join(STATE_DIR, f"seed-{size}.log"), "w") as out:
        seed = subprocess.Popen(
            [BIN, "seed", "--profile", "realistic", "--rows", str(delta), "--days", "1",
             "--seed", str(SEED), "--hot-share", str(HOT_SHARE), "--end", str(state["end"]),
             "--parallel", str(PARALLEL), "--first-stream", str(first), "--no-active-calls"],
            env=ENV, stdout=out, stderr=subprocess.STDOUT,
        )
        # A progress line every 30 s (the seed's own bar is drawn only on a terminal).
        while seed.poll() is None:
            try:
                seed.wait(timeout=30)
            except subprocess.TimeoutExpired:
                now = int(ch("SELECT count() FROM cdrs"))
                log(f"  {now:,} of {size:,} CDRs, {(now - count) / (time.monotonic() - t0):,.0f} rows/s so far")
        if seed.returncode:
            sys.exit(f"cdrstats seed failed ({seed.returncode}): see {out.name}")
    wall = time.monotonic() - t0
    secs, derive = seed_timings(out.name, wall)
    log(f"seeded {delta:,} CDRs in {secs:.1f} s ({delta / secs:,.0f} rows/s); "
        f"active-call snapshots derived in {derive:.1f} s; {wall:.1f} s in all")
    return delta, secs, roll_up_dense_accounts()


def seed_timings(log_path, wall):
    """(insert seconds, snapshot-derivation seconds) from `cdrstats seed`'s own report: after the
    CDRs it derives the active-call snapshots of the window (not CDR insert work), so the insert
    rate uses the seed's insert time, not the process's wall time."""
    insert, derive = wall, 0.0
    with open(log_path) as f:
        for line in f:
            words = line.split()
            if line.startswith("seeded ") and "in" in words:
                insert = float(words[words.index("in") + 1])
            elif line.startswith("active_calls:") and "in" in words:
                derive = float(words[words.index("in") + 1])
    return insert, derive


def roll_up_dense_accounts():
    """Rollups are kept only for listed dense account-sides (schema/005_rollup_accounts.sql):
    list the account-sides dense at this size, roll up their past, then check it, as an operator
    would after a bulk load. Timed one by one; not part of the timed insert rate."""
    first, last = ch("SELECT toDate(min(time_start)), toDate(max(time_start)) FROM cdrs FORMAT TSV").split()
    timings = {"days": f"{first} .. {last}"}
    for key, args in (("dense_s", ["rollups", "dense"]),
                      ("rebuild_s", ["rollups", "rebuild", "--from", first, "--to", last]),
                      ("verify_s", ["rollups", "verify", "--from", first, "--to", last])):
        t0 = time.monotonic()
        done = subprocess.run([BIN, *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            sys.exit(f"cdrstats {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
        timings[key] = time.monotonic() - t0
    log(f"rollups dense {timings['dense_s']:.1f} s, rebuild {timings['rebuild_s']:.1f} s, "
        f"verify {timings['verify_s']:.1f} s ({timings['days']})")
    return timings


# --- measurements ---------------------------------------------------------------------------------


def wait_merges():
    """Waits (up to CURVE_MERGE_WAIT s) for the merges an insert starts to finish: measured
    right after a seed, the first scenario would share the CPUs with them."""
    deadline = time.monotonic() + int(os.environ.get("CURVE_MERGE_WAIT", "300"))
    while time.monotonic() < deadline:
        n = int(ch("SELECT count() FROM system.merges WHERE database = {db:String}", {"db": DB}, db="default"))
        if n == 0:
            return
        log(f"{n} merge(s) running: waiting (CURVE_MERGE_WAIT)")
        time.sleep(10)


def wait_idle():
    limit = os.cpu_count() / 2
    deadline = time.monotonic() + IDLE_WAIT
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        log(f"load average {os.getloadavg()[0]:.2f} > {limit}: waiting (CURVE_IDLE_WAIT)")
        time.sleep(15)


def wrk(base_url, **env):
    """p50/p99 of one 1-connection wrk run (bench/wrk/bench.lua), after a warm-up."""
    e = dict(os.environ, BENCH_THREADS="1", **env)
    for secs in ([WARMUP] if WARMUP else []) + [DURATION]:
        out = subprocess.run(
            ["wrk", "-t1", "-c1", f"-d{secs}s", "--timeout", "60s", "-s", LUA, base_url],
            env=e, check=True, capture_output=True, text=True,
        ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCHJSON "))
    return json.loads(line[len("BENCHJSON "):])


def straightforward(name, sql, params):
    """p50/p99 of `sql` POSTed to the engine as it is, values as query parameters."""
    body = os.path.join(STATE_DIR, f"baseline-{name}.sql")
    with open(body, "w") as f:
        f.write(sql)
    path = "/?" + urllib.parse.urlencode(
        {"database": DB, "default_format": "JSONCompact", **{"param_" + k: v for k, v in params.items()}},
        quote_via=urllib.parse.quote)
    return wrk(ENGINE, BENCH_PATH=path, BENCH_BODY_FILE=body)


def estimate(sql, params):
    """Rows the engine plans to read (EXPLAIN ESTIMATE), summed over the tables of the query."""
    out = ch("EXPLAIN ESTIMATE " + sql, params, fmt="JSONEachRow")
    return sum(int(json.loads(x)["rows"]) for x in out.splitlines() if x.strip())


def sizes():
    """Bytes on disk per table (active parts, as merged at this moment)."""
    out = ch(
        "SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts "
        "WHERE database = {db:String} AND active GROUP BY table ORDER BY table",
        {"db": DB}, db="default", fmt="JSONEachRow",
    )
    return {r["table"]: {"rows": int(r["rows"]), "bytes": int(r["bytes"])}
            for r in map(json.loads, out.splitlines()) if r["table"] not in ("accounts", "api_access", "schema_migrations")}


class Gateway:
    def __enter__(self):
        self.log = open(os.path.join(STATE_DIR, "gateway.log"), "w")
        env = dict(ENV, LISTEN_ADDR=GATEWAY_ADDR, LOADTEST_ACCESS_IDS="1", RUST_LOG="warn")
        self.proc = subprocess.Popen([BIN, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                urllib.request.urlopen(GATEWAY + "/readyz", timeout=1).read()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit("gateway exited; see " + self.log.name)
                time.sleep(0.1)
        sys.exit("gateway not ready")

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


BASELINE = open("bench/baseline.sql").read()
# The straightforward SQL with each scenario's filter (same shape as the baseline).
FILTERS = {
    "A": ("", "", {}),
    "B": ("dst-country-id={country}", "AND dst_country_id = {c:UInt32}", {"c": "country"}),
    "C": ("dst-prefix-routing-starts-with={prefix}", "AND startsWith(dst_prefix_routing, {p:String})",
          {"p": "prefix"}),
    "D": ("duration-gt=60", "AND duration > 60", {}),
}
# The breakdown endpoint: the request's dimension part, the straightforward GROUP BY it is measured
# against, and its window in hours ending at the 24 h window's end. The dataset holds one day, so
# the comparison is measured on the last 12 h, whose previous period (the first 12 h) holds as many
# CDRs: (J) is (K) plus compare=previous-period, its target its p50 over (K)'s.
BREAKDOWNS = {
    "G": ("by=dst-country", "bench/baseline_breakdown_country.sql", 24),
    "H": ("by=dst-prefix", "bench/baseline_breakdown_prefix.sql", 24),
    "I": ("by=disconnect-code", "bench/baseline_breakdown_code.sql", 24),
    "K": ("by=dst-country", None, 12),
    "J": ("by=dst-country&compare=previous-period", None, 12),
}


def measure(state, size, added, seed_secs, rollups):
    end = state["end"]
    frm = end - 86400
    ts = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))  # noqa: E731
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    rows = int(ch("SELECT count() FROM cdrs"))
    hot = int(ch("SELECT count() FROM cdrs WHERE vendor_acc_id = 1"))
    win = {"a": 1, "from": ts(frm), "to": ts(end)}
    wsql = "vendor_acc_id = {a:UInt32} AND time_start BETWEEN {from:DateTime} AND {to:DateTime}"
    country = int(ch(f"SELECT dst_country_id FROM cdrs WHERE {wsql} GROUP BY 1 ORDER BY count() DESC, 1 LIMIT 1", win))
    top = ch(f"SELECT dst_prefix_routing FROM cdrs WHERE {wsql} GROUP BY 1 ORDER BY count() DESC, 1 LIMIT 1", win).strip()
    vals = {"country": country, "prefix": top[:3] if len(top) >= 4 else top[:2]}
    uuid = ch("SELECT toString(uuid) FROM accounts FINAL WHERE id = 1").strip()
    token = cli("token", "--access-id", "1").strip().splitlines()[-1]
    log(f"{rows:,} CDRs (hot account {hot:,}); country {country}, prefix {vals['prefix']}")

    r = {"rows": rows, "hot_rows": hot, "added": added, "seed_s": seed_secs,
         "insert_rows_per_s": added / seed_secs if seed_secs else None,
         "window": f"{iso(frm)} .. {iso(end)}", **vals, "rollups": rollups, "scenarios": {}}
    wait_merges()
    wait_idle()
    r["loadavg_before"] = os.getloadavg()
    q0 = f"account-id={uuid}&from-time={iso(frm)}&to-time={iso(end)}&sampling=minute"
    with Gateway():
        for name, (qfilter, sfilter, sparams) in FILTERS.items():
            q = q0 + ("&" + qfilter.format(**vals) if qfilter else "")
            plan = json.loads(cli("sql", "--account", "1", "--query", q))
            gw = wrk(GATEWAY, BENCH_PATH=f"{API}?{q}", BENCH_AUTH="Bearer " + token, BENCH_NOCACHE="1",
                     BENCH_CHECK="1")
            # The straightforward SQL with the same filter, POSTed to the engine.
            sql = BASELINE.replace("{filter}", sfilter)
            params = dict(win, **{k: vals[v] for k, v in sparams.items()})
            base = straightforward(name, sql, params)
            r["scenarios"][name] = {
                "query": q, "path": plan["path"], "sources": gw["sources"],
                "p50_ms": gw["p50_ms"], "p99_ms": gw["p99_ms"], "errors": gw["errors"] + gw["non2xx"],
                "rows_read": estimate(plan["sql"], plan["params"]),
                "baseline_p50_ms": base["p50_ms"], "baseline_p99_ms": base["p99_ms"],
                "baseline_errors": base["errors"] + base["non2xx"],
                "baseline_rows_read": estimate(sql, params),
            }
            s = r["scenarios"][name]
            log(f"  ({name}) gateway p50 {s['p50_ms']:.1f} ms ({plan['path']}, {s['rows_read']:,} rows) | "
                f"straightforward SQL p50 {s['baseline_p50_ms']:.1f} ms ({s['baseline_rows_read']:,} rows) | "
                f"x{s['baseline_p50_ms'] / s['p50_ms']:.1f}")
        # `cdrstats sql` plans only the statistics endpoints: no gateway rows estimate here.
        for name, (dims, sql_file, hours) in BREAKDOWNS.items():
            q = f"account-id={uuid}&from-time={iso(end - hours * 3600)}&to-time={iso(end)}&{dims}"
            gw = wrk(GATEWAY, BENCH_PATH=f"{BREAKDOWN_API}?{q}", BENCH_AUTH="Bearer " + token, BENCH_NOCACHE="1",
                     BENCH_CHECK="1")
            s = r["scenarios"][name] = {
                "query": q, "endpoint": "termination-breakdown", "sources": gw["sources"],
                "p50_ms": gw["p50_ms"], "p99_ms": gw["p99_ms"], "errors": gw["errors"] + gw["non2xx"],
                "rows_read": None,
            }
            if sql_file:
                with open(sql_file) as f:
                    sql = f.read()
                base = straightforward(name, sql, win)
                s.update(baseline_file=sql_file, baseline_p50_ms=base["p50_ms"], baseline_p99_ms=base["p99_ms"],
                         baseline_errors=base["errors"] + base["non2xx"], baseline_rows_read=estimate(sql, win))
                log(f"  ({name}) gateway p50 {s['p50_ms']:.1f} ms ({'/'.join(sorted(s['sources']))}) | "
                    f"straightforward SQL p50 {s['baseline_p50_ms']:.1f} ms ({s['baseline_rows_read']:,} rows) | "
                    f"x{s['baseline_p50_ms'] / s['p50_ms']:.1f}")
            else:
                log(f"  ({name}) gateway p50 {s['p50_ms']:.1f} ms ({'/'.join(sorted(s['sources']))})")
    # The CDRs compare=previous-period adds to (J): its window [end - 12 h, end] is inclusive, so
    # the previous period is the 43 201 s before it.
    half = {"a": 1, "from": ts(end - 43200)}
    r["previous_rows"] = int(ch("SELECT count() FROM cdrs WHERE vendor_acc_id = {a:UInt32} AND time_start "
                                "BETWEEN {from:DateTime} - 43201 AND {from:DateTime} - 1", half))
    r["loadavg_after"] = os.getloadavg()
    r["tables"] = sizes()
    with open(os.path.join(STATE_DIR, f"{size}.json"), "w") as f:
        json.dump(r, f, indent=1)
    return r


def main():
    os.makedirs(STATE_DIR, exist_ok=True)
    started = False
    try:
        urllib.request.urlopen(ENGINE + "/ping", timeout=2).read()
    except OSError:
        subprocess.run(["bash", "engine/start.sh"], env=dict(ENV, LOCAL_ENGINE_DIR=ENGINE_DIR), check=True)
        started = True
    try:
        if os.environ.get("CURVE_RESET") == "1":
            # Before `migrate`, which refuses a database whose applied schema files changed.
            log(f"CURVE_RESET=1: dropping database {DB}")
            ch(f"DROP DATABASE IF EXISTS {DB} SYNC", db="default")
        ch(f"CREATE DATABASE IF NOT EXISTS {DB}", db="default")
        cli("migrate")
        state = load_state(os.environ.get("CURVE_RESET") == "1")
        save_state(state)
        results = []
        for size in SIZES:
            done = os.path.join(STATE_DIR, f"{size}.json")
            count = int(ch("SELECT count() FROM cdrs"))
            if count >= size and os.path.exists(done):
                with open(done) as f:
                    old = json.load(f)
                missing = [k for k in (*FILTERS, *BREAKDOWNS) if k not in old["scenarios"]]
                if not missing or count > size:
                    log(f"{size:,}: measured earlier in this curve, reusing {done}"
                        + (f" (without {', '.join(missing)}: the table has grown past it)" if missing else ""))
                    results.append(old)
                    continue
                # Measured before (G)-(K) existed and still at this size: measure again, keeping
                # the growth step's own figures.
                log(f"{size:,}: measured earlier without {', '.join(missing)}: measuring again")
                results.append(measure(state, size, old["added"], old["seed_s"], old.get("rollups")))
                continue
            if count > size:
                sys.exit(f"cdrs holds {count:,} rows, more than {size:,}: CURVE_RESET=1 to start over")
            added, secs, rollups = grow(state, size)
            results.append(measure(state, size, added, secs, rollups))
        subprocess.run([ENV.get("VENV", ".venv") + "/bin/python", "bench/curve_report.py", STATE_DIR, RESULTS,
                        " ".join(map(str, SIZES))], check=True)
    finally:
        if started and os.environ.get("BENCH_KEEP_ENGINE") != "1":
            subprocess.run(["bash", "engine/stop.sh"], env=dict(ENV, LOCAL_ENGINE_DIR=ENGINE_DIR))


if __name__ == "__main__":
    main()
