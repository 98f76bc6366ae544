//! The labels of a series: data point attributes, `job`/`instance` from the resource, external
//! and scope labels (helper.go `createAttributes`, resourcetotelemetry).

use super::TranslateOptions;
use crate::exporter::prometheusremotewrite::naming::LabelNamer;
use crate::pipeline::attrs::{find, value_text};
use crate::proto::prometheus::Label;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::BTreeMap;

/// helper.go `addResourceTargetInfo`: identifying attributes, which become `job`/`instance`.
pub(super) const ID_ATTRS: [&str; 3] = ["service.namespace", "service.name", "service.instance.id"];

pub(super) fn resource_attrs(r: &Option<Resource>) -> &[KeyValue] {
    r.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[])
}

/// helper.go `createAttributes`: attributes (sorted by key, names built by `namer`, values of
/// names that collide joined with `;` unless equal), `job`/`instance` from the resource
/// (overriding attributes), external labels (never overriding), the scope's labels
/// (overriding), then `extras` (`__name__`, `le`, `quantile`), sorted by name. Err when an
/// attribute name cannot be built.
pub(super) fn label_set(
    resource: &[KeyValue],
    attrs: &[KeyValue],
    ignore: &[&str],
    namer: &LabelNamer,
    external: &[(String, String)],
    scope: &[(String, String)],
    extras: &[(&str, String)],
) -> Result<Vec<Label>, String> {
    let mut sorted: Vec<(&str, String)> = attrs
        .iter()
        .filter(|a| !ignore.contains(&a.key.as_str()))
        .map(|a| (a.key.as_str(), value_text(&a.value)))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in sorted {
        let name = namer.build(k)?;
        match out.get_mut(&name) {
            Some(e) if *e != v => {
                e.push(';');
                e.push_str(&v);
            }
            Some(_) => {}
            None => {
                out.insert(name, v);
            }
        }
    }
    if let Some(sn) = find(resource, "service.name") {
        let mut job = value_text(&sn.value);
        if let Some(ns) = find(resource, "service.namespace") {
            job = format!("{}/{job}", value_text(&ns.value));
        }
        out.insert("job".into(), job);
    }
    if let Some(id) = find(resource, "service.instance.id") {
        out.insert("instance".into(), value_text(&id.value));
    }
    for (k, v) in external {
        out.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in scope {
        out.insert(k.clone(), v.clone());
    }
    for (k, v) in extras {
        out.insert(k.to_string(), v.clone());
    }
    Ok(out.into_iter().map(|(name, value)| Label { name, value }).collect())
}

/// helper.go `createAttributes` (contrib since v0.146, with `disable_scope_info`): unless
/// disabled, `otel_scope_name` and `otel_scope_version` (when not empty) and `otel_scope_<key>`
/// for each scope attribute (its `AsString` text, a later one winning on the same name), names
/// built by the data point label namer. Not on `target_info`.
pub(super) fn scope_labels(scope: &Option<InstrumentationScope>, opts: &TranslateOptions) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(scope) = scope.as_ref().filter(|_| !opts.disable_scope_info) else {
        return out;
    };
    let mut put = |k: String, v: String| {
        let k = opts.label_namer.build(&k).unwrap_or(k);
        match out.iter_mut().find(|(n, _)| *n == k) {
            Some(e) => e.1 = v,
            None => out.push((k, v)),
        }
    };
    if !scope.name.is_empty() {
        put("otel_scope_name".into(), scope.name.clone());
    }
    if !scope.version.is_empty() {
        put("otel_scope_version".into(), scope.version.clone());
    }
    for a in &scope.attributes {
        put(format!("otel_scope_{}", a.key), value_text(&a.value));
    }
    out
}

/// Data point attributes, with the resource's copied over them when
/// `resource_to_telemetry_conversion` is on (contrib pkg/resourcetotelemetry `joinAttributeMaps`).
pub(super) fn point_attrs<'a>(res: &'a [KeyValue], attrs: &'a [KeyValue], opts: &TranslateOptions) -> Vec<KeyValue> {
    let mut merged: Vec<KeyValue> = attrs.to_vec();
    if opts.resource_to_telemetry {
        for r in res {
            match merged.iter_mut().find(|a| a.key == r.key) {
                Some(e) => e.value = r.value.clone(),
                None => merged.push(r.clone()),
            }
        }
    }
    merged
}
