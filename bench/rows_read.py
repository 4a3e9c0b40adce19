"""Rows a request reads (EXPLAIN ESTIMATE: the local engine's X-ClickHouse-Summary is 0), for
the hot account and the busiest unlisted account, after `bench/storage.sh` and a `cdrstats rollups
rebuild` of its days (so the listed accounts' `since` precedes the data).

Usage: python3 bench/rows_read.py DST_COUNTRY DST_PREFIX UNLISTED_ACCOUNT
"now" = the plan as the gateway sends it; "main-equivalent" = the same SQL without the
rollup_accounts split (the whole minutes from the rollup, none from raw), i.e. main's plan.
Only the hot account's pair is a before/after: the rollups here hold listed accounts only.
"""
import json, os, subprocess, sys, urllib.request, urllib.parse, re
url="http://127.0.0.1:28124/"
BIN=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target", "release", "cdrstats")
def plan(acc, q, endpoint="termination"):
    # `cdrstats sql` binds the account-side's rollup `since` from rollup_accounts.
    out=subprocess.run([BIN,"sql","--endpoint",endpoint,"--account",str(acc),"--now","1795737600","--query",q],capture_output=True,text=True,env={"CLICKHOUSE_URL":url,"CLICKHOUSE_DATABASE":"storage","PATH":"/usr/bin"}).stdout
    return json.loads(out.strip().splitlines()[-1])
def est(sql, params):
    qs={"database":"storage"}; qs.update({"param_"+k:v for k,v in params.items()})
    req=urllib.request.Request(url+"?"+urllib.parse.urlencode(qs), data=("EXPLAIN ESTIMATE "+sql+" FORMAT TSV").encode())
    rows=urllib.request.urlopen(req).read().decode().strip().splitlines()
    return sum(int(r.split("\t")[3]) for r in rows if r), rows
uuid="7c61877c-39c4-11f1-b6d8-82ad38f4dd55"
for acc, endpoint, extra in [(1,"termination",""),(1,"termination","&dst-country-id=%s"%sys.argv[1]),(1,"termination","&dst-prefix-routing-starts-with=%s"%sys.argv[2]),(1,"origination",""),(int(sys.argv[3]),"termination",""),(int(sys.argv[3]),"termination","&dst-country-id=%s"%sys.argv[1])]:
    p=plan(acc,"account-id=%s&from-time=2026-11-25T00:00:30Z&to-time=2026-11-26T00:00:29Z&sampling=minute%s"%(uuid,extra),endpoint)
    sql=re.sub(r"(?m)--.*$","",p["sql"])
    now,_=est(sql,p["params"])
    # main's plan: the same SQL without the listing split (raw before since dropped, rollup unconditional)
    old=sql.replace(" OR (((time_start",  " OR FALSE AND (((time_start")
    before,_=est(old,dict(p["params"], rollup_since="1970-01-01 00:00:00") if "rollup_since" in p["params"] else p["params"])
    print(acc, endpoint, extra or "-", "rows now", now, "main-equivalent", before)
