//! Runs the Go detector test tables ported as data: one JSON table per Go test file under
//! tests/fixtures/golden/resourcedetection/<detector>/, each case named after its Go test.
//!
//! Case shapes:
//! - env: `{"name", "input", "want": {attrs} | "error": "..."}`; `input` is the variable's value
//!   (`env` may give both variables instead).
//! - ecs: `{"name", "task": <task document>, "container": <own container document>,
//!   "resource_attributes"?: toggles, "want": {attrs}}`; `task`/`container` may name a file in
//!   tests/fixtures/ecs instead of holding the document.
//! - system: `{"name", "config"?: SystemConfig, "provider": {fact: value | {"error": msg}},
//!   "want": {attrs} | "error": "..."}`.
//!
//! `want` is an ordered object (attribute order is checked). A `"why"` field explains a case
//! where oxidot deliberately differs from Go.

use super::{ecs, env, system, AttrValue, Detected};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    crate::golden::dir("resourcedetection")
}

/// The cases of one table, each with the order of its `want` keys (the file is read as YAML,
/// a superset of JSON whose mappings keep their order).
fn table(rel: &str) -> Vec<(Json, Vec<String>)> {
    let p = dir().join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let y: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let cases = y.get("cases").and_then(|c| c.as_sequence()).unwrap_or_else(|| panic!("{}: no cases", p.display()));
    cases
        .iter()
        .map(|c| {
            let order = c
                .get("want")
                .and_then(|w| w.as_mapping())
                .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            (serde_json::to_value(c).expect("yaml to json"), order)
        })
        .collect()
}

fn as_json(d: &Detected) -> Json {
    Json::Object(d.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// What differs between a detector's result and the case's `want` (or `error`).
fn check(got: Result<Detected, String>, case: &Json, order: &[String]) -> Result<(), String> {
    match (&got, case.get("error")) {
        (Err(e), Some(want)) if Json::String(e.clone()) == *want => Ok(()),
        (Err(e), Some(want)) => Err(format!("error {e:?}, want {want}")),
        (Ok(d), None) => {
            let attrs = as_json(d);
            if attrs != case["want"] {
                return Err(format!("got {attrs}, want {}", case["want"]));
            }
            let keys: Vec<&str> = d.iter().map(|(k, _)| k.as_str()).collect();
            let want: Vec<&str> = order.iter().map(String::as_str).collect();
            if keys != want {
                return Err(format!("attribute order {keys:?}, want {want:?}"));
            }
            Ok(())
        }
        (got, want) => Err(format!("got {got:?}, want error {want:?}")),
    }
}

#[test]
fn env_test_go() {
    let mut golden = crate::golden::Golden::new();
    let cases = table("env/env_test.json");
    assert!(cases.len() >= 10);
    for (case, order) in cases {
        let name = case["name"].as_str().unwrap().to_string();
        let vars: Vec<(String, String)> = match (&case.get("input"), case.get("env")) {
            (Some(Json::String(s)), _) => vec![("OTEL_RESOURCE_ATTRIBUTES".into(), s.clone())],
            (_, Some(Json::Object(m))) => {
                m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
            }
            _ => vec![],
        };
        let lookup = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let got = env::detect(&lookup).map(|d| d.attrs);
        golden.check(&name, check(got, &case, &order));
    }
    golden.finish();
}

fn doc(v: &Json) -> Json {
    match v {
        Json::String(file) => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ecs").join(file);
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
                .unwrap()
        }
        other => other.clone(),
    }
}

#[test]
fn ecs_test_go() {
    let mut golden = crate::golden::Golden::new();
    let cases = table("ecs/ecs_test.json");
    assert!(cases.len() >= 5);
    for (case, order) in cases {
        let name = case["name"].as_str().unwrap().to_string();
        let toggles: super::Toggles = serde_json::from_value(
            case.get("resource_attributes").cloned().unwrap_or(Json::Object(Default::default())),
        )
        .unwrap();
        let got = ecs::Task::from_json(&doc(&case["task"]))
            .and_then(|t| ecs::Container::from_json(&doc(&case["container"])).map(|c| (t, c)))
            .map(|(t, c)| ecs::map(&t, &c, &toggles));
        golden.check(&name, check(got, &case, &order));
    }
    golden.finish();
}

/// A provider answering from a golden case; a missing fact is an error.
struct Fake(Json);

impl Fake {
    fn get(&self, k: &str) -> Result<Json, String> {
        match self.0.get(k) {
            Some(Json::Object(o)) if o.contains_key("error") => Err(o["error"].as_str().unwrap_or("").to_string()),
            Some(v) => Ok(v.clone()),
            None => Err(format!("{k} not provided")),
        }
    }
    fn s(&self, k: &str) -> Result<String, String> {
        self.get(k).map(|v| v.as_str().unwrap_or_default().to_string())
    }
    fn l(&self, k: &str) -> Result<Vec<String>, String> {
        self.get(k).map(|v| serde_json::from_value(v).unwrap())
    }
}

impl system::Provider for Fake {
    fn hostname(&self) -> Result<String, String> {
        self.s("hostname")
    }
    fn fqdn(&self) -> Result<String, String> {
        self.s("fqdn")
    }
    fn lookup_cname(&self) -> Result<String, String> {
        self.s("cname")
    }
    fn reverse_lookup_host(&self) -> Result<String, String> {
        self.s("lookup")
    }
    fn os_type(&self) -> Result<String, String> {
        self.s("os_type")
    }
    fn os_version(&self) -> Result<String, String> {
        self.s("os_version")
    }
    fn host_id(&self) -> Result<String, String> {
        self.s("host_id")
    }
    fn host_arch(&self) -> Result<String, String> {
        self.s("host_arch")
    }
    fn host_ips(&self) -> Result<Vec<String>, String> {
        self.l("host_ips")
    }
    fn host_macs(&self) -> Result<Vec<String>, String> {
        self.l("host_macs")
    }
    fn os_description(&self) -> Result<String, String> {
        self.s("os_description")
    }
    fn cpu_info(&self) -> Result<Vec<system::CpuInfo>, String> {
        self.get("cpu_info").map(|v| serde_json::from_value(v).unwrap())
    }
    fn host_interfaces(&self) -> Result<Vec<String>, String> {
        self.l("host_interfaces")
    }
    fn os_name(&self) -> Result<String, String> {
        self.s("os_name")
    }
    fn os_build_id(&self) -> Result<String, String> {
        self.s("os_build_id")
    }
}

#[test]
fn system_test_go() {
    let mut golden = crate::golden::Golden::new();
    let cases = table("system/system_test.json");
    assert!(cases.len() >= 8);
    let file: Json =
        serde_json::from_str(&std::fs::read_to_string(dir().join("system/system_test.json")).unwrap()).unwrap();
    let defaults = file["provider_defaults"].as_object().cloned().unwrap_or_default();
    for (case, order) in cases {
        let name = case["name"].as_str().unwrap().to_string();
        let cfg: system::SystemConfig =
            serde_json::from_value(case.get("config").cloned().unwrap_or(Json::Object(Default::default()))).unwrap();
        let mut facts = defaults.clone();
        facts.extend(case["provider"].as_object().cloned().unwrap_or_default());
        let got = system::detect_with(&cfg, &Fake(Json::Object(facts))).map(|d| d.attrs);
        golden.check(&name, check(got, &case, &order));
    }
    golden.finish();
}

#[test]
fn attr_values_render_as_golden_json() {
    assert_eq!(AttrValue::Int(3).to_json(), serde_json::json!(3));
    assert_eq!(AttrValue::List(vec!["a".into()]).to_json(), serde_json::json!(["a"]));
}
