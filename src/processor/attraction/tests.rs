//! Table tests: one row per action and edge case.

use super::*;

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue { key: k.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
}

fn s(k: &str, v: &str) -> KeyValue {
    kv(k, any_value::Value::StringValue(v.into()))
}

fn i(k: &str, v: i64) -> KeyValue {
    kv(k, any_value::Value::IntValue(v))
}

fn actions(yaml: &str) -> Vec<Action> {
    let cfgs: Vec<ActionConfig> = crate::config::de::from_value(&serde_yaml_ng::from_str(yaml).unwrap()).unwrap();
    compile(&cfgs, "processors::attributes::actions").unwrap()
}

fn run(yaml: &str, input: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut attrs = input;
    apply(&actions(yaml), &mut attrs);
    attrs
}

#[test]
fn table() {
    let base = || vec![s("env", "dev"), i("http.status_code", 404), s("user.email", "a@b.c")];
    let sha = |t: &str| hex::encode(Sha256::digest(t.as_bytes()));
    let rows: Vec<(&str, &str, Vec<KeyValue>)> = vec![
        ("insert adds a missing key", "[{key: region, value: eu-west-1, action: insert}]", {
            let mut v = base();
            v.push(s("region", "eu-west-1"));
            v
        }),
        ("insert keeps an existing key", "[{key: env, value: prod, action: insert}]", base()),
        ("insert from_attribute", "[{key: copy, from_attribute: env, action: insert}]", {
            let mut v = base();
            v.push(s("copy", "dev"));
            v
        }),
        ("insert from a missing attribute does nothing", "[{key: copy, from_attribute: nope, action: insert}]", base()),
        (
            "update changes an existing key",
            "[{key: env, value: prod, action: update}]",
            vec![s("env", "prod"), i("http.status_code", 404), s("user.email", "a@b.c")],
        ),
        ("update ignores a missing key", "[{key: region, value: x, action: update}]", base()),
        (
            "upsert sets either way, typed",
            "[{key: env, value: 3, action: upsert}, {key: ok, value: true, action: upsert}]",
            vec![
                i("env", 3),
                i("http.status_code", 404),
                s("user.email", "a@b.c"),
                kv("ok", any_value::Value::BoolValue(true)),
            ],
        ),
        ("delete by key", "[{key: user.email, action: delete}]", vec![s("env", "dev"), i("http.status_code", 404)]),
        ("delete by pattern", "[{pattern: '^(env|user\\..*)$', action: delete}]", vec![i("http.status_code", 404)]),
        (
            "hash",
            "[{key: user.email, action: hash}]",
            vec![s("env", "dev"), i("http.status_code", 404), s("user.email", &sha("a@b.c"))],
        ),
        (
            "convert int to string",
            "[{key: http.status_code, action: convert, converted_type: string}]",
            vec![s("env", "dev"), s("http.status_code", "404"), s("user.email", "a@b.c")],
        ),
        ("convert a non-number to int leaves it", "[{key: env, action: convert, converted_type: int}]", base()),
        (
            "extract named groups",
            "[{key: user.email, pattern: '^(?P<user>[^@]+)@(?P<domain>.+)$', action: extract}]",
            {
                let mut v = base();
                v.push(s("user", "a"));
                v.push(s("domain", "b.c"));
                v
            },
        ),
    ];
    for (what, yaml, want) in rows {
        assert_eq!(run(yaml, base()), want, "{what}");
    }
}

#[test]
fn convert_string_to_int_and_double() {
    let out = run(
        "[{key: n, action: convert, converted_type: int}, {key: d, action: convert, converted_type: double}]",
        vec![s("n", " 42 "), s("d", "1.5")],
    );
    assert_eq!(out, vec![i("n", 42), kv("d", any_value::Value::DoubleValue(1.5))]);
}

#[test]
fn invalid_actions_are_config_errors_with_paths() {
    let bad = |yaml: &str| {
        let cfgs: Vec<ActionConfig> = crate::config::de::from_value(&serde_yaml_ng::from_str(yaml).unwrap()).unwrap();
        compile(&cfgs, "processors::attributes::actions").unwrap_err()[0].to_string()
    };
    assert!(bad("[{key: a, action: frobnicate}]").contains("actions::0::action: unsupported action \"frobnicate\""));
    assert!(bad("[{action: delete}]").contains("actions::0::key: missing required field"));
    assert!(bad("[{key: a, action: insert}]").contains("needs exactly one of"));
    assert!(bad("[{key: a, value: 1, from_attribute: b, action: upsert}]").contains("needs exactly one of"));
    assert!(bad("[{key: a, action: extract, pattern: '(x)'}]").contains("named subexpressions"));
    assert!(bad("[{key: a, action: convert, converted_type: bool}]").contains("converted_type must be"));
    assert!(bad("[{}, {key: a, pattern: '(', action: delete}]").contains("actions::0::key"));
}
