"""Real BI clients against the live gateway (format=rows, CSV, Basic auth), started by tests/bi/run.sh.

Drives shillelagh (the library Superset uses for HTTP sources), pandas, Python's csv module and
requests with the exact headers Excel / Power BI / Grafana send, over fixtures inserted here into
the real local engine. The recipes are read from docs/bi-recipes.md and run as written (with the
live gateway, a token and the fixture account put in). Expected numbers come from this file's own
arithmetic on the fixture rows (exact fractions, half away from zero), never from the gateway.
"""

import base64
import csv
import io
import json
import os
import re
import tempfile
import unittest
import urllib.parse
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import pandas as pd
import requests
import sqlalchemy
from shillelagh.adapters.api.generic_json import GenericJSONAPI
from shillelagh.backends.apsw.db import connect

GATEWAY = os.environ["BI_GATEWAY"]
ENGINE = os.environ["BI_ENGINE_URL"]
DATABASE = os.environ["BI_DATABASE"]
TOKEN = os.environ["BI_TOKEN"]
RECIPES = Path(__file__).resolve().parents[2] / "docs" / "bi-recipes.md"

CUSTOMER = 10
ACCOUNT, ACCOUNT_UUID = 101, "7c61877c-39c4-11f1-b6d8-82ad38f4dd55"
FOREIGN, FOREIGN_UUID = 201, "0b9f1c2e-0000-4000-8000-000000000201"
OTHER_CUSTOMER_ACCOUNT = 999
T0 = 1_734_699_960  # 2024-12-20T13:06:00Z
PREFIX = "/api/rest/customer/v1/"
# endpoint name -> (account column, counts only is_last_cdr)
QUALITY = {
    "termination-statistics-quality": ("vendor_acc_id", False),
    "origination-statistics-quality": ("customer_acc_id", True),
}
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def cdr(t, duration, customer=ACCOUNT, vendor=ACCOUNT, last=True):
    return {
        "time_start": t, "customer_acc_id": customer, "vendor_acc_id": vendor,
        "is_last_cdr": last, "duration": duration, "src_country_id": 1,
        "dst_country_id": 44, "src_prefix_routing": "1", "dst_prefix_routing": "4420",
        "auth_orig_ip": "192.0.2.1", "customer_price": 0.012, "vendor_price": 0.01,
    }


def fixture_cdrs():
    rows = []
    # The contract's seed example: 150/120/180 calls, 130/100/150 answered, 650/480/720 s.
    for minute, calls, answered, seconds in [(0, 150, 130, 650), (1, 120, 100, 480), (2, 180, 150, 720)]:
        for i in range(calls):
            duration = seconds // answered + (i < seconds % answered) if i < answered else 0
            rows.append(cdr(T0 + 60 * minute + i % 60, duration))
    # Earlier routing attempts of A as vendor (counted by termination only), for another customer.
    rows += [cdr(T0 + 7, 0, customer=OTHER_CUSTOMER_ACCOUNT, last=False) for _ in range(30)]
    # Later the same day: 7 calls, 3 answered (10 + 20 + 31 s) — acd 20.33, asr 42.86.
    rows += [cdr(T0 + 5040 + i, d) for i, d in enumerate([10, 20, 31, 0, 0, 0, 0])]
    # Another customer's account: must never show up.
    rows += [cdr(T0 + 60, 5, customer=FOREIGN, vendor=FOREIGN) for _ in range(50)]
    return rows


FIXTURE = fixture_cdrs()

# The breakdown's own account and day, so the series tests above never see these CDRs: per
# destination country, (calls, answered); failures answer 486, answered calls 200.
BREAKDOWN_ACCOUNT, BREAKDOWN_UUID = 102, "7c61877c-39c4-11f1-b6d8-82ad38f4dd56"
T1 = T0 + 86_400
BREAKDOWN_MIX = {44: (12, 7), 49: (7, 1), 33: (3, 3), 1: (4, 0)}


