#!/usr/bin/env python3
"""Local engine: a ClickHouse-compatible HTTP interface over in-process chdb.

For development, tests and demos only. Serves enough of the ClickHouse HTTP
protocol for curl and for the official Rust `clickhouse` crate (0.15.x) with
default settings:

  * POST/GET /            query in the body and/or in `query=`
  * `database`, `default_format`, `query_id`, `param_*` (URL or multipart),
    any other URL parameter is applied as a ClickHouse setting for that
    request only
  * INSERT ... FORMAT X with a streamed body (Content-Length or chunked),
    `decompress=1` (ClickHouse native LZ4 blocks), Content-Encoding gzip/deflate
  * /ping, ClickHouse-style errors, X-ClickHouse-* headers, auth
  * HTTP/1.1 keep-alive, concurrent requests over a pool of chdb connections

Usage: python engine/chdb_http.py --listen 127.0.0.1:8123 --data-dir data/engine
"""

import argparse
import base64
import contextlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import _chdb

try:
    import lz4.block as lz4_block
except ImportError:  # pragma: no cover - decompress=1 will then fail cleanly
    lz4_block = None

VERSION = "26.9.0"
READ_CHUNK = 1 << 20          # bytes read from the socket at a time
INSERT_FLUSH = 1 << 20        # bytes buffered before insert_append()
HEAD_LIMIT = 1 << 20          # body bytes inspected to find INSERT ... FORMAT X

# URL parameters that are not ClickHouse settings (HTTP-interface knobs).
NON_SETTINGS = {
    "query", "database", "default_format", "query_id", "session_id",
    "session_timeout", "session_check", "user", "password", "quota_key",
    "role", "compress", "decompress", "enable_http_compression",
    "http_zlib_compression_level", "client_protocol_version",
    "wait_end_of_query", "buffer_size", "stacktrace", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "http_wait_end_of_query",
    "http_response_buffer_size", "http_native_compression_disable_checksumming_on_decompress",
    "add_http_cors_header", "cancel_http_readonly_queries_on_client_close",
}

# ClickHouse HTTPHandler::exceptionCodeToHTTPStatus, by error name (codes are
# resolved at startup with errorCodeToName()); anything else is 500.
_STATUS_BY_NAME = {
    "REQUIRED_PASSWORD": 401,
    "UNKNOWN_USER": 403, "WRONG_PASSWORD": 403, "AUTHENTICATION_FAILED": 403,
    "SET_NON_GRANTED_ROLE": 403, "ACCESS_DENIED": 403,
    "CANNOT_PARSE_TEXT": 400, "CANNOT_PARSE_ESCAPE_SEQUENCE": 400,
    "CANNOT_PARSE_QUOTED_STRING": 400, "CANNOT_PARSE_DATE": 400,
    "CANNOT_PARSE_DATETIME": 400, "CANNOT_PARSE_NUMBER": 400,
    "CANNOT_PARSE_INPUT_ASSERTION_FAILED": 400, "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING": 400,
    "CANNOT_PARSE_IPV4": 400, "CANNOT_PARSE_IPV6": 400, "CANNOT_PARSE_UUID": 400,
    "CANNOT_PARSE_BOOL": 400, "UNKNOWN_ELEMENT_IN_AST": 400,
    "UNKNOWN_TYPE_OF_AST_NODE": 400, "TOO_DEEP_AST": 400, "TOO_BIG_AST": 400,
    "UNEXPECTED_AST_STRUCTURE": 400, "SYNTAX_ERROR": 400, "INCORRECT_DATA": 400,
    "TYPE_MISMATCH": 400, "BAD_ARGUMENTS": 400,
    "UNKNOWN_TABLE": 404, "UNKNOWN_FUNCTION": 404, "UNKNOWN_IDENTIFIER": 404,
    "UNKNOWN_TYPE": 404, "UNKNOWN_STORAGE": 404, "UNKNOWN_DATABASE": 404,
    "UNKNOWN_SETTING": 404, "UNKNOWN_DIRECTION_OF_SORTING": 404,
    "UNKNOWN_AGGREGATE_FUNCTION": 404, "UNKNOWN_FORMAT": 404,
    "UNKNOWN_DATABASE_ENGINE": 404, "UNKNOWN_TYPE_OF_QUERY": 404, "UNKNOWN_ROLE": 404,
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503, "CANNOT_OPEN_FILE": 503,
    "HTTP_LENGTH_REQUIRED": 411,
}
# Fallback used before the engine resolves names (and for our own errors).
_STATUS_BY_CODE = {194: 401, 192: 403, 193: 403, 516: 403, 497: 403, 62: 400, 27: 400,
                   6: 400, 53: 400, 117: 400, 36: 400, 60: 404, 46: 404, 47: 404,
                   81: 404, 115: 404, 73: 404, 48: 501, 209: 503, 381: 411}


