"""Turns the per-size JSON files of bench/curve.py into a Markdown report and a PNG chart.

Usage: python bench/curve_report.py STATE_DIR RESULTS_DIR "2000000 20000000 100000000"
Writes RESULTS_DIR/curve-<YYYY-MM-DD-HHMM>.md, curve-latest.md, curve-latest.png; prints the
Markdown. Sizes without a result file are listed as not measured.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import time

NAMES = {
    "A": "(A) 24 h by minute",
    "B": "(B) + dst-country-id",
    "C": "(C) + dst-prefix starts-with",
    "D": "(D) + duration-gt (raw path)",
}
# The termination breakdown of the same account and window.
BREAKDOWN_NAMES = {
    "G": "(G) breakdown by dst-country",
    "H": "(H) breakdown by dst-prefix",
    "I": "(I) breakdown by disconnect-code",
    "K": "(K) breakdown by dst-country, last 12 h",
    "J": "(J) (K) + compare=previous-period",
}
ALL_NAMES = {**NAMES, **BREAKDOWN_NAMES}
# The targets at 100M, as speed-ups over the straightforward SQL in the same run; (I) is held to
# ROLLUP_TARGET_I instead when its responses come from a rollup.
TARGETS = {"A": 30, "B": 30, "C": 30, "D": 1, "G": 15, "H": 10, "I": 1}
ROLLUP_TARGET_I = 5
# (J): what compare=previous-period may add, as its p50 over (G)'s.
MAX_COMPARE_RATIO = 1.30


def sources(s):
    return "/".join(sorted(s["sources"])) or "—"


def target(k, s):
    """The speed-up scenario k is held to, given its measurements s."""
    if k == "I" and {"rollup", "mixed"} & set(s["sources"]):
        return ROLLUP_TARGET_I
    return TARGETS[k]


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")) / 1048576
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} CPUs ({cpu}), {mem:.1f} GiB RAM, {platform.system()}; commit `{git or '?'}`"


def cdr_tables(runs):
    """The tables that hold CDRs or what is derived from them: `cdrs` and the tables its views
    write. Not the active-call snapshots (their own data source, 7-day TTL; `seed` derives them
    for the window), the directory or the rollup listing and rebuild bookkeeping."""
    return sorted({t for r in runs for t in r["tables"] if t.startswith(("cdrs", "rollup_minute", "rollup_hour"))})


def mb(n):
    return f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n:,}"


def main():
    state_dir, out_dir, sizes = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split()]
    runs = []
    for size in sizes:
        path = os.path.join(state_dir, f"{size}.json")
        if os.path.exists(path):
            with open(path) as f:
                runs.append(json.load(f))
    if not runs:
        sys.exit("no curve results in " + state_dir)
    stamp = time.strftime("%Y-%m-%d-%H%M", time.gmtime())
    lines = []
    w = lines.append
    w(f"# cdrstats scale curve — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    w("")
    w(f"Machine: {machine()}; the gateway, the local engine (chdb) and wrk share it.")
    w(
        "Dataset: `cdrstats seed --profile realistic --hot-share 0.4 --seed 7 --days 1`, grown in "
        "place (each size appends with `--first-stream`, same fixed 24 h window); account 1 is "
        f"the hot account. Window: {runs[0]['window']}, sampling minute (1440 buckets). "
        "Each scenario: 1 connection, wrk, warm-up then measured seconds (bench/curve.py); the "
        "gateway with `Cache-Control: no-cache` (cold path), the straightforward SQL "
        "(`bench/baseline.sql`: one GROUP BY over raw `cdrs`, with the scenario's filter) POSTed "
        "straight to the engine. (G)–(J): the termination breakdown for the same account and window, "
        "each of (G)–(I) against its own straightforward GROUP BY (`bench/baseline_breakdown_*.sql`). "
        "Latencies are p50 in ms."
    )
    missing = [s for s in sizes if s not in {r["rows"] for r in runs} and not any(r["rows"] >= s for r in runs)]
    if missing:
        w("")
        w(f"**Not measured in this run:** {', '.join(mb(s) for s in missing)} CDRs.")
    w("")
    w("## Latency (p50, ms) and speed-up over the straightforward SQL with the same filter")
    w("")
    w("| CDRs | load avg | " + " | ".join(f"SQL {k} | {k} | ×" for k in NAMES) + " |")
    w("|---:|---:|" + "---:|---:|---:|" * len(NAMES))
    for r in runs:
        cells = []
        for k in NAMES:
            s = r["scenarios"][k]
            cells += [f"{s['baseline_p50_ms']:.1f}", f"{s['p50_ms']:.1f}", f"{s['baseline_p50_ms'] / s['p50_ms']:.1f}"]
        w(f"| {mb(r['rows'])} | {r['loadavg_before'][0]:.1f} | " + " | ".join(cells) + " |")
    w("")
    w("*SQL k*: the straightforward SQL with scenario k's filter; *SQL A* is the unfiltered baseline "
      "of `make bench`.")
    w("")
    w("## Termination breakdown (p50, ms) and speed-up over its straightforward GROUP BY")
    w("")
    w("| CDRs | SQL G | G | × | SQL H | H | × | SQL I | I | × | K | J | J / K | previous-period CDRs of J |")
    w("|---:|" + "---:|" * 13)
    for r in runs:
        sc = r["scenarios"]
        cells = []
        for k in "GHI":
            s = sc.get(k)
            cells += ([f"{s['baseline_p50_ms']:.1f}", f"{s['p50_ms']:.1f}", f"{s['baseline_p50_ms'] / s['p50_ms']:.1f}"]
                      if s else ["—"] * 3)
        if "J" in sc and "K" in sc:
            cells += [f"{sc['K']['p50_ms']:.1f}", f"{sc['J']['p50_ms']:.1f}",
                      f"{sc['J']['p50_ms'] / sc['K']['p50_ms']:.2f}"]
        else:
            cells += ["—"] * 3
        cells.append(f"{r['previous_rows']:,}" if "previous_rows" in r else "—")
        w(f"| {mb(r['rows'])} | " + " | ".join(cells) + " |")
    w("")
    w("*SQL G/H/I*: one GROUP BY dst_country_id / dst_prefix_routing / legb_disconnect_code (with "
      "its most frequent reason) over the account's raw CDRs of the window, with the sums the "
      "endpoint answers from, top 20 by calls and totals. (K) is (G) over the last 12 h of the window, "
      "(J) is (K) with the previous 12 h beside every figure; *previous-period CDRs of J*: the "
      "account's CDRs in those 12 h.")
    w("")
    w("Answered from (x-cdrstats-source of every measured response): " + "; ".join(
        f"{mb(r['rows'])}: " + ", ".join(f"{k} {sources(r['scenarios'][k])}" for k in ALL_NAMES if k in r["scenarios"])
        for r in runs) + ".")
    w("")
    w("## Rows read per request (EXPLAIN ESTIMATE)")
    w("")
    w("The local engine reports `read_rows` 0 in `X-ClickHouse-Summary`, so these are the engine's "
      "own estimates (`EXPLAIN ESTIMATE` of the exact SQL and parameters: `cdrstats sql` for the "
      "gateway), summed over the tables a query reads — granule-rounded upper bounds.")
    w("")
    w("| CDRs | " + " | ".join(f"SQL {k} | {k}" for k in NAMES) + " |")
    w("|---:|" + "---:|---:|" * len(NAMES))
    for r in runs:
        cells = []
        for k in NAMES:
            s = r["scenarios"][k]
            cells += [f"{s['baseline_rows_read']:,}", f"{s['rows_read']:,}"]
        w(f"| {mb(r['rows'])} | " + " | ".join(cells) + " |")
    w("")
    est = [f"{mb(r['rows'])}: " + ", ".join(f"{k} {r['scenarios'][k]['baseline_rows_read']:,}" for k in "GHI"
                                           if k in r["scenarios"]) for r in runs if "G" in r["scenarios"]]
    w("Not for (G)–(K): the gateway's breakdown SQL is not estimated here (`cdrstats sql "
      "--endpoint termination-breakdown` prints it)"
      + (". Their straightforward SQL reads " + "; ".join(est) + "." if est else "."))
    w("")
    w("## Storage and insert rate")
    w("")
    tables = cdr_tables(runs)
    w("| CDRs | hot account rows | rows added | seed s | insert rows/s | " + " | ".join(f"`{t}` B/CDR" for t in tables)
      + " | all tables B/CDR |")
    w("|---:|---:|---:|---:|---:|" + "---:|" * len(tables) + "---:|")
    for r in runs:
        n = r["rows"]
        per = [r["tables"].get(t, {"bytes": 0})["bytes"] / n for t in tables]
        rate = f"{r['insert_rows_per_s']:,.0f}" if r.get("insert_rows_per_s") else "—"
        w(f"| {mb(n)} | {r['hot_rows']:,} | {r['added']:,} | {r['seed_s']:.0f} | {rate} | "
          + " | ".join(f"{x:.2f}" for x in per) + f" | {sum(per):.2f} |")
    w("")
    other = sorted({t for r in runs for t in r["tables"]} - set(tables))
    if other:
        w("Not counted above (not CDR data): " + "; ".join(
            f"`{t}` {runs[-1]['tables'].get(t, {'bytes': 0})['bytes'] / 1048576:,.1f} MiB" for t in other)
          + f" at {mb(runs[-1]['rows'])}.")
        w("")
    w("Bytes on disk of the active parts at measuring time (not forced to merge: what a live "
      "server holds); insert rate = rows added to reach the size ÷ the insert time `cdrstats seed` "
      "reports (without the active-call snapshots it derives afterwards) "
      "(2 generator streams with the pipeline insert settings, through the schema: raw table, views, rollups; "
      "the first size has no listed account-sides yet, so its rollup views write nothing).")
    w("")
    if any(r.get("rollups") for r in runs):
        w("## Rollups as managed data")
        w("")
        w("| CDRs | days | `rollups dense` s | `rollups rebuild` s | `rollups verify` s |")
        w("|---:|---|---:|---:|---:|")
        for r in runs:
            o = r.get("rollups")
            if o:
                w(f"| {mb(r['rows'])} | {o['days']} | {o['dense_s']:.1f} | {o['rebuild_s']:.1f} | {o['verify_s']:.1f} |")
        w("")
        w("After each growth step, as an operator would after a bulk load: list the dense "
          "account-sides, rebuild every partition the CDRs touch (built aside day by day, swapped "
          "per month), then verify raw CDRs against every rollup per day and side.")
        w("")
    big = runs[-1]
    w(f"## Targets at {mb(big['rows'])} CDRs (same run)")
    w("")
    w("| scenario | target | vs its straightforward SQL | vs SQL A | answered from | result |")
    w("|---|---|---:|---:|---|---|")
    sc = big["scenarios"]
    passed = checked = 0
    for k in TARGETS:
        checked += 1
        s = sc.get(k)
        if not s:
            w(f"| {ALL_NAMES[k]} | ≥ {TARGETS[k]}× | — | — | — | not measured |")
            continue
        goal = target(k, s)
        same = s["baseline_p50_ms"] / s["p50_ms"]
        # SQL A is the same-filter SQL only for the statistics scenarios.
        plain = f"{sc['A']['baseline_p50_ms'] / s['p50_ms']:.1f}×" if k in NAMES else "—"
        ok = same >= goal
        passed += ok
        w(f"| {ALL_NAMES[k]} | ≥ {goal}× | {same:.1f}× | {plain} | {sources(s)} | {'PASS' if ok else '**MISS**'} |")
    checked += 1
    if "J" in sc and "K" in sc:
        ratio = sc["J"]["p50_ms"] / sc["K"]["p50_ms"]
        ok = ratio <= MAX_COMPARE_RATIO
        passed += ok
        w(f"| {ALL_NAMES['J']} | p50 ≤ {MAX_COMPARE_RATIO:.2f} × (K)'s | {ratio:.2f} × (K) | — | {sources(sc['J'])} | "
          f"{'PASS' if ok else '**MISS**'} |")
    else:
        w(f"| {ALL_NAMES['J']} | p50 ≤ {MAX_COMPARE_RATIO:.2f} × (K)'s | — | — | — | not measured |")
    errors = sum(s["errors"] + s.get("baseline_errors", 0) for r in runs for s in r["scenarios"].values())
    w("")
    w(f"Passed {passed} of {checked} (speed-ups against the straightforward SQL with the same filter or "
      f"dimension; (I) is held to ≥ {ROLLUP_TARGET_I}× when its responses come from a rollup, ≥ "
      f"{TARGETS['I']}× from raw CDRs). Errors and non-2xx over all runs: {errors}."
      + ("" if big["rows"] >= 100_000_000 else f" The targets are stated for 100M CDRs; this run's largest size is {mb(big['rows'])}."))
    w("")
    w("Chart: `curve-latest.png`.")
    md = "\n".join(lines) + "\n"

    os.makedirs(out_dir, exist_ok=True)
    dated = os.path.join(out_dir, f"curve-{stamp}.md")
    with open(dated, "w") as f:
        f.write(md)
    shutil.copyfile(dated, os.path.join(out_dir, "curve-latest.md"))
    chart(runs, os.path.join(out_dir, "curve-latest.png"))
    sys.stdout.write(md)
    print(f"\nwritten: {dated}, {out_dir}/curve-latest.md, {out_dir}/curve-latest.png")


def chart(runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    x = [r["rows"] / 1e6 for r in runs]
    colors = {"A": "#3b75af", "B": "#519e3e", "C": "#ef8636", "D": "#8d69b8",
              "G": "#c53a32", "H": "#17becf", "I": "#7f7f7f", "K": "#e377c2", "J": "#bcbd22"}
    fig, (lat, blat, speed, store) = plt.subplots(1, 4, figsize=(20, 5), dpi=100)
    for k, c in colors.items():
        # Sizes measured before a scenario existed have no point for it.
        have = [(xi, r["scenarios"][k]) for xi, r in zip(x, runs) if k in r["scenarios"]]
        if not have:
            continue
        xs, ss = [h[0] for h in have], [h[1] for h in have]
        ax = lat if k in NAMES else blat
        ax.plot(xs, [s["p50_ms"] for s in ss], "o-", color=c, label=f"{ALL_NAMES[k]} (gateway)")
        if k not in TARGETS:
            continue
        ax.plot(xs, [s["baseline_p50_ms"] for s in ss], "s--", color=c, alpha=0.6, label=f"straightforward SQL {k}")
        speed.plot(xs, [s["baseline_p50_ms"] / s["p50_ms"] for s in ss], "o-", color=c, label=ALL_NAMES[k])
        speed.axhline(target(k, ss[-1]), color=c, ls=":", lw=1)
    for ax in (lat, blat, speed):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("CDRs in the table, millions (log)")
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.grid(which="both", alpha=0.25)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    lat.set_ylabel("p50 latency, ms (log)")
    lat.set_title("statistics p50: gateway (solid) vs straightforward SQL (dashed)", fontsize=10)
    lat.legend(fontsize=7)
    blat.set_ylabel("p50 latency, ms (log)")
    blat.set_title("breakdown p50: gateway (solid) vs straightforward SQL (dashed)", fontsize=10)
    blat.legend(fontsize=7)
    speed.set_ylabel("speed-up × (log)")
    speed.set_title("speed-up over the same-filter SQL (dotted: 100M targets)", fontsize=10)
    speed.legend(fontsize=7)
    tables = cdr_tables(runs)
    bottom = [0.0] * len(runs)
    for t in tables:
        v = [r["tables"].get(t, {"bytes": 0})["bytes"] / r["rows"] for r in runs]
        store.bar([f"{mb(r['rows'])}" for r in runs], v, bottom=bottom, label=t)
        bottom = [b + y for b, y in zip(bottom, v)]
    for i, r in enumerate(runs):
        if r.get("insert_rows_per_s"):
            store.annotate(f"{r['insert_rows_per_s'] / 1e3:.0f}k rows/s", (i, bottom[i]), ha="center",
                           va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    store.set_ylabel("bytes on disk per CDR")
    store.set_title("storage per CDR by table; insert rate of the increment", fontsize=10)
    store.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"cdrstats scale curve — realistic profile + hot account, 24 h, account 1 — "
                 f"{time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} CPUs", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