def breakdown_cdrs():
    rows = []
    for country, (calls, answered) in BREAKDOWN_MIX.items():
        for i in range(calls):
            row = cdr(T1 + i, 30 if i < answered else 0, customer=BREAKDOWN_ACCOUNT, vendor=BREAKDOWN_ACCOUNT)
            ok = i < answered
            row.update({"dst_country_id": country, "legb_disconnect_code": 200 if ok else 486,
                        "legb_disconnect_reason": "OK" if ok else "Busy Here", "pdd": 2.5})
            rows.append(row)
    return rows


def engine(sql, body=None):
    resp = requests.post(f"{ENGINE}/", params={"query": sql, "database": DATABASE}, data=body, timeout=30)
    resp.raise_for_status()
    return resp.text


def insert(table, rows):
    engine(f"INSERT INTO {table} FORMAT JSONEachRow", "\n".join(json.dumps(r) for r in rows))


def setUpModule():
    insert("accounts", [
        {"id": ACCOUNT, "uuid": ACCOUNT_UUID, "contractor_id": CUSTOMER, "name": "A"},
        {"id": FOREIGN, "uuid": FOREIGN_UUID, "contractor_id": CUSTOMER + 1, "name": "F"},
        {"id": BREAKDOWN_ACCOUNT, "uuid": BREAKDOWN_UUID, "contractor_id": CUSTOMER, "name": "B"},
    ])
    insert("api_access", [{"id": 1, "customer_id": CUSTOMER, "login": "bi", "account_ids": [], "allowed_ips": []}])
    insert("cdrs", FIXTURE)
    insert("cdrs", breakdown_cdrs())


# --- the test's own arithmetic -----------------------------------------------------------------

def rounded(num, den):
    """num/den to 2 places, half away from zero (non-negative inputs), as an exact Fraction."""
    x = Fraction(num, den) * 100
    return Fraction(int(x + Fraction(1, 2)), 100)


