"""Turns the JSON files of one bench/run.sh run into a Markdown report and a PNG chart.

Usage: python bench/report.py RUN_DIR RESULTS_DIR
Writes RESULTS_DIR/<YYYY-MM-DD>-<HHMM>.md, RESULTS_DIR/latest.md, RESULTS_DIR/latest.png and
prints the Markdown to stdout.
"""

import json
import os
import shutil
import sys

SCENARIOS = [
    ("baseline", "Baseline: straightforward SQL on raw cdrs, direct to engine", 1),
    ("gateway_sql", "Gateway's SQL for (A), direct to engine", 1),
    ("A", "(A) 24 h by minute, no filters, no-cache", 1),
    ("B", "(B) (A) + dst-country-id, no-cache", 1),
    ("C", "(C) (A) + dst-prefix-routing-starts-with, no-cache", 1),
    ("D", "(D) (A) + duration-gt=60 (raw path), no-cache", 1),
    ("E", "(E) cache hit, 64 connections", 64),
    ("F", "(F) incremental polling (from-time moves)", 1),
]


def load(run_dir, name):
    path = os.path.join(run_dir, name + ".json")
    with open(path) as f:
        return json.load(f)


def fmt_ms(v):
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def main():
    run_dir, out_dir = sys.argv[1], sys.argv[2]
    meta = load(run_dir, "meta")
    r = {name: load(run_dir, name) for name, _, _ in SCENARIOS}

    lines = []
    w = lines.append
    w(f"# cdrstats benchmark — {meta['date']}")
    w("")
    w(
        f"Machine: {meta['nproc']} CPUs ({meta['cpu']}), {meta['mem_gib']} GiB RAM; "
        f"load average {meta['loadavg']} before the scenarios, {meta['loadavg_end']} after; gateway, local engine (chdb) and wrk share it. Commit `{meta['git']}`, wrk {meta['wrk']}."
    )
    w(
        f"Dataset: {meta['rows']:,} CDRs (target {meta['bench_rows']:,}), hot account 1: "
        f"{meta['hot_rows']:,} termination rows; data ends {meta['data_end']}. "
        f"Window (A)–(E): {meta['window']}, sampling minute (1440 buckets); "
        f"filters: dst-country-id={meta['country']}, dst-prefix-routing-starts-with={meta['prefix']}."
    )
    w(
        f"Each scenario: {meta['warmup_s']} s warm-up, then {meta['duration_s']} s measured "
        f"(wrk, keep-alive). Latencies in ms."
    )
    if max(float(meta["loadavg"].split()[0]), float(meta["loadavg_end"].split()[0])) > meta["nproc"] / 2:
        w("")
        w(
            "**Note:** other processes were busy on this machine during the run (load average "
            "above); latencies are noisier and ratios less reliable than on an idle machine."
        )
    if meta["stale_s"] > 3600:
        w("")
        w(
            f"**Note:** the data ended {meta['stale_s'] // 3600} h before this run, so (F) polled a "
            "window that is partly empty (re-run with BENCH_RESEED=1)."
        )
    w("")
    w("| scenario | conns | p50 | p90 | p99 | req/s | errors / non-2xx | answered from | engine p50 × queries |")
    w("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, label, conns in SCENARIOS:
        x = r[name]
        src = ", ".join(f"{k} {v}" for k, v in sorted(x["sources"].items())) or "—"
        if name in ("baseline", "gateway_sql"):
            src = "engine"
        elif name == "E":
            src = "cache (sampled)"
        w(
            f"| {label} | {conns} | {fmt_ms(x['p50_ms'])} | {fmt_ms(x['p90_ms'])} | "
            f"{fmt_ms(x['p99_ms'])} | {x['rps']:,.0f} | {x['errors']} / {x['non2xx']} | {src} | "
            + (f"{fmt_ms(x['engine_p50_ms'])} × {x['engine_queries']:,}" if x.get("engine_queries") else "—")
            + " |"
        )
    w("")
    w(
        "*engine p50 × queries*: the local engine's own execution time (its log) for the queries "
        "it received during the measured seconds — what is left of a gateway p50 above it is "
        "HTTP, decoding and JSON in the gateway and wrk."
    )
    w("")
    rss_b, rss_a, peak = (meta[k] / 1024 for k in ("rss_before_kb", "rss_after_kb", "rss_peak_kb"))
    w(
        f"Gateway RSS around (E): {rss_b:.1f} MiB before, {rss_a:.1f} MiB after "
        f"(peak over the whole run {peak:.1f} MiB). (F): sample request answered from "
        f"`{meta['f_sample']}`, {meta['f_queries']} ClickHouse queries for {r['F']['requests']:,} "
        f"requests. Coalescing: 100 concurrent identical cold requests → "
        f"{meta['coalesce_queries']} ClickHouse quer{'y' if meta['coalesce_queries'] == 1 else 'ies'} "
        f"(responses: {', '.join(f'{k} ×{v}' for k, v in meta['coalesce_responses'].items())})."
    )
    w("")

    base = r["baseline"]["p50_ms"]
    a = r["A"]["p50_ms"]
    overhead = a - r["gateway_sql"]["p50_ms"]
    errors = sum(r[n]["errors"] + r[n]["non2xx"] for n, _, _ in SCENARIOS)
    checks = [
        ("(A) p50", "≤ 10 ms", f"{a:.3f} ms", a <= 10),
        ("baseline p50 / (A) p50", "≥ 10×", f"{base / a:.1f}×", base / a >= 10),
        ("baseline p50 / (B) p50", "≥ 5×", f"{base / r['B']['p50_ms']:.1f}×",
         base / r["B"]["p50_ms"] >= 5),
        ("baseline p50 / (C) p50", "≥ 5×", f"{base / r['C']['p50_ms']:.1f}×",
         base / r["C"]["p50_ms"] >= 5),
        ("(D) p50 vs baseline p50", "no slower (≥ 1×)", f"{base / r['D']['p50_ms']:.2f}×",
         r["D"]["p50_ms"] <= base),
        ("gateway overhead at p50: (A) − gateway SQL direct", "≤ 0.5 ms", f"{overhead:.3f} ms",
         overhead <= 0.5),
        ("(A) p50 / (F) p50", "≥ 5×", f"{a / r['F']['p50_ms']:.1f}×", a / r["F"]["p50_ms"] >= 5),
        ("(E) throughput", "≥ 15 000 req/s", f"{r['E']['rps']:,.0f} req/s", r["E"]["rps"] >= 15000),
        ("(E) gateway RSS after", "≤ 100 MB", f"{meta['rss_after_kb'] * 1024 / 1e6:.1f} MB",
         meta["rss_after_kb"] * 1024 <= 100e6),
        ("coalescing: queries for 100 identical cold requests", "= 1",
         str(meta["coalesce_queries"]), meta["coalesce_queries"] == 1),
        ("errors and non-2xx over all scenarios", "0", str(errors), errors == 0),
    ]
    a_engine = r["A"].get("engine_p50_ms")
    w("| target check (same run) | target | measured | result |")
    w("|---|---|---:|---|")
    for label, target, measured, ok in checks:
        w(f"| {label} | {target} | {measured} | {'PASS' if ok else '**MISS**'} |")
    w("")
    w(f"Passed {sum(c[3] for c in checks)} of {len(checks)}. Chart: `latest.png`.")
    if a_engine:
        w("")
        w(
            f"Where (A)'s {a:.1f} ms go: the engine executed the gateway's queries in {a_engine:.1f} ms "
            f"(p50, its log; {r['gateway_sql']['engine_p50_ms']:.1f} ms for the same SQL sent "
            f"directly); {a - a_engine:.1f} ms are outside the engine (HTTP both ways, decoding, "
            f"JSON)."
        )
    md = "\n".join(lines) + "\n"

    os.makedirs(out_dir, exist_ok=True)
    dated = os.path.join(out_dir, meta["stamp"] + ".md")
    with open(dated, "w") as f:
        f.write(md)
    shutil.copyfile(dated, os.path.join(out_dir, "latest.md"))
    chart(r, meta, os.path.join(out_dir, "latest.png"))
    sys.stdout.write(md)
    print(f"\nwritten: {dated}, {out_dir}/latest.md, {out_dir}/latest.png")


def chart(r, meta, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, _, _ in SCENARIOS]
    labels = {
        "baseline": "baseline\n(raw SQL)",
        "gateway_sql": "gateway SQL\ndirect",
        "A": "(A) no filter",
        "B": "(B) country",
        "C": "(C) prefix",
        "D": "(D) duration\n(raw)",
        "E": "(E) cache hit\n64 conns",
        "F": "(F) incremental",
    }
    p50 = [r[n]["p50_ms"] for n in names]
    p99 = [r[n]["p99_ms"] for n in names]
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    wdt = 0.38
    b1 = ax.bar([i - wdt / 2 for i in x], p50, wdt, label="p50", color="#3b75af")
    b2 = ax.bar([i + wdt / 2 for i in x], p99, wdt, label="p99", color="#ef8636")
    base = r["baseline"]["p50_ms"]
    ax.axhline(base, color="#c0392b", ls="--", lw=1, label=f"baseline p50 {base:.1f} ms")
    ax.axhline(base / 10, color="#7f8c8d", ls=":", lw=1, label="baseline p50 / 10 (target for A)")
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms (log scale)")
    ax.set_xticks(list(x))
    ax.set_xticklabels([f"{labels[n]}\n{r[n]['rps']:,.0f} req/s" for n in names], fontsize=8)
    for bars in (b1, b2):
        for b in bars:
            v = b.get_height()
            ax.annotate(f"{v:.2f}" if v < 10 else f"{v:.0f}", (b.get_x() + b.get_width() / 2, v),
                        ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                        textcoords="offset points")
    ax.set_title(
        f"cdrstats — {meta['rows'] / 1e6:.0f}M CDRs, 24 h by minute, account 1 "
        f"({meta['hot_rows'] / 1e6:.1f}M rows) — {meta['date']}, {meta['nproc']} CPUs",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
