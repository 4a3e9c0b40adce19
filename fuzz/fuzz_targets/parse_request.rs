//! Fuzzes the request parser: any query string for either endpoint must parse into a request or
//! an error, never panic; and whatever parses must plan into SQL that carries no request text.
#![no_main]

use cdrstats::domain::Endpoint;
use cdrstats::stats::params::{StatsRequest, Value};
use cdrstats::stats::plan::{Scope, Window, plan};
use cdrstats::stats::time::parse_instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_instant(&text);
    for endpoint in Endpoint::ALL {
        let Ok(req) = StatsRequest::parse(endpoint, &text) else {
            continue;
        };
        let to = req.to.map_or(req.from.floor() + 3600, |t| t.floor());
        let scope = Scope {
            endpoint,
            account: 1,
            grid: req.grid(),
            filters: &req.filters,
        };
        let p = plan(scope, &[Window { from: req.from.ceil(), to }], true);
        assert!(!p.sql.contains('%'), "unreplaced template marker");
        // The SQL text depends on which filters are present, never on their values.
        let neutral: Vec<_> = req
            .filters
            .iter()
            .map(|(f, v)| match v {
                Value::Text(_) => (*f, Value::Text("x".into())),
                Value::UInt8(_) => (*f, Value::UInt8(0)),
                Value::UInt16(_) => (*f, Value::UInt16(0)),
                Value::UInt32(_) => (*f, Value::UInt32(0)),
                Value::Int32(_) => (*f, Value::Int32(0)),
                Value::Price(_) => (*f, Value::Price(0.0)),
            })
            .collect();
        let same = plan(
            Scope { filters: &neutral, ..scope },
            &[Window { from: req.from.ceil(), to }],
            true,
        );
        assert_eq!(p.sql, same.sql, "request values reached the SQL text");
    }
});
