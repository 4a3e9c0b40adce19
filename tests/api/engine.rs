//! The local engine speaks enough of ClickHouse's HTTP interface for the official crate,
//! unmodified and with default settings (validation on, LZ4, multipart params, inserter).

use crate::helpers::engine_url;
use clickhouse::Row;
use serde::{Deserialize, Serialize};

#[derive(Row, Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Sample {
    id: u32,
    name: String,
    at: u32,
    ok: bool,
    tags: Vec<String>,
    price: f64,
}

async fn fresh_database(name: &str) -> clickhouse::Client {
    let db = format!(
        "e_{name}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let server = clickhouse::Client::default().with_url(engine_url());
    server
        .query(&format!("CREATE DATABASE {db}"))
        .execute()
        .await
        .expect("create database");
    let client = server.with_database(db);
    client
        .query(
            "CREATE TABLE sample (id UInt32, name LowCardinality(String), at DateTime('UTC'), \
             ok Bool, tags Array(String), price Float64) ENGINE = MergeTree ORDER BY id",
        )
        .execute()
        .await
        .expect("create table");
    client
}

#[tokio::test]
async fn the_crate_inserts_and_fetches_typed_rows_with_params() {
    let client = fresh_database("roundtrip").await;
    let rows: Vec<Sample> = (0..1000)
        .map(|i| Sample {
            id: i,
            name: format!("n'{i}\t\\"),
            at: 1_700_000_000 + i,
            ok: i % 2 == 0,
            tags: vec!["a".into(), format!("{i}")],
            price: f64::from(i) / 8.0,
        })
        .collect();
    let mut insert = client.insert::<Sample>("sample").await.expect("insert");
    for r in &rows {
        insert.write(r).await.expect("write");
    }
    insert.end().await.expect("end");

    let got = client
        .query("SELECT ?fields FROM sample WHERE id >= {lo:UInt32} AND name != {skip:String} ORDER BY id")
        .param("lo", 990u32)
        .param("skip", "n'995\t\\")
        .fetch_all::<Sample>()
        .await
        .expect("fetch");
    let want: Vec<Sample> = rows
        .iter()
        .filter(|r| r.id >= 990 && r.id != 995)
        .cloned()
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn the_inserter_streams_many_rows() {
    let client = fresh_database("inserter").await;
    let mut inserter = client.inserter::<Sample>("sample").with_max_rows(10_000);
    for i in 0..50_000u32 {
        inserter
            .write(&Sample {
                id: i,
                name: "x".into(),
                at: 0,
                ok: true,
                tags: vec![],
                price: 0.5,
            })
            .await
            .expect("write");
        inserter.commit().await.expect("commit");
    }
    inserter.end().await.expect("end");
    let (count, sum): (u64, u64) = client
        .query("SELECT count(), sum(id) FROM sample")
        .fetch_one()
        .await
        .expect("count");
    assert_eq!((count, sum), (50_000, 49_999 * 50_000 / 2));
}

#[tokio::test]
async fn server_errors_surface_with_their_code_and_the_connection_survives() {
    let client = fresh_database("errors").await;
    let err = client
        .query("SELECT no_such_column FROM sample")
        .fetch_all::<Sample>()
        .await
        .expect_err("unknown column");
    assert!(err.to_string().contains("Code: 47"), "{err}");
    let err = client
        .query("SELEKT 1")
        .execute()
        .await
        .expect_err("syntax");
    assert!(err.to_string().contains("Code: 62"), "{err}");
    // A mismatched row type is caught by validation, not misread (validation reads the header
    // with the first row, so there must be one).
    client
        .query("INSERT INTO sample VALUES (1, 'a', 0, true, [], 0.5)")
        .execute()
        .await
        .expect("insert one row");
    #[derive(Row, Deserialize, Debug)]
    struct Wrong {
        #[allow(dead_code)]
        id: String,
    }
    let err = client
        .query("SELECT id FROM sample")
        .fetch_all::<Wrong>()
        .await
        .expect_err("type mismatch");
    assert!(err.to_string().to_lowercase().contains("schema"), "{err}");
    let n: u64 = client
        .query("SELECT count() FROM sample")
        .fetch_one()
        .await
        .expect("still fine");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn credentials_are_checked() {
    let bad = clickhouse::Client::default()
        .with_url(engine_url())
        .with_user("default")
        .with_password("wrong");
    let err = bad
        .query("SELECT 1")
        .execute()
        .await
        .expect_err("wrong password");
    assert!(err.to_string().contains("516"), "{err}");
}

#[tokio::test]
async fn plain_http_queries_work_too() {
    let http = reqwest::Client::new();
    let ping = http
        .get(format!("{}/ping", engine_url()))
        .send()
        .await
        .expect("ping");
    assert_eq!(ping.text().await.expect("body"), "Ok.\n");
    let resp = http
        .get(format!(
            "{}/?query=SELECT%20{{x:UInt8}}%2B1&param_x=41",
            engine_url()
        ))
        .send()
        .await
        .expect("query");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-clickhouse-summary"));
    assert_eq!(resp.text().await.expect("body"), "42\n");
    let resp = http
        .post(format!("{}/?default_format=JSONEachRow", engine_url()))
        .body("SELECT 1 AS one")
        .send()
        .await
        .expect("query");
    assert_eq!(resp.text().await.expect("body").trim(), r#"{"one":1}"#);
    let resp = http
        .post(engine_url())
        .body("SELECT nope")
        .send()
        .await
        .expect("query");
    assert_ne!(resp.status(), 200);
    assert_eq!(resp.headers()["x-clickhouse-exception-code"], "47");
}
