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

/// What a resource gives every series of its data points, built once per resource (not per
/// data point): `job` (`service.namespace/service.name`) and `instance` (`service.instance.id`),
/// and with `resource_to_telemetry_conversion` its attributes as label text.
pub(super) struct ResourceLabels<'a> {
    pub(super) attrs: &'a [KeyValue],
    job: Option<String>,
    instance: Option<String>,
    /// The resource's attributes copied over each data point's (contrib pkg/resourcetotelemetry
    /// `joinAttributeMaps`); empty when the option is off.
    to_telemetry: Vec<(&'a str, String)>,
}

impl<'a> ResourceLabels<'a> {
    pub(super) fn new(attrs: &'a [KeyValue], opts: &TranslateOptions) -> ResourceLabels<'a> {
        let job = find(attrs, "service.name").map(|sn| {
            let job = value_text(&sn.value);
            match find(attrs, "service.namespace") {
                Some(ns) => format!("{}/{job}", value_text(&ns.value)),
                None => job,
            }
        });
        let instance = find(attrs, "service.instance.id").map(|id| value_text(&id.value));
        let to_telemetry = if opts.resource_to_telemetry {
            attrs.iter().map(|a| (a.key.as_str(), value_text(&a.value))).collect()
        } else {
            Vec::new()
        };
        ResourceLabels { attrs, job, instance, to_telemetry }
    }

    /// A data point's attributes as (key, text), with the resource's copied over them when
    /// `resource_to_telemetry_conversion` is on (a key already there takes the resource's value,
    /// a new one goes at the end).
    pub(super) fn point_attrs<'p>(&'p self, attrs: &'p [KeyValue]) -> Vec<(&'p str, String)> {
        let mut merged: Vec<(&str, String)> = attrs.iter().map(|a| (a.key.as_str(), value_text(&a.value))).collect();
        for (k, v) in &self.to_telemetry {
            match merged.iter_mut().find(|(mk, _)| mk == k) {
                Some(e) => e.1 = v.clone(),
                None => merged.push((k, v.clone())),
            }
        }
        merged
    }
}

/// One label set without its per-series extras (`__name__`, `le`, `quantile`): built once per
/// data point, then completed for each series the point makes.
pub(super) struct LabelBase(BTreeMap<String, String>);

impl LabelBase {
    /// The labels with `extras` added (overriding), sorted by name.
    pub(super) fn with(&self, extras: &[(&str, String)]) -> Vec<Label> {
        let mut out = self.0.clone();
        for (k, v) in extras {
            out.insert(k.to_string(), v.clone());
        }
        out.into_iter().map(|(name, value)| Label { name, value }).collect()
    }
}

/// helper.go `createAttributes`: attributes (sorted by key, names built by `namer`, values of
/// names that collide joined with `;` unless equal), `job`/`instance` from the resource
/// (overriding attributes), external labels (never overriding), the scope's labels
/// (overriding); the caller adds the extras (`__name__`, `le`, `quantile`) with
/// [`LabelBase::with`]. Err when an attribute name cannot be built.
pub(super) fn label_set(
    resource: &ResourceLabels,
    mut sorted: Vec<(&str, String)>,
    namer: &LabelNamer,
    external: &[(String, String)],
    scope: &[(String, String)],
) -> Result<LabelBase, String> {
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
    if let Some(job) = &resource.job {
        out.insert("job".into(), job.clone());
    }
    if let Some(instance) = &resource.instance {
        out.insert("instance".into(), instance.clone());
    }
    for (k, v) in external {
        out.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in scope {
        out.insert(k.clone(), v.clone());
    }
    Ok(LabelBase(out))
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