def text(value):
    """The contract's decimal text: 5.0, 4.8, 86.67."""
    if value is None:
        return None
    s = f"{float(value):.2f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def expected(endpoint, first, last, step, to_time=None):
    """Buckets first..last (inclusive, step seconds) of ACCOUNT: t, total_calls, acd, asr, cps.
    CDRs after `to_time` (default: the end of the last bucket) are not counted."""
    column, last_only = QUALITY[endpoint]
    until = last + step - 1 if to_time is None else to_time
    rows = [r for r in FIXTURE if r[column] == ACCOUNT and (r["is_last_cdr"] or not last_only)
            and r["time_start"] <= until]
    out = []
    for b in range(first, last + 1, step):
        inside = [r for r in rows if b <= r["time_start"] < b + step]
        answered = [r["duration"] for r in inside if r["duration"] > 0]
        out.append({
            "t": b,
            "time": datetime.fromtimestamp(b, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "total_calls": len(inside),
            "acd": rounded(sum(answered), len(answered)) if answered else None,
            "asr": rounded(100 * len(answered), len(inside)) if inside else None,
            "cps": rounded(len(inside), step),
        })
    return out


def as_float(value):
    return None if value is None else float(value)


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def url(endpoint, first, last, sampling, fmt):
    query = urllib.parse.urlencode({
        "account-id": ACCOUNT_UUID, "from-time": iso(first), "to-time": iso(last),
        "sampling": sampling, "format": fmt,
    })
    return f"{GATEWAY}{PREFIX}{endpoint}?{query}"


def recipe(name):
    """A code block of docs/bi-recipes.md marked `<!-- bi-recipe: name -->`, made live."""
    found = re.search(rf"<!-- bi-recipe: {re.escape(name)} -->\n```[a-z]*\n(.*?)```", RECIPES.read_text(), re.S)
    if not found:
        raise AssertionError(f"docs/bi-recipes.md has no bi-recipe {name}")
    return (found.group(1).strip().replace("http://gateway:8080", GATEWAY)
            .replace("<token>", TOKEN).replace("<account-uuid>", ACCOUNT_UUID))


def shillelagh_connection(headers=BEARER):
    # cache_expiration -1: no HTTP cache between tests (each query sees the gateway's answer).
    return connect(":memory:", adapter_kwargs={
        "genericjsonapi": {"request_headers": headers, "cache_expiration": -1}})


def statistics_endpoints():
    """Every endpoint whose OpenAPI description offers format=rows (new ones join by themselves)."""
    doc = requests.get(f"{GATEWAY}/openapi.json", timeout=10).json()
    found = {}
    for path, item in doc["paths"].items():
        params = {p["name"]: p for p in item.get("get", {}).get("parameters", [])}
        if "rows" in params.get("format", {}).get("schema", {}).get("enum", []):
            found[path.removeprefix(PREFIX)] = params
    return found


# --- the tests ---------------------------------------------------------------------------------

class Shillelagh(unittest.TestCase):
    """shillelagh 1.4.5's generic JSON adapter over format=rows, token in a request header."""

    def test_sql_over_rows_of_each_quality_endpoint_gives_the_fixture_numbers(self):
        first, last = T0 - 60, T0 + 240
        for endpoint in QUALITY:
            want = expected(endpoint, first, last, 60)
            source = url(endpoint, first, last, "minute", "rows")
            cursor = shillelagh_connection().cursor()
            got = cursor.execute(f'SELECT t, time, total_calls, acd, asr, cps FROM "{source}" ORDER BY t').fetchall()
            self.assertEqual(got, [(w["t"], w["time"], w["total_calls"], as_float(w["acd"]),
                                    as_float(w["asr"]), float(w["cps"])) for w in want], endpoint)

            busy = [w for w in want if w["total_calls"] > 0]
            got = cursor.execute(
                f'SELECT time, asr FROM "{source}" WHERE total_calls > 0 AND asr > 83.5 ORDER BY asr DESC, t').fetchall()
            self.assertEqual(got, sorted(((w["time"], float(w["asr"])) for w in busy if w["asr"] > Fraction(835, 10)),
                                         key=lambda r: -r[1]), endpoint)

            (n, calls, best, worst_acd), = cursor.execute(
                f'SELECT COUNT(*), SUM(total_calls), MAX(asr), MIN(acd) FROM "{source}"').fetchall()
            self.assertEqual(n, len(want))
            self.assertEqual(calls, sum(w["total_calls"] for w in want))
            self.assertEqual(best, float(max(w["asr"] for w in busy)))
            self.assertEqual(worst_acd, float(min(w["acd"] for w in busy)))
        # The two endpoints differ where the fixture says they must (30 earlier attempts).
        self.assertEqual(expected("termination-statistics-quality", T0, T0, 60)[0]["total_calls"], 180)
        self.assertEqual(expected("origination-statistics-quality", T0, T0, 60)[0]["total_calls"], 150)

    def test_the_readme_superset_recipe_runs_through_sqlalchemy_as_superset_does(self):
        params = json.loads(recipe("superset-engine-params"))
        params["connect_args"]["adapter_kwargs"]["genericjsonapi"]["cache_expiration"] = -1
        db = sqlalchemy.create_engine("shillelagh://", **params)
        with db.connect() as conn:
            got = conn.execute(sqlalchemy.text(recipe("superset-query"))).fetchall()
        hour = expected("termination-statistics-quality", T0 - 360, T0 - 360 + 3540, 60)
        busy = [w for w in hour if w["total_calls"] > 0]
        # ORDER BY asr DESC leaves ties in any order: compare as sets, then check the order.
        self.assertEqual(sorted(tuple(r) for r in got),
                         sorted((w["time"], w["total_calls"], float(w["asr"]), as_float(w["acd"])) for w in busy))
        self.assertEqual([r[2] for r in got], sorted((r[2] for r in got), reverse=True))
        self.assertEqual(len(got), 3)

    def test_the_json_adapter_recognises_the_endpoint_with_a_head_probe(self):
        source = url("termination-statistics-quality", T0, T0 + 120, "minute", "rows")
        self.assertTrue(GenericJSONAPI.supports(source, fast=False, request_headers=BEARER, cache_expiration=-1))

    def test_the_csv_adapter_reads_the_csv_body(self):
        # The adapter cannot send the token (it sends no headers), so download, then query the file:
        # this is the parse that failed before (QUOTE_NONNUMERIC with an unquoted header and time).
        endpoint = "origination-statistics-quality"
        body = requests.get(url(endpoint, T0, T0 + 120, "minute", "csv"), headers=BEARER, timeout=10)
        self.assertEqual(body.status_code, 200)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "stats.csv"
            path.write_bytes(body.content)
            cursor = connect(":memory:").cursor()
            got = cursor.execute(f'SELECT time, total_calls, asr FROM "{path}" ORDER BY t').fetchall()
        # to-time is 13:08:00 sharp: the last bucket holds only the CDRs of that second.
        want = expected(endpoint, T0, T0 + 120, 60, to_time=T0 + 120)
        self.assertEqual(want[2]["total_calls"], 3)
        # QUOTE_NONNUMERIC reads every bare number as a float.
        self.assertEqual(got, [(w["time"], float(w["total_calls"]), float(w["asr"])) for w in want])

    def test_without_the_header_the_gateway_answers_401_with_no_body(self):
        resp = requests.get(url("termination-statistics-quality", T0, T0, "minute", "rows"), timeout=10)
        self.assertEqual((resp.status_code, resp.content), (401, b""))
        with self.assertRaises(Exception):
            shillelagh_connection(headers={}).cursor().execute(
                f'SELECT * FROM "{url("termination-statistics-quality", T0, T0, "minute", "rows")}"').fetchall()


class Breakdown(unittest.TestCase):
    """A destination breakdown in format=rows, queried with SQL through shillelagh."""

    def source(self, by):
        query = urllib.parse.urlencode({
            "account-id": BREAKDOWN_UUID, "from-time": iso(T1), "to-time": iso(T1 + 3599),
            "by": by, "format": "rows",
        })
        return f"{GATEWAY}{PREFIX}termination-breakdown?{query}"

    def test_sql_over_a_country_breakdown_orders_countries_by_failed_calls(self):
        cursor = shillelagh_connection().cursor()
        got = cursor.execute(
            f'SELECT dst_country_id, failed_calls, total_calls, asr FROM "{self.source("dst-country")}" '
            "WHERE dst_country_id IS NOT NULL ORDER BY failed_calls DESC, dst_country_id").fetchall()
        want = sorted(((c, n - a, n, float(rounded(100 * a, n))) for c, (n, a) in BREAKDOWN_MIX.items()),
                      key=lambda r: (-r[1], r[0]))
        self.assertEqual(got, want)

    def test_sql_over_a_disconnect_code_breakdown_sums_by_code_and_reason(self):
        cursor = shillelagh_connection().cursor()
        got = cursor.execute(
            f'SELECT disconnect_code, disconnect_reason, total_calls, pdd FROM "{self.source("disconnect-code")}" '
            "ORDER BY disconnect_code").fetchall()
        answered = sum(a for _, a in BREAKDOWN_MIX.values())
        failed = sum(n - a for n, a in BREAKDOWN_MIX.values())
        self.assertEqual(got, [(200, "OK", answered, 2.5), (486, "Busy Here", failed, 2.5)])


class Pandas(unittest.TestCase):
    """pandas read_json / read_csv with the token in storage_options (sent as HTTP headers)."""

    def test_the_readme_pandas_recipe_reads_rows_and_csv_with_the_same_numbers(self):
        scope = {}
        exec(recipe("pandas"), scope)  # noqa: S102 — the documented code, run as written
        want = expected("origination-statistics-quality", T0 - 360, T0 - 360 + 3540, 60)
        for name in ("rows", "csv"):
            df = scope[name]
            self.assertEqual(list(df.columns), ["t", "time", "total_calls", "acd", "asr", "cps"], name)
            self.assertEqual(len(df), 60, name)
            self.assertEqual(df["t"].tolist(), [w["t"] for w in want], name)
            self.assertTrue(pd.api.types.is_datetime64_any_dtype(df["time"]), name)
            self.assertEqual(df["time"].iloc[6], pd.Timestamp("2024-12-20T13:06:00Z"), name)
            self.assertEqual(df["total_calls"].tolist(), [w["total_calls"] for w in want], name)
            for col in ("acd", "asr", "cps"):
                self.assertEqual(df[col].dtype, "float64", f"{name} {col}")
                got = [None if pd.isna(v) else v for v in df[col].tolist()]
                self.assertEqual(got, [as_float(w[col]) for w in want], f"{name} {col}")
            self.assertEqual(df["total_calls"].sum(), 450, name)
            self.assertEqual(df["asr"].max(), 86.67, name)


class Spreadsheets(unittest.TestCase):
    """What Excel / Power BI "From Web" send: the recipe's CSV URL with Basic auth."""

    def basic(self):
        return requests.get(recipe("excel-url"), auth=("excel-user", TOKEN), timeout=10)

    def test_excel_recipe_with_basic_auth_reads_with_the_csv_module(self):
        resp = self.basic()
        self.assertEqual(resp.status_code, 200)
        self.assertTrue(resp.headers["content-type"].startswith("text/csv"))
        self.assertTrue(resp.text.endswith("\r\n"))
        want = expected("termination-statistics-quality", 1_734_652_800, 1_734_739_200, 3600)
        got = list(csv.DictReader(io.StringIO(resp.text)))
        self.assertEqual(got, [{
            "t": str(w["t"]), "time": w["time"], "total_calls": str(w["total_calls"]),
            "acd": text(w["acd"]) or "", "asr": text(w["asr"]) or "", "cps": text(w["cps"]),
        } for w in want])
        thirteen = got[13]
        self.assertEqual((thirteen["total_calls"], thirteen["acd"], thirteen["asr"]), ("480", "4.87", "79.17"))
        fourteen = got[14]
        self.assertEqual((fourteen["total_calls"], fourteen["acd"], fourteen["asr"]), ("7", "20.33", "42.86"))

    def test_csv_reads_with_quote_nonnumeric_typing_numbers_and_text(self):
        rows = list(csv.reader(io.StringIO(self.basic().text), quoting=csv.QUOTE_NONNUMERIC))
        self.assertEqual(rows[0], ["t", "time", "total_calls", "acd", "asr", "cps"])
        self.assertEqual(rows[15], [1_734_703_200.0, "2024-12-20T14:00:00Z", 7.0, 20.33, 42.86, 0.0])
        self.assertEqual(rows[1][3:5], ["", ""])  # an empty hour: null acd and asr

    def test_basic_with_a_wrong_token_is_401_with_no_body(self):
        resp = requests.get(recipe("excel-url"), auth=("excel-user", TOKEN[:-2] + "xx"), timeout=10)
        self.assertEqual((resp.status_code, resp.content), (401, b""))


class Grafana(unittest.TestCase):
    """Grafana Infinity cannot run here: its HTTP exchange (the recipe URL, bearer token) is checked."""

    def test_grafana_recipe_url_with_its_iso_dates_gives_rows(self):
        live = (recipe("grafana-url").strip()
                .replace("${__from:date:iso}", "2024-12-20T13:00:00.000Z")
                .replace("${__to:date:iso}", "2024-12-20T14:00:00.000Z"))
        resp = requests.get(live, headers=BEARER, timeout=10)
        self.assertEqual(resp.status_code, 200)
        want = expected("termination-statistics-quality", T0 - 360, T0 - 360 + 3600, 300)
        self.assertEqual(resp.json(), [{
            "t": w["t"], "time": w["time"], "total_calls": w["total_calls"],
            "acd": as_float(w["acd"]), "asr": as_float(w["asr"]), "cps": float(w["cps"]),
        } for w in want])


class EveryStatisticsEndpoint(unittest.TestCase):
    """format=rows on every endpoint the gateway documents with format=rows, whatever its shape."""

    def test_rows_csv_and_head_agree_with_the_document(self):
        endpoints = statistics_endpoints()
        self.assertTrue(set(QUALITY) <= set(endpoints), endpoints.keys())
        for endpoint, params in endpoints.items():
            query = {"account-id": ACCOUNT_UUID, "from-time": iso(T0 - 60), "to-time": iso(T0 + 179)}
            if "sampling" in params:
                query["sampling"] = "minute"
            if "by" in params:
                query["by"] = "dst-country"
            base = f"{GATEWAY}{PREFIX}{endpoint}?{urllib.parse.urlencode(query)}"
            doc = requests.get(base, headers=BEARER, timeout=10).json()
            rows = requests.get(base + "&format=rows", headers=BEARER, timeout=10).json()
            table = list(csv.reader(io.StringIO(
                requests.get(base + "&format=csv", headers=BEARER, timeout=10).text)))
            self.assertEqual(len(rows), doc["rows"], endpoint)
            self.assertTrue(table and table[0], f"{endpoint}: CSV always has its header row")
            self.assertEqual(len(table) - 1, len(rows), endpoint)
            if rows:
                self.assertEqual(table[0], list(rows[0]), endpoint)
            if isinstance(doc["data"], list):
                # A list-shaped document (outgoing-active-calls): its rows are the data itself.
                self.assertEqual(rows, doc["data"], endpoint)
                continue
            for i, row in enumerate(rows):
                if "t" in row:
                    self.assertEqual(row["time"], iso(row["t"]), endpoint)
                for column, values in doc["data"].items():
                    shown = values[i]
                    self.assertEqual(row[column], None if shown is None else type(row[column])(shown),
                                     f"{endpoint} {column} {i}")
                    self.assertEqual(table[i + 1][list(rows[0]).index(column)],
                                     "" if shown is None else str(shown), f"{endpoint} csv {column} {i}")
            for fmt in ("", "&format=rows", "&format=csv"):
                head = requests.head(base + fmt, headers=BEARER, timeout=10)
                get = requests.get(base + fmt, headers=BEARER, timeout=10)
                self.assertEqual(head.status_code, 200, endpoint + fmt)
                self.assertEqual(head.content, b"")
                self.assertEqual(head.headers["content-length"], str(len(get.content)), endpoint + fmt)
                self.assertEqual(head.headers["etag"], get.headers["etag"], endpoint + fmt)

    def test_basic_auth_works_on_every_endpoint_and_tokens_in_urls_do_not(self):
        header = "Basic " + base64.b64encode(f"powerbi:{TOKEN}".encode()).decode()
        for endpoint, params in statistics_endpoints().items():
            query = f"account-id={ACCOUNT_UUID}&from-time={iso(T0)}&to-time={iso(T0 + 59)}&sampling=minute"
            if "by" in params:
                query += "&by=dst-country"
            ok = requests.get(f"{GATEWAY}{PREFIX}{endpoint}?{query}", headers={"Authorization": header}, timeout=10)
            self.assertEqual(ok.status_code, 200, endpoint)
            in_url = requests.get(f"{GATEWAY}{PREFIX}{endpoint}?{query}&token={TOKEN}&access_token={TOKEN}", timeout=10)
            self.assertEqual(in_url.status_code, 401, endpoint)


class ChartPage(unittest.TestCase):
    """The gateway runs from an empty directory: the page can only come from inside the binary."""

    def test_the_dashboard_and_uplot_are_served_by_the_binary_alone(self):
        page = requests.get(f"{GATEWAY}/dashboard/", timeout=10)
        self.assertEqual(page.status_code, 200)
        self.assertIn('src="vendor/uplot/uPlot.iife.min.js"', page.text)
        lib = requests.get(f"{GATEWAY}/dashboard/vendor/uplot/uPlot.iife.min.js", timeout=10)
        self.assertEqual(lib.status_code, 200)
        vendored = Path(__file__).resolve().parents[2] / "dashboard/src/vendor/uplot/uPlot.iife.min.js"
        self.assertEqual(lib.content, vendored.read_bytes())
        self.assertEqual(requests.head(f"{GATEWAY}/dashboard/", timeout=10).status_code, 200)


if __name__ == "__main__":
    unittest.main()
