//! The `sql` block for spans of SQL databases, as the Go exporter's sql.go `makeSQL` (with the
//! feature gates `exporter.awsxray.*V0DB*`/`*V1DB*` at their defaults: the v1.12 `db.*` keys).

use super::http::{go_str, value_of};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{json, Map, Value};

/// The attributes makeSQL reads, taken out of metadata when the span is an SQL one.
const KEYS: &[&str] = &["db.connection_string", "db.system", "db.name", "db.statement", "db.user"];

// sql.go isSQL
fn is_sql(system: &str) -> bool {
    matches!(
        system,
        "db2"
            | "derby"
            | "hive"
            | "mariadb"
            | "mssql"
            | "mysql"
            | "oracle"
            | "postgresql"
            | "sqlite"
            | "teradata"
            | "other_sql"
    )
}

fn system(span: &Span) -> &str {
    go_str(value_of(&span.attributes, "db.system"))
}

/// Whether makeSQL takes attribute `key` out of what becomes metadata: the five `db.*` keys it
/// reads, on spans whose `db.system` is an SQL one; every other `db.*` attribute stays.
pub fn consumes(span: &Span, key: &str) -> bool {
    KEYS.contains(&key) && is_sql(system(span))
}

// sql.go makeSQL
pub fn sql(span: &Span) -> Option<Value> {
    let system = system(span);
    if !is_sql(system) {
        return None;
    }
    let a = &span.attributes;
    let get = |k: &str| go_str(value_of(a, k));
    // Go: the span name as `url` (the connection string is "not useful" there); the connection
    // string (default `localhost`) with `/<db.name>` as `connection_string`.
    let mut conn = get("db.connection_string");
    if conn.is_empty() {
        conn = "localhost";
    }
    let mut s = Map::new();
    for (k, v) in [
        ("url", span.name.clone()),
        ("connection_string", format!("{conn}/{}", get("db.name"))),
        ("database_type", system.to_string()),
        ("user", get("db.user").to_string()),
        ("sanitized_query", get("db.statement").to_string()),
    ] {
        if !v.is_empty() {
            s.insert(k.into(), json!(v));
        }
    }
    Some(Value::Object(s))
}