def resolve_status_codes(pool):
    """Maps error names to the codes of this chdb build."""
    try:
        out = pool.query_anchor(
            "SELECT number, errorCodeToName(toInt32(number)) FROM numbers(1100)")
    except Exception as e:
        log("cannot resolve error codes (%s); using built-in table" % e)
        return
    table = {}
    for line in out.decode().splitlines():
        code, _, name = line.partition("\t")
        if name in _STATUS_BY_NAME:
            table[int(code)] = _STATUS_BY_NAME[name]
    if table:
        _STATUS_BY_CODE.clear()
        _STATUS_BY_CODE.update(table)


_ERR_RE = re.compile(r"Code:\s*(\d+)\.", re.S)
_FORMAT_TAIL_RE = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.I)
_SETTING_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Statements that change session state of a pooled connection.
_DIRTY_RE = re.compile(r"\b(SET|USE|TEMPORARY)\b", re.I)
_COMMENTS_RE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|#[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_INSERT_RE = re.compile(r"INSERT\b", re.I)
# INSERT ... FORMAT Name (the first FORMAT keyword ends the statement).
_INSERT_FORMAT_RE = re.compile(r"\A(INSERT\b.*?)\bFORMAT\s+([A-Za-z0-9_]+)", re.I | re.S)
_NOT_FORMAT_HEAD_RE = re.compile(r"\b(VALUES|SELECT|WITH)\b", re.I)
_INSERT_VALUES_RE = re.compile(r"\A(INSERT\b.*?)\bVALUES\s*\Z", re.I | re.S)


def _readonly_blocks(current, wanted):
    """True when a pooled connection's readonly level would refuse the SETs this request needs
    although a fresh server session would accept them: readonly = 1 refuses every change,
    readonly = 2 a change of `readonly` itself. A real server starts each HTTP request from the
    user's settings, so the engine starts over on a fresh connection then."""
    level = current.get("readonly", "0")
    if level == "0":
        return False
    if wanted.get("readonly", "0") != level:
        return True
    return level == "1" and any(current.get(k) != v for k, v in wanted.items())


class EngineError(Exception):
    """An error reported to the client in ClickHouse format."""

    def __init__(self, code, message, name=None):
        self.code = int(code)
        if not message.startswith("Code:"):
            message = "Code: %d. DB::Exception: %s%s" % (
                self.code, message, " (%s)" % name if name else "")
        self.text = message
        super().__init__(message)

    @classmethod
    def from_chdb(cls, exc):
        msg = str(exc).strip()
        m = _ERR_RE.search(msg)
        if m:
            return cls(int(m.group(1)), msg[m.start():])
        return cls(1001, msg or exc.__class__.__name__, "STD_EXCEPTION")

    def body(self):
        text = self.text
        if "(version " not in text:
            text += " (version %s)" % VERSION
        return (text + "\n").encode("utf-8", "replace")

    def status(self):
        return _STATUS_BY_CODE.get(self.code, 500)


def match_insert_format(q):
    """`INSERT ... FORMAT Name` at the start of q (data may follow), or None."""
    if not _INSERT_RE.match(q):
        return None
    m = _INSERT_FORMAT_RE.match(q[:65536])
    if m and not _NOT_FORMAT_HEAD_RE.search(m.group(1)):
        return m
    return None


