//! Every registered component type (aliases included) builds, starts and stops from its
//! factory's default config, in a real graph, on ephemeral ports (Go: the generated
//! `TestComponentLifecycle` of each component). And the import graph keeps the shape README's
//! architecture section states.

use oxidot::collector::Config;
use oxidot::component::{Kind, Signal};
use oxidot::config::Resolved;
use oxidot::pipeline::lifecycle;
use oxidot::registry;
use serde_yaml_ng::{Mapping, Value};
use std::time::Duration;

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::from(k), v);
    }
    Value::Mapping(m)
}

fn list(items: &[&str]) -> Value {
    Value::Sequence(items.iter().map(|s| Value::from(*s)).collect())
}

/// Listeners bind an ephemeral loopback port instead of their default one.
fn ephemeral(v: &mut Value) {
    if let Value::Mapping(m) = v {
        for (k, val) in m.iter_mut() {
            if k.as_str() == Some("endpoint") && val.is_string() {
                *val = Value::from("127.0.0.1:0");
            } else {
                ephemeral(val);
            }
        }
    }
}

/// A config with one pipeline per signal the type supports, the type in its place.
fn config_for(kind: Kind, name: &str, component: Value) -> Value {
    let signals: Vec<Signal> = match kind {
        Kind::Extension => vec![Signal::Traces],
        _ => registry::types()
            .find(|(t, _)| t.kind == kind && t.name == name)
            .map(|(t, _)| t.signals.to_vec())
            .unwrap_or_default(),
    };
    let mut otlp = registry::types()
        .find(|(t, _)| t.kind == Kind::Receiver && t.name == "otlp")
        .map(|(_, f)| f.factory().default_config())
        .unwrap();
    ephemeral(&mut otlp);
    let (receiver, processor, exporter) = match kind {
        Kind::Receiver => (name, None, "debug"),
        Kind::Processor => ("otlp", Some(name), "debug"),
        Kind::Exporter => ("otlp", None, name),
        _ => ("otlp", None, "debug"),
    };
    let mut receivers = vec![(receiver, if kind == Kind::Receiver { component.clone() } else { otlp })];
    receivers.dedup_by(|a, b| a.0 == b.0);
    let mut pipelines = Vec::new();
    for s in &signals {
        let mut p = vec![("receivers", list(&[receiver])), ("exporters", list(&[exporter]))];
        if let Some(pr) = processor {
            p.push(("processors", list(&[pr])));
        }
        pipelines.push((s.as_str(), map(p)));
    }
    let mut root = vec![
        ("receivers", map(receivers)),
        ("exporters", map(vec![(exporter, if kind == Kind::Exporter { component.clone() } else { map(vec![]) })])),
    ];
    let mut service = vec![
        ("pipelines", map(pipelines)),
        ("telemetry", map(vec![("metrics", map(vec![("level", Value::from("none"))]))])),
    ];
    if let Some(pr) = processor {
        root.push(("processors", map(vec![(pr, component.clone())])));
    }
    if kind == Kind::Extension {
        root.push(("extensions", map(vec![(name, component)])));
        service.push(("extensions", list(&[name])));
    }
    root.push(("service", map(service)));
    map(root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_type_builds_starts_and_stops_from_its_default_config() {
    let mut done = Vec::new();
    for (t, f) in registry::types() {
        let mut component = f.factory().default_config();
        // Listeners (receivers, extensions) bind port 0; exporters connect lazily.
        if matches!(t.kind, Kind::Receiver | Kind::Extension) {
            ephemeral(&mut component);
        }
        let value = config_for(t.kind, t.name, component);
        let resolved = Resolved { sources: vec![], value, warnings: vec![], description: String::new() };
        let cfg = Config::from_resolved(&resolved).unwrap_or_else(|e| panic!("{} {}: {e}", t.kind.word(), t.name));
        lifecycle::build(&cfg).unwrap_or_else(|e| panic!("{} {}: build: {e}", t.kind.word(), t.name));
        let running =
            lifecycle::start(&cfg).await.unwrap_or_else(|e| panic!("{} {}: start: {e}", t.kind.word(), t.name));
        running.shutdown(Duration::from_secs(5)).await;
        done.push(format!("{}/{}", t.kind.word(), t.name));
    }
    assert_eq!(done.len(), registry::types().count());
    assert!(done.contains(&"extension/health_check".to_string()), "{done:?}");
}

/// scripts/check_imports.py: no circle, only the registry names components, config is a leaf,
/// the pipeline knows no component, no exporter imports from a receiver.
#[test]
fn the_import_graph_keeps_its_shape() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check_imports.py");
    let out = std::process::Command::new("python3").arg(script).output().expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<&str> =
        text.lines().filter(|l| !l.starts_with(' ') && !l.contains(" units, ") && !l.is_empty()).collect();
    assert!(problems.is_empty(), "{text}");
}
