"""Tests for the local engine (engine/chdb_http.py).

Run from the repo root:  .venv/bin/python -m unittest engine/test_engine.py
Starts the engine on a free port with a temporary data dir.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE = os.path.join(HERE, "chdb_http.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rowbinary_row(a, s):
    b = s.encode()
    return struct.pack("<I", a) + bytes([len(b)]) + b  # len < 128 -> 1-byte varint


def native_lz4_block(raw):
    import lz4.block
    comp = lz4.block.compress(raw, store_size=False)
    # zero checksum: the engine does not verify CityHash128
    return b"\0" * 16 + bytes([0x82]) + struct.pack("<II", len(comp) + 9, len(raw)) + comp


class EngineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="engine-test-")
        cls.port = free_port()
        env = dict(os.environ, ENGINE_POOL="8")
        env.pop("ENGINE_PASSWORD", None)
        env.pop("ENGINE_USER", None)
        cls.log = open(os.path.join(cls.tmp, "engine.log"), "wb")
        cls.proc = subprocess.Popen(
            [sys.executable, ENGINE, "--listen", "127.0.0.1:%d" % cls.port,
             "--data-dir", cls.tmp], stdout=cls.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while True:
            try:
                st, body, _ = cls.req("GET", "/ping")
                if st == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or cls.proc.poll() is not None:
                raise RuntimeError("engine did not start")
            time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        try:
            cls.proc.wait(20)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def req(cls, method, path, body=None, headers=None, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", cls.port, timeout=60)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, data, r
        finally:
            if conn is None:
                c.close()

    def q(self, sql, params="", **kw):
        return self.req("POST", "/?" + params, sql.encode(), **kw)

    def ok(self, sql, params=""):
        st, body, r = self.q(sql, params)
        self.assertEqual(st, 200, body)
        return body

    # ------------------------------------------------------------------
    def test_ping(self):
        st, body, _ = self.req("GET", "/ping")
        self.assertEqual((st, body), (200, b"Ok.\n"))
        st, body, _ = self.req("GET", "/")
        self.assertEqual((st, body), (200, b"Ok.\n"))

    def test_query_in_body_and_url(self):
        st, body, r = self.q("SELECT 1 + 1")
        self.assertEqual((st, body), (200, b"2\n"))
        self.assertEqual(r.getheader("X-ClickHouse-Format"), "TabSeparated")
        summary = json.loads(r.getheader("X-ClickHouse-Summary"))
        self.assertIn("read_rows", summary)
        self.assertIsInstance(summary["elapsed_ns"], str)
        self.assertTrue(r.getheader("X-ClickHouse-Query-Id"))
        st, body, _ = self.req("GET", "/?query=" + urllib.parse.quote("SELECT 40 + 2"))
        self.assertEqual((st, body), (200, b"42\n"))
        # query param + body are concatenated
        st, body, _ = self.req("POST", "/?query=" + urllib.parse.quote("SELECT"), b" 7")
        self.assertEqual((st, body), (200, b"7\n"))

    def test_default_format_and_query_id(self):
        st, body, r = self.q("SELECT 1 AS x", "default_format=JSONEachRow&query_id=my-q-1")
        self.assertEqual(body, b'{"x":1}\n')
        self.assertEqual(r.getheader("X-ClickHouse-Query-Id"), "my-q-1")
        self.assertEqual(r.getheader("X-ClickHouse-Format"), "JSONEachRow")
        st, body, r = self.q("SELECT 1 AS x FORMAT CSV", "default_format=JSONEachRow")
        self.assertEqual(body, b"1\n")
        self.assertEqual(r.getheader("X-ClickHouse-Format"), "CSV")
        st, body, r = self.q("SELECT 1 AS x, 'a' AS s", "default_format=RowBinaryWithNamesAndTypes")
        self.assertEqual(body, b"\x02\x01x\x01s\x05UInt8\x06String\x01\x01a")

    def test_params_url_and_multipart(self):
        sql = urllib.parse.quote("SELECT {x:UInt32} * 2, {s:String}")
        st, body, _ = self.req("GET", "/?query=%s&param_x=21&param_s=hi" % sql)
        self.assertEqual((st, body), (200, b"42\thi\n"))
        boundary = "clickhouse-rs-boundary-0123456789abcdef"
        parts = [("query", "SELECT {x:UInt32} + 1, {s:String}"), ("param_x", "41"),
                 ("param_s", "multi")]
        mp = "".join('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                     % (boundary, n, v) for n, v in parts) + "--%s--\r\n" % boundary
        st, body, _ = self.req("POST", "/?default_format=TabSeparated", mp.encode(),
                               {"Content-Type": "multipart/form-data; boundary=" + boundary})
        self.assertEqual((st, body), (200, b"42\tmulti\n"))

    def test_settings_in_url_are_per_request(self):
        st, body, r = self.q("SELECT number FROM numbers(2)",
                             "max_result_rows=1&result_overflow_mode=throw")
        self.assertNotEqual(st, 200)
        self.assertIn(b"Code: 396.", body)
        self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "396")
        self.assertEqual(self.ok("SELECT getSetting('max_threads')", "max_threads=3"), b"3\n")
        # no leak into later requests (all pooled connections)
        for _ in range(10):
            self.assertEqual(self.ok("SELECT number FROM numbers(2)"), b"0\n1\n")
            self.assertNotEqual(self.ok("SELECT getSetting('max_threads')"), b"3\n")
        # a connection that keeps its settings still applies each request's own values
        for v in ("3", "5", "3", "7"):
            self.assertEqual(self.ok("SELECT getSetting('max_threads')", "max_threads=" + v),
                             v.encode() + b"\n")
        st, body, r = self.q("SELECT 1", "no_such_setting_xyz=1")
        self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "115")
        # readonly: writes rejected, later requests unaffected
        st, body, _ = self.q("CREATE TABLE ro_t (a UInt8) ENGINE=Memory", "readonly=1")
        self.assertIn(b"Code: 164.", body)
        self.ok("CREATE TABLE IF NOT EXISTS ro_ok (a UInt8) ENGINE=Memory")
        # ignored non-settings
        self.ok("SELECT 1", "compress=0&wait_end_of_query=1&session_id=x&"
                            "enable_http_compression=0&client_protocol_version=0")

    def test_get_is_readonly(self):
        st, body, _ = self.req("GET", "/?query=" + urllib.parse.quote(
            "CREATE TABLE get_t (a UInt8) ENGINE=Memory"))
        self.assertNotEqual(st, 200)
        self.assertIn(b"(READONLY)", body)

    def test_database_param(self):
        self.ok("CREATE DATABASE IF NOT EXISTS db_a")
        self.ok("CREATE TABLE db_a.only_here (a UInt8) ENGINE=MergeTree ORDER BY a")
        self.ok("INSERT INTO db_a.only_here VALUES (5)")
        self.assertEqual(self.ok("SELECT a FROM only_here", "database=db_a"), b"5\n")
        self.assertEqual(self.ok("SELECT currentDatabase()", "database=db_a"), b"db_a\n")
        for _ in range(10):
            self.assertEqual(self.ok("SELECT currentDatabase()"), b"default\n")
        st, body, r = self.q("SELECT 1", "database=no_such_db")
        self.assertEqual(st, 404)
        self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "81")

    def test_use_statement_does_not_leak(self):
        self.ok("CREATE DATABASE IF NOT EXISTS db_use")
        self.ok("USE db_use")
        for _ in range(10):
            self.assertEqual(self.ok("SELECT currentDatabase()"), b"default\n")

    def test_jsoneachrow_insert(self):
        self.ok("CREATE TABLE je (a UInt32, s String) ENGINE=MergeTree ORDER BY a")
        data = b'{"a":1,"s":"x"}\n{"a":2,"s":"y"}\n'
        st, body, r = self.req("POST", "/?query=" + urllib.parse.quote(
            "INSERT INTO je FORMAT JSONEachRow"), data)
        self.assertEqual(st, 200, body)
        self.assertEqual(json.loads(r.getheader("X-ClickHouse-Summary"))["written_rows"], "2")
        # inline data after FORMAT in the body
        st, body, _ = self.req("POST", "/", b'INSERT INTO je FORMAT JSONEachRow\n{"a":3,"s":"z"}')
        self.assertEqual(st, 200, body)
        # VALUES in the query param, data in the body
        st, body, _ = self.req("POST", "/?query=" + urllib.parse.quote("INSERT INTO je VALUES"),
                               b"(4,'w')")
        self.assertEqual(st, 200, body)
        self.ok("INSERT INTO je VALUES (5, 'v')")
        self.ok("INSERT INTO je SELECT 6, 'u'")
        self.assertEqual(self.ok("SELECT count(), sum(a) FROM je"), b"6\t21\n")
        # bad data -> 400-ish error, nothing half-broken afterwards
        st, body, r = self.req("POST", "/?query=" + urllib.parse.quote(
            "INSERT INTO je FORMAT JSONEachRow"), b'{"a":"zz"}\n')
        self.assertNotEqual(st, 200)
        self.assertTrue(body.startswith(b"Code: "), body)
        self.assertEqual(self.ok("SELECT count() FROM je"), b"6\n")

    def test_rowbinary_lz4_chunked_insert(self):
        self.ok("CREATE TABLE rb (a UInt32, s String) ENGINE=MergeTree ORDER BY a")
        rows1 = b"".join(rowbinary_row(i, "r%d" % i) for i in range(1000))
        rows2 = b"".join(rowbinary_row(i, "r%d" % i) for i in range(1000, 1500))
        blocks = [native_lz4_block(rows1), native_lz4_block(rows2)]
        # split a block across HTTP chunks too
        pieces = [blocks[0][:10], blocks[0][10:], blocks[1]]
        path = "/?database=default&query=%s&decompress=1" % urllib.parse.quote(
            "INSERT INTO rb (a,s) FORMAT RowBinary")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request("POST", path, body=iter(pieces), encode_chunked=True,
                  headers={"Transfer-Encoding": "chunked"})
        r = c.getresponse()
        body = r.read()
        self.assertEqual(r.status, 200, body)
        # connection still usable
        st, body, _ = self.req("POST", "/", b"SELECT count(), sum(a) FROM rb", conn=c)
        self.assertEqual(body, b"1500\t%d\n" % sum(range(1500)))
        c.close()
        # uncompressed RowBinary with Content-Length
        st, body, _ = self.req("POST", "/?query=" + urllib.parse.quote(
            "INSERT INTO rb FORMAT RowBinary"), rowbinary_row(7, "seven"))
        self.assertEqual(st, 200, body)
        self.assertEqual(self.ok("SELECT count() FROM rb WHERE s = 'seven'"), b"1\n")

    def test_error_format(self):
        st, body, r = self.q("SELECT * FROM definitely_missing_table")
        self.assertEqual(st, 404)
        self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "60")
        self.assertRegex(body.decode(), r"^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) "
                                        r"\(version [0-9.]+\)\n$")
        self.assertEqual(int(r.getheader("Content-Length")), len(body))
        st, body, r = self.q("SELEC 1")
        self.assertEqual((st, r.getheader("X-ClickHouse-Exception-Code")), (400, "62"))
        st, body, r = self.q("SELECT throwIf(1)")
        self.assertEqual(st, 500)
        st, body, r = self.q("")
        self.assertEqual(st, 400)

    def test_auth(self):
        st, body, r = self.q("SELECT 1", headers={"X-ClickHouse-User": "default",
                                                  "X-ClickHouse-Key": "wrong"})
        self.assertEqual(st, 403)
        self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "516")
        self.assertIn(b"(AUTHENTICATION_FAILED)", body)
        bad = base64.b64encode(b"default:nope").decode()
        st, _, _ = self.q("SELECT 1", headers={"Authorization": "Basic " + bad})
        self.assertEqual(st, 403)
        st, _, _ = self.q("SELECT 1", "user=someone&password=")
        self.assertEqual(st, 403)
        good = base64.b64encode(b"default:").decode()
        st, _, _ = self.q("SELECT 1", headers={"Authorization": "Basic " + good})
        self.assertEqual(st, 200)
        st, _, _ = self.q("SELECT 1", headers={"X-ClickHouse-User": "default"})
        self.assertEqual(st, 200)
        st, _, _ = self.q("SELECT 1", "user=default&password=")
        self.assertEqual(st, 200)

    def test_keep_alive(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        st, body, _ = self.req("POST", "/", b"SELECT 1", conn=c)
        sock = c.sock
        self.assertIsNotNone(sock)
        # an error with an unread request body must not break the connection
        st, body, _ = self.req("POST", "/?query=" + urllib.parse.quote(
            "INSERT INTO missing_tbl FORMAT JSONEachRow"), b'{"a":1}\n' * 1000, conn=c)
        self.assertEqual(st, 404)
        st, body, _ = self.req("POST", "/", b"SELECT 2", conn=c)
        self.assertEqual((st, body), (200, b"2\n"))
        self.assertIs(c.sock, sock)
        c.close()

    def test_gzip_request_and_response(self):
        import gzip
        st, body, r = self.req("POST", "/?enable_http_compression=1", gzip.compress(b"SELECT 3"),
                               {"Content-Encoding": "gzip", "Accept-Encoding": "gzip"})
        self.assertEqual(st, 200)
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(gzip.decompress(body), b"3\n")
        # crate default: Accept-Encoding: lz4 without enable_http_compression -> plain
        st, body, r = self.req("POST", "/", b"SELECT 4", {"Accept-Encoding": "lz4"})
        self.assertEqual((body, r.getheader("Content-Encoding")), (b"4\n", None))

    def test_concurrent(self):
        n = 8
        results = [None] * n

        def worker(i):
            results[i] = self.q("SELECT sleep(1), %d" % i)[:2]

        t0 = time.time()
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.time() - t0
        for i, (st, body) in enumerate(results):
            self.assertEqual((st, body), (200, b"0\t%d\n" % i))
        self.assertLess(elapsed, 4.0, "queries were serialized")

    def test_a_heavy_query_past_max_execution_time_fails_with_159_from_the_engine(self):
        # A real heavy query; the engine itself (ClickHouse) stops it, nothing is simulated.
        t0 = time.time()
        st, body, r = self.q("SELECT count() FROM numbers(100000000000) WHERE NOT ignore(sipHash64(number))",
                             "max_execution_time=0.3")
        self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "159", body)
        self.assertIn(b"TIMEOUT_EXCEEDED", body)
        self.assertLess(time.time() - t0, 5.0)

    def test_a_second_running_query_with_the_same_id_fails_with_216(self):
        qid = "same-id-%d" % time.time_ns()
        first = {}

        def slow():
            first["r"] = self.q("SELECT sleep(1)", "query_id=" + qid)[:2]

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        st, body, r = self.q("SELECT 1", "query_id=" + qid)
        t.join()
        self.assertEqual(first["r"][0], 200, first["r"][1])
        self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "216", body)
        self.assertIn(b"is already running", body)
        # Once the first one finished, the id is free again.
        self.assertEqual(self.ok("SELECT 1", "query_id=" + qid), b"1\n")

    def test_readonly_is_honoured_as_a_server_does(self):
        self.ok("CREATE TABLE IF NOT EXISTS ro_t (x UInt8) ENGINE = Memory")
        for level in ("1", "2"):
            st, body, r = self.q("INSERT INTO ro_t VALUES (1)", "readonly=" + level)
            self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "164", body)
            st, body, r = self.q("DROP TABLE ro_t", "readonly=" + level)
            self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "164", body)
        # readonly = 2 still lets the request set other settings; reads work at both levels.
        self.assertEqual(self.ok("SELECT getSetting('max_threads')", "readonly=2&max_threads=3"),
                         b"3\n")
        self.assertEqual(self.ok("SELECT count() FROM ro_t", "readonly=1"), b"0\n")
        # A pooled connection left at readonly does not leak into the next request.
        for _ in range(10):
            self.ok("SELECT 1", "readonly=2&max_threads=2")
        self.ok("INSERT INTO ro_t VALUES (1)", "max_threads=2")
        self.assertEqual(self.ok("SELECT count() FROM ro_t"), b"1\n")
        # GET is read-only and may not lift it (ClickHouse 00372_readonly_http_get).
        q = urllib.parse.quote("INSERT INTO ro_t VALUES (2)")
        st, body, r = self.req("GET", "/?query=" + q)
        self.assertEqual(r.getheader("X-ClickHouse-Exception-Code"), "164", body)
        st, body, r = self.req("GET", "/?readonly=0&query=" + q)
        self.assertIn(b"Cannot modify 'readonly' setting in readonly mode", body)

if __name__ == "__main__":
    unittest.main()