def strip_leading_comments(sql):
    m = _COMMENTS_RE.match(sql)
    return sql[m.end():] if m else sql


def content_type_for(fmt):
    f = fmt.lower()
    if f.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if f.startswith("csv"):
        return "text/csv; charset=UTF-8; header=%s" % ("present" if "names" in f else "absent")
    if f in ("jsoneachrow", "jsonlines", "ndjson", "jsonstringseachrow",
             "jsoncompacteachrow", "jsoncompactstringseachrow", "jsonobjecteachrow") \
            or (f.startswith("json") and "eachrow" in f):
        return "application/x-ndjson; charset=UTF-8"
    if f.startswith("json"):
        return "application/json; charset=UTF-8"
    if f == "xml":
        return "application/xml; charset=UTF-8"
    if f.startswith(("rowbinary", "native", "parquet", "arrow", "orc", "avro",
                     "protobuf", "msgpack", "capnproto", "bson", "npy")):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


def quote_string(v):
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_ident(v):
    return "`" + v.replace("\\", "\\\\").replace("`", "\\`") + "`"


# ---------------------------------------------------------------------------
# Request body readers

class BodyReader:
    """Reads a request body: Content-Length or Transfer-Encoding: chunked."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        te = (headers.get("Transfer-Encoding") or "").lower()
        self.chunked = "chunked" in te
        self.remaining = 0 if self.chunked else int(headers.get("Content-Length") or 0)
        self.chunk_left = 0
        self.eof = (not self.chunked and self.remaining == 0)
        self.broken = False  # framing error: connection cannot be reused

    def read(self, n=READ_CHUNK):
        if self.eof:
            return b""
        try:
            if not self.chunked:
                data = self.rfile.read(min(n, self.remaining))
                if not data:
                    self.broken = True
                    raise EngineError(33, "Unexpected end of request body", "CANNOT_READ_ALL_DATA")
                self.remaining -= len(data)
                if self.remaining == 0:
                    self.eof = True
                return data
            if self.chunk_left == 0:
                line = self.rfile.readline(65537)
                if not line:
                    self.broken = True
                    raise EngineError(33, "Unexpected end of chunked body", "CANNOT_READ_ALL_DATA")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self.broken = True
                    raise EngineError(33, "Malformed chunk header", "CANNOT_READ_ALL_DATA")
                if size == 0:
                    # Trailers until an empty line.
                    while True:
                        t = self.rfile.readline(65537)
                        if not t or t in (b"\r\n", b"\n"):
                            break
                    self.eof = True
                    return b""
                self.chunk_left = size
            data = self.rfile.read(min(n, self.chunk_left))
            if not data:
                self.broken = True
                raise EngineError(33, "Unexpected end of chunked body", "CANNOT_READ_ALL_DATA")
            self.chunk_left -= len(data)
            if self.chunk_left == 0:
                self.rfile.readline(3)  # CRLF after chunk data
            return data
        except (OSError, ValueError) as e:
            self.broken = True
            raise EngineError(210, "I/O error reading request body: %s" % e, "NETWORK_ERROR")

    def drain(self):
        try:
            while not self.eof and not self.broken:
                self.read()
        except EngineError:
            pass


class ZlibReader:
    """Content-Encoding: gzip / deflate on the request body."""

    def __init__(self, inner, gzip):
        self.inner = inner
        self.d = zlib.decompressobj(47 if gzip else 15)
        self.eof = False

    def read(self, n=READ_CHUNK):
        while True:
            raw = self.inner.read(n)
            if not raw:
                self.eof = True
                return self.d.flush()
            out = self.d.decompress(raw)
            if out:
                return out

    def drain(self):
        self.inner.drain()


class NativeBlockReader:
    """`decompress=1`: ClickHouse native compressed blocks.

    Block = 16-byte CityHash128 checksum, 1-byte method, u32 LE compressed
    size (including the 9 header bytes), u32 LE uncompressed size, payload.
    The checksum is NOT verified (no CityHash128 in the stdlib); this engine is
    for development use over loopback, where TCP already protects the data.
    """

    def __init__(self, inner):
        self.inner = inner
        self.buf = bytearray()
        self.eof = False

    def _fill(self, n):
        while len(self.buf) < n:
            data = self.inner.read(max(READ_CHUNK, n - len(self.buf)))
            if not data:
                return False
            self.buf += data
        return True

    def read(self, n=READ_CHUNK):
        if self.eof:
            return b""
        if not self._fill(25):
            if self.buf:
                raise EngineError(271, "Truncated compressed block header", "CANNOT_DECOMPRESS")
            self.eof = True
            return b""
        method = self.buf[16]
        csize = int.from_bytes(self.buf[17:21], "little")
        usize = int.from_bytes(self.buf[21:25], "little")
        if csize < 9 or csize > (1 << 30) or usize > (1 << 30):
            raise EngineError(271, "Too large size of compressed block", "CANNOT_DECOMPRESS")
        total = 16 + csize
        if not self._fill(total):
            raise EngineError(271, "Truncated compressed block", "CANNOT_DECOMPRESS")
        payload = bytes(self.buf[25:total])
        del self.buf[:total]
        if method == 0x82:
            if lz4_block is None:
                raise EngineError(89, "lz4 package is not installed", "UNKNOWN_COMPRESSION_METHOD")
            try:
                return lz4_block.decompress(payload, uncompressed_size=usize)
            except Exception as e:
                raise EngineError(271, "Cannot decompress LZ4 block: %s" % e, "CANNOT_DECOMPRESS")
        if method == 0x02:
            return payload
        raise EngineError(89, "Unknown compression method: 0x%02x" % method,
                          "UNKNOWN_COMPRESSION_METHOD")

    def drain(self):
        self.inner.drain()


def read_all(reader):
    parts = []
    while True:
        d = reader.read()
        if not d:
            return b"".join(parts)
        parts.append(d)


def parse_multipart(body, content_type):
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise EngineError(36, "multipart/form-data without boundary", "BAD_ARGUMENTS")
    delim = b"--" + m.group(1).encode("latin-1")
    fields = []
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if value.endswith(b"\r\n"):
            value = value[:-2]
        nm = re.search(rb'name="([^"]*)"', head)
        if nm:
            fields.append((nm.group(1).decode("utf-8", "replace"),
                           value.decode("utf-8", "replace")))
    return fields


# ---------------------------------------------------------------------------
# Connection pool

class PooledConn:
    __slots__ = ("raw", "db", "settings")

    def __init__(self, raw):
        self.raw = raw
        self.db = "default"
        self.settings = {}  # settings SET on this connection so far


class Pool:
    def __init__(self, path, size):
        self.path = path
        self.lock = threading.Lock()  # only for connect/close, never for queries
        # An anchor connection keeps the embedded engine alive while pooled
        # connections are recycled.
        self.anchor = _chdb.connect(path)
        # Idle connections; a condition variable hands them out. Requests prefer a connection
        # whose SET settings already match theirs, so clients that always send the same
        # settings (the gateway) and clients that send none (health checks) do not make each
        # other SET or reconnect on every query.
        self.idle = [PooledConn(self._connect()) for _ in range(size)]
        self.cond = threading.Condition()

    def _connect(self):
        with self.lock:
            return _chdb.connect(self.path)

    def get(self, settings=None):
        settings = settings or {}
        with self.cond:
            while not self.idle:
                self.cond.wait()
            best = next((i for i, pc in enumerate(self.idle) if pc.settings == settings), None)
            if best is None:
                # Next best: one whose settings are a subset (only SETs needed, no reset).
                best = next((i for i, pc in enumerate(self.idle)
                             if all(k in settings for k in pc.settings)), len(self.idle) - 1)
            return self.idle.pop(best)

    def renew(self, pc):
        """Closes a connection and returns a fresh one (~1 ms)."""
        try:
            with self.lock:
                pc.raw.close()
        except Exception:
            pass
        try:
            return PooledConn(self._connect())
        except Exception as e:  # pragma: no cover
            log("failed to reopen chdb connection: %s" % e)
            time.sleep(0.1)
            return PooledConn(self._connect())

    def put(self, pc, dirty=False):
        # Session state changed by the statement itself (SET, USE, temporary tables...):
        # replace the connection.
        pc = self.renew(pc) if dirty else pc
        with self.cond:
            self.idle.append(pc)
            self.cond.notify()

    def query_anchor(self, sql, fmt="TabSeparated"):
        with self.lock:
            return self.anchor.query(sql, fmt).bytes()


def log(msg):
    sys.stderr.write("%s %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), msg))
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# HTTP handler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chdb-local-engine"
    sys_version = ""
    timeout = 600  # idle keep-alive / slow body read timeout, seconds

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # silence default access log
        pass

    def log_error(self, fmt, *args):
        log("http error: " + (fmt % args))

    # -- response helpers -------------------------------------------------
    def _send(self, status, body, headers=None, ctype="text/plain; charset=UTF-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Keep-Alive", "timeout=%d" % self.timeout)
        # Headers and body in one write (avoids Nagle/delayed-ACK stalls).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    def do_OPTIONS(self):
        self._send(204, b"", {"Access-Control-Allow-Origin": "*",
                              "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                              "Access-Control-Allow-Headers": "*"})

    # -- main entry -------------------------------------------------------
    def _handle(self):
        t0 = time.monotonic()
        srv = self.server
        self._stmt = ""
        status = 500
        reader = BodyReader(self.rfile, self.headers)
        query_id = None
        try:
            parts = urlsplit(self.path)
            path = parts.path
            if path in ("/ping", "/ping/"):
                reader.drain()
                status = 200
                self._send(200, b"Ok.\n")
                return
            if path not in ("/", ""):
                reader.drain()
                status = 404
                self._send(404, ("There is no handle %s\n" % path).encode(),
                           {"X-ClickHouse-Exception-Code": "0"})
                return
            params = parse_qsl(parts.query, keep_blank_values=True)
            query_id = (dict(params).get("query_id")
                        or self.headers.get("X-ClickHouse-Query-Id") or str(uuid.uuid4()))
            status = self._execute(params, reader, query_id)
        except EngineError as e:
            status = e.status()
            self._error(e, reader, query_id)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            status = 499
        except Exception as e:  # no tracebacks to clients
            log("internal error: %r" % (e,))
            status = 500
            self._error(EngineError(1001, "%s: %s" % (e.__class__.__name__, e), "STD_EXCEPTION"),
                        reader, query_id)
        finally:
            if not reader.eof:
                reader.drain()  # keep the connection usable for the next request
            if reader.broken:
                self.close_connection = True
            ms = (time.monotonic() - t0) * 1000
            stmt = " ".join((self._stmt or "").split())[:100]
            log("%s %d %.1fms %s" % (self.command, status, ms, stmt))

    def _error(self, e, reader, query_id):
        reader.drain()
        if reader.broken:
            self.close_connection = True
        hdrs = {"X-ClickHouse-Exception-Code": str(e.code),
                "X-ClickHouse-Server-Display-Name": self.server.display_name}
        if query_id:
            hdrs["X-ClickHouse-Query-Id"] = query_id
        try:
            self._send(e.status(), e.body(), hdrs)
        except OSError:
            self.close_connection = True

    def _authenticate(self, params):
        pdict = dict(params)
        h_user = self.headers.get("X-ClickHouse-User")
        h_key = self.headers.get("X-ClickHouse-Key")
        auth = self.headers.get("Authorization")
        if h_user or h_key:
            if auth or "user" in pdict or "password" in pdict:
                raise EngineError(516, "Invalid authentication: it is not allowed to use "
                                  "X-ClickHouse HTTP headers and other authentication methods "
                                  "simultaneously", "AUTHENTICATION_FAILED")
            user, password = h_user or "default", h_key or ""
        elif auth:
            if "user" in pdict or "password" in pdict:
                raise EngineError(516, "Invalid authentication: it is not allowed to use "
                                  "Authorization HTTP header and authentication via parameters "
                                  "simultaneously", "AUTHENTICATION_FAILED")
            scheme, _, info = auth.partition(" ")
            if scheme.lower() != "basic":
                raise EngineError(516, "Invalid authentication: '%s' HTTP Authorization scheme "
                                  "is not supported" % scheme, "AUTHENTICATION_FAILED")
            try:
                user, _, password = base64.b64decode(info.strip()).decode("utf-8").partition(":")
            except Exception:
                raise EngineError(516, "Invalid authentication: malformed Basic credentials",
                                  "AUTHENTICATION_FAILED")
        else:
            user, password = pdict.get("user", "default"), pdict.get("password", "")
        if user != self.server.user or password != self.server.password:
            raise EngineError(516, "%s: Authentication failed: password is incorrect, or there "
                              "is no user with such name." % (user or "default"),
                              "AUTHENTICATION_FAILED")

    def _execute(self, params, reader, query_id):
        self._authenticate(params)
        with self._running(query_id):
            return self._run(params, reader, query_id)

    @contextlib.contextmanager
    def _running(self, query_id):
        """Registers the query id for as long as the query runs: like a server's process list
        (ProcessList::insert), a second query with an id that is still running fails with 216."""
        srv = self.server
        with srv.running_lock:
            if query_id in srv.running:
                raise EngineError(216, "Query with id = %s is already running." % query_id,
                                  "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING")
            srv.running.add(query_id)
        try:
            yield
        finally:
            with srv.running_lock:
                srv.running.discard(query_id)

    def _run(self, params, reader, query_id):
        srv = self.server

        # Request body decoding layers.
        body = reader
        cenc = (self.headers.get("Content-Encoding") or "").strip().lower()
        if cenc in ("gzip", "x-gzip", "deflate"):
            body = ZlibReader(body, cenc != "deflate")
        elif cenc and cenc != "identity":
            raise EngineError(48, "Unsupported Content-Encoding: %s" % cenc, "NOT_IMPLEMENTED")
        if dict(params).get("decompress") in ("1", "true"):
            body = NativeBlockReader(body)

        ctype = self.headers.get("Content-Type") or ""
        if ctype.lower().startswith("multipart/form-data"):
            params = params + parse_multipart(read_all(body), ctype)
            body = None

        p = {}
        for k, v in params:
            p[k] = v  # last one wins
        query_param = p.get("query")
        self._stmt = query_param or ""
        database = p.get("database") or "default"
        default_format = p.get("default_format") or "TabSeparated"
        qparams = {k[6:]: v for k, v in p.items() if k.startswith("param_") and len(k) > 6}
        settings = {}
        for k, v in p.items():
            if k in NON_SETTINGS or k.startswith("param_"):
                continue
            if not _SETTING_NAME_RE.match(k):
                raise EngineError(115, "Unknown setting '%s'" % k, "UNKNOWN_SETTING")
            settings[k] = v
        if self.command == "GET":
            # ClickHouse: a GET runs with readonly = 2, and readonly = 2 forbids changing
            # `readonly` itself (SettingsConstraints::checkImpl; test 00372_readonly_http_get...
            # expects "Cannot modify 'readonly' setting in readonly mode" for readonly=0).
            if settings.get("readonly", "2") != "2":
                raise EngineError(164, "Cannot modify 'readonly' setting in readonly mode",
                                  "READONLY")
            settings["readonly"] = "2"

        # Work out the statement and (for INSERT ... FORMAT) the data stream.
        insert = None  # (sql_head, format, first_bytes, reader)
        if query_param is not None and body is not None and not body.eof:
            q = strip_leading_comments(query_param)
            m = match_insert_format(q)
            if m and not q[m.end():].strip():
                insert = (m.group(1), m.group(2), b"", body)
            else:
                mv = _INSERT_VALUES_RE.match(q) if _INSERT_RE.match(q) else None
                if mv:
                    insert = (mv.group(1), "Values", b"", body)
                else:
                    rest = read_all(body)
                    if rest:
                        query_param = query_param + "\n" + rest.decode("utf-8", "replace")
            sql = query_param
        elif query_param is not None:
            sql = query_param
        else:
            head = b""
            if body is not None:
                while len(head) < HEAD_LIMIT:
                    d = body.read()
                    if not d:
                        break
                    head += d
            if not head.strip() and body is not None and not body.eof:
                head += read_all(body)
            if not head.strip():
                if self.command in ("GET", "HEAD"):
                    self._send(200, b"Ok.\n")
                    return 200
                raise EngineError(62, "Empty query", "SYNTAX_ERROR")
            text = head.decode("latin-1")
            q = strip_leading_comments(text)
            m = match_insert_format(q)
            if m:
                # Data starts after the first newline, if there is one, or
                # after all the whitespace characters otherwise (ClickHouse rule).
                pos = m.end()
                while pos < len(q) and q[pos] in " \t\r\n\f\v":
                    pos += 1
                    if q[pos - 1] == "\n":
                        break
                offset = len(text) - len(q)
                sql_head = m.group(1)
                insert = (sql_head.encode("latin-1").decode("utf-8", "replace"),
                          m.group(2), head[offset + pos:], body)
                sql = sql_head + "FORMAT " + m.group(2)
            else:
                if body is not None and not body.eof:
                    head += read_all(body)
                sql = head.decode("utf-8", "replace")

        if insert is not None:
            stmt = insert[0].rstrip() + " FORMAT " + insert[1]
        else:
            stmt = sql
        self._stmt = stmt

        # Output format.
        if insert is None:
            mf = _FORMAT_TAIL_RE.search(sql)
            out_format = mf.group(1) if mf else default_format
        else:
            out_format = default_format

        pc = srv.pool.get(settings)
        if any(k not in settings for k in pc.settings) or _readonly_blocks(pc.settings, settings):
            # A setting of an earlier request would leak into this one: start clean.
            pc = srv.pool.renew(pc)
        dirty = bool(_DIRTY_RE.search(stmt))
        try:
            conn = pc.raw
            if pc.db != database:
                try:
                    conn.query("USE " + quote_ident(database), "TabSeparated")
                except RuntimeError as e:
                    raise EngineError.from_chdb(e)
                pc.db = database
            changed = {k: v for k, v in settings.items() if pc.settings.get(k) != v}
            if changed:
                # SET only what differs from this connection's state. A connection keeps
                # its settings for the next request that sends the same names (clients
                # such as the gateway send the same ones every time, so the common case
                # is no SET at all); a request lacking one of them gets a fresh
                # connection above, so nothing leaks between requests.
                items = sorted(changed.items(), key=lambda kv: kv[0] == "readonly")
                set_sql = "SET " + ", ".join("%s = %s" % (k, quote_string(v)) for k, v in items)
                try:
                    conn.query(set_sql, "TabSeparated")
                except RuntimeError as e:
                    dirty = True  # partially applied: recycle
                    raise EngineError.from_chdb(e)
                pc.settings = dict(settings)

            if insert is not None:
                summary, out = self._run_insert(conn, insert), b""
            else:
                try:
                    if qparams:
                        res = conn.query(sql, out_format, params=qparams)
                    else:
                        res = conn.query(sql, out_format)
                except RuntimeError as e:
                    raise EngineError.from_chdb(e)
                out = res.bytes()
                summary = {
                    "read_rows": res.rows_read(), "read_bytes": res.bytes_read(),
                    "written_rows": res.rows_written(), "written_bytes": res.bytes_written(),
                    "total_rows_to_read": res.rows_read(), "result_rows": 0,
                    "result_bytes": len(out), "elapsed_ns": int(res.elapsed() * 1e9),
                }
        except BaseException:
            if insert is not None:
                dirty = True  # an aborted streaming insert: recycle the connection
            raise
        finally:
            srv.pool.put(pc, dirty)

        hdrs = {
            "X-ClickHouse-Server-Display-Name": srv.display_name,
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Format": out_format,
            "X-ClickHouse-Timezone": srv.timezone,
            "X-ClickHouse-Summary": json.dumps({k: str(v) for k, v in summary.items()},
                                               separators=(",", ":")),
        }
        body_out, enc = self._maybe_compress(out, p)
        if enc:
            hdrs["Content-Encoding"] = enc
        self._send(200, body_out, hdrs, content_type_for(out_format))
        return 200

    def _maybe_compress(self, out, p):
        if p.get("enable_http_compression") not in ("1", "true"):
            return out, None
        ae = (self.headers.get("Accept-Encoding") or "").lower()
        try:
            level = int(p.get("http_zlib_compression_level", "3"))
        except ValueError:
            level = 3
        if "gzip" in ae:
            c = zlib.compressobj(level, zlib.DEFLATED, 31)
            return c.compress(out) + c.flush(), "gzip"
        if "deflate" in ae:
            return zlib.compress(out, level), "deflate"
        return out, None

    def _run_insert(self, conn, insert):
        """Streams the body into chdb. Returns a summary dict, or raises."""
        sql_head, fmt, first, body = insert
        try:
            ins = conn.send_insert(sql_head.rstrip(), fmt)
        except RuntimeError as e:
            raise EngineError.from_chdb(e)
        try:
            buf = bytearray(first)
            while True:
                d = body.read()
                if d:
                    buf += d
                if buf and (len(buf) >= INSERT_FLUSH or not d):
                    conn.insert_append(ins, bytes(buf))
                    buf.clear()
                if not d:
                    break
            res = conn.insert_done(ins)
        except BaseException as e:
            try:
                conn.insert_cancel(ins)
            except Exception:
                pass
            if isinstance(e, RuntimeError):
                raise EngineError.from_chdb(e)
            raise
        n = res.rows_written()
        return {
            "read_rows": n, "read_bytes": res.bytes_written(),
            "written_rows": n, "written_bytes": res.bytes_written(),
            "total_rows_to_read": 0, "result_rows": n,
            "result_bytes": res.bytes_written(), "elapsed_ns": int(res.elapsed() * 1e9),
        }


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default=os.environ.get("ENGINE_LISTEN", "127.0.0.1:8123"))
    ap.add_argument("--data-dir", default=os.environ.get("LOCAL_ENGINE_DIR", "data/engine"))
    ap.add_argument("--pool", type=int, default=int(os.environ.get("ENGINE_POOL", "8")))
    args = ap.parse_args()

    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    path = os.path.join(os.path.abspath(args.data_dir), "chdb")
    os.makedirs(path, exist_ok=True)

    pool = Pool(path, max(1, args.pool))
    srv = Server((host, int(port)), Handler)
    srv.pool = pool
    srv.user = os.environ.get("ENGINE_USER", "default") or "default"
    srv.password = os.environ.get("ENGINE_PASSWORD", "")
    srv.display_name = os.environ.get("ENGINE_DISPLAY_NAME") or socket.gethostname()
    srv.running = set()
    srv.running_lock = threading.Lock()
    resolve_status_codes(pool)
    try:
        srv.timezone = pool.query_anchor("SELECT timezone()").decode().strip() or "UTC"
    except Exception:
        srv.timezone = "UTC"

    def _term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    log("chdb local engine %s listening on http://%s:%s (data %s, pool %d)"
        % (VERSION, host, port, path, args.pool))
    try:
        srv.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    log("shutting down")
    srv.server_close()
    sys.stderr.flush()
    # Skip interpreter teardown of the embedded engine (it can block on
    # in-flight queries of other threads); committed data is already on disk.
    os._exit(0)


if __name__ == "__main__":
    main()
