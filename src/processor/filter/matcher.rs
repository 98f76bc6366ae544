//! The legacy matchers of contrib's internal/filter, compiled once from the config:
//! filterset (strict | regexp string sets), filtermatcher (attributes, resources, libraries),
//! filterspan, filterlog and filtermetric (the include/exclude "skip" rule: an item is dropped
//! when `include` is set and does not match it, or when it matches `exclude`).

use super::{Attribute, LogFilters, LogMatchProperties, MatchConfig, MatchProperties, MetricFilters};
use crate::pipeline::attrs;
use crate::processor::attraction::any_from_yaml;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use regex::Regex;
use std::collections::HashSet;

/// A config error: the YAML path below the processor, and the message.
pub type KeyError = (String, String);

/// What the processor runs: one filter per signal, `None` when it keeps everything.
#[derive(Debug, Default)]
pub struct Compiled {
    pub spans: Option<SpansFilter>,
    pub metrics: Option<MetricsFilter>,
    pub logs: Option<LogsFilter>,
}

/// filterset.FilterSet: exact strings, or unanchored regular expressions (Go's `MatchString`).
#[derive(Debug)]
pub enum FilterSet {
    Strict(HashSet<String>),
    Regexp(Vec<Regex>),
}

/// filterset.NewUnrecognizedMatchTypeError.
fn unrecognized(match_type: &str) -> String {
    format!("unrecognized match_type: '{match_type}', valid types are: [regexp strict]")
}

impl FilterSet {
    /// filterset.CreateFilterSet.
    pub fn new(items: &[String], match_type: &str) -> Result<FilterSet, String> {
        match match_type {
            "strict" => Ok(FilterSet::Strict(items.iter().cloned().collect())),
            "regexp" => items
                .iter()
                .map(|s| Regex::new(s).map_err(|e| format!("error parsing regexp: {e}")))
                .collect::<Result<Vec<_>, _>>()
                .map(FilterSet::Regexp),
            other => Err(unrecognized(other)),
        }
    }

    pub fn matches(&self, s: &str) -> bool {
        match self {
            FilterSet::Strict(set) => set.contains(s),
            FilterSet::Regexp(res) => res.iter().any(|r| r.is_match(s)),
        }
    }
}

/// A list that is only a filter when not empty.
fn optional_set(items: &[String], match_type: &str, what: &str) -> Result<Option<FilterSet>, String> {
    if items.is_empty() {
        return Ok(None);
    }
    FilterSet::new(items, match_type).map(Some).map_err(|e| format!("error creating {what} filters: {e}"))
}

#[derive(Debug)]
enum AttrCheck {
    /// No `value`: the key must exist.
    Exists,
    /// strict: same type and value.
    Value(AnyValue),
    /// regexp: the value's text form must match.
    Pattern(FilterSet),
}

/// filtermatcher.AttributesMatcher: every listed attribute must be there (and match).
#[derive(Debug)]
pub struct AttrsMatcher(Vec<(String, AttrCheck)>);

impl AttrsMatcher {
    /// filtermatcher.NewAttributesMatcher; `None` for an empty list.
    pub fn new(attributes: &[Attribute], match_type: &str) -> Result<Option<AttrsMatcher>, String> {
        let mut out = Vec::new();
        for a in attributes {
            if a.key.is_empty() {
                return Err("can't have empty key in the list of attributes".into());
            }
            let check = match a.value.as_ref().filter(|v| !v.is_null()) {
                None => AttrCheck::Exists,
                Some(v) => {
                    let val = any_from_yaml(v);
                    match match_type {
                        "regexp" => match &val.value {
                            Some(any_value::Value::StringValue(s)) => {
                                AttrCheck::Pattern(FilterSet::new(std::slice::from_ref(s), "regexp")?)
                            }
                            _ => {
                                return Err(format!(
                                    "match_type=regexp for {:?} only supports Str, but found {}",
                                    a.key,
                                    type_name(&val)
                                ))
                            }
                        },
                        "strict" => AttrCheck::Value(val),
                        other => return Err(unrecognized(other)),
                    }
                }
            };
            out.push((a.key.clone(), check));
        }
        Ok((!out.is_empty()).then_some(AttrsMatcher(out)))
    }

    pub fn matches(&self, attrs: &[KeyValue]) -> bool {
        if attrs.is_empty() {
            return false;
        }
        self.0.iter().all(|(key, check)| {
            let Some(kv) = attrs::find(attrs, key) else { return false };
            match check {
                AttrCheck::Exists => true,
                AttrCheck::Value(want) => value_equal(want, kv.value.as_ref()),
                AttrCheck::Pattern(fs) => attribute_text(kv.value.as_ref()).is_some_and(|t| fs.matches(&t)),
            }
        })
    }
}

/// pcommon type names, as Go's error message prints them.
fn type_name(v: &AnyValue) -> &'static str {
    match &v.value {
        Some(any_value::Value::StringValue(_)) => "Str",
        Some(any_value::Value::BoolValue(_)) => "Bool",
        Some(any_value::Value::IntValue(_)) => "Int",
        Some(any_value::Value::DoubleValue(_)) => "Double",
        Some(any_value::Value::ArrayValue(_)) => "Slice",
        Some(any_value::Value::KvlistValue(_)) => "Map",
        Some(any_value::Value::BytesValue(_)) => "Bytes",
        _ => "Empty",
    }
}

/// attributematcher.go attributeValueMatch: same type, same value.
fn value_equal(want: &AnyValue, got: Option<&AnyValue>) -> bool {
    let got = got.and_then(|g| g.value.as_ref());
    match (&want.value, got) {
        (Some(any_value::Value::DoubleValue(a)), Some(any_value::Value::DoubleValue(b))) => a == b,
        (Some(w), Some(g)) => w == g,
        (None, None) => true,
        _ => false,
    }
}

/// attributematcher.go attributeStringValue: strings, booleans, doubles and ints have a text form.
fn attribute_text(v: Option<&AnyValue>) -> Option<String> {
    match v?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::DoubleValue(d) => Some(attrs::fmt_f64(*d)),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        _ => None,
    }
}

/// filtermatcher.PropertiesMatcher: libraries, resource attributes, item attributes.
#[derive(Debug)]
struct PropsMatcher {
    libraries: Vec<(FilterSet, Option<FilterSet>)>,
    attributes: Option<AttrsMatcher>,
    resources: Option<AttrsMatcher>,
}

impl PropsMatcher {
    fn new(
        match_type: &str,
        libraries: &[super::Library],
        attributes: &[Attribute],
        resources: &[Attribute],
    ) -> Result<Self, String> {
        let mut libs = Vec::new();
        for l in libraries {
            let name = FilterSet::new(std::slice::from_ref(&l.name), match_type)
                .map_err(|e| format!("error creating library name filters: {e}"))?;
            let version = match &l.version {
                Some(v) => Some(
                    FilterSet::new(std::slice::from_ref(v), match_type)
                        .map_err(|e| format!("error creating library version filters: {e}"))?,
                ),
                None => None,
            };
            libs.push((name, version));
        }
        let attributes =
            AttrsMatcher::new(attributes, match_type).map_err(|e| format!("error creating attribute filters: {e}"))?;
        let resources =
            AttrsMatcher::new(resources, match_type).map_err(|e| format!("error creating resource filters: {e}"))?;
        Ok(PropsMatcher { libraries: libs, attributes, resources })
    }

    fn matches(&self, attrs: &[KeyValue], resource: &[KeyValue], scope: Option<&InstrumentationScope>) -> bool {
        let (name, version) = scope.map(|s| (s.name.as_str(), s.version.as_str())).unwrap_or(("", ""));
        for (n, v) in &self.libraries {
            if !n.matches(name) || v.as_ref().is_some_and(|v| !v.matches(version)) {
                return false;
            }
        }
        if self.resources.as_ref().is_some_and(|r| !r.matches(resource)) {
            return false;
        }
        self.attributes.as_ref().is_none_or(|a| a.matches(attrs))
    }
}

fn resource_attrs(r: &Option<Resource>) -> &[KeyValue] {
    r.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[])
}

// ---- spans (filterspan.go) ----

/// traceutil.SpanKindStr.
pub fn span_kind_str(kind: i32) -> &'static str {
    match kind {
        0 => "SPAN_KIND_UNSPECIFIED",
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "",
    }
}

const SPAN_KINDS: [&str; 5] =
    ["SPAN_KIND_CLIENT", "SPAN_KIND_CONSUMER", "SPAN_KIND_INTERNAL", "SPAN_KIND_PRODUCER", "SPAN_KIND_SERVER"];

#[derive(Debug)]
pub struct SpanMatcher {
    props: PropsMatcher,
    services: Option<FilterSet>,
    names: Option<FilterSet>,
    kinds: Option<FilterSet>,
}

impl SpanMatcher {
    /// filterconfig.ValidateForSpans, then filterspan.newExpr.
    fn new(mp: &MatchProperties) -> Result<SpanMatcher, String> {
        if !mp.log_bodies.is_empty() {
            return Err("log_bodies should not be specified for trace spans".into());
        }
        if !mp.log_severity_texts.is_empty() {
            return Err("log_severity_texts should not be specified for trace spans".into());
        }
        if mp.log_severity_number.is_some() {
            return Err("log_severity_number should not be specified for trace spans".into());
        }
        if mp.services.is_empty()
            && mp.span_names.is_empty()
            && mp.attributes.is_empty()
            && mp.libraries.is_empty()
            && mp.resources.is_empty()
            && mp.span_kinds.is_empty()
        {
            return Err(r#"at least one of "attributes", "libraries",  or "resources" field must be specified"#.into());
        }
        if mp.match_type == "strict" && mp.span_kinds.iter().any(|k| !SPAN_KINDS.contains(&k.as_str())) {
            return Err(format!(
                "span_kinds string must match one of the standard span kinds when match_type=strict: [{}]",
                SPAN_KINDS.join(" ")
            ));
        }
        let mt = mp.match_type.as_str();
        Ok(SpanMatcher {
            props: PropsMatcher::new(mt, &mp.libraries, &mp.attributes, &mp.resources)?,
            services: optional_set(&mp.services, mt, "service name")?,
            names: optional_set(&mp.span_names, mt, "span name")?,
            kinds: optional_set(&mp.span_kinds, mt, "span kind")?,
        })
    }

    pub fn matches(&self, span: &Span, resource: &Option<Resource>, scope: Option<&InstrumentationScope>) -> bool {
        let res = resource_attrs(resource);
        if let Some(s) = &self.services {
            // filterspan.go serviceNameForResource.
            let name = attrs::find(res, "service.name")
                .map(|kv| attrs::value_text(&kv.value))
                .unwrap_or_else(|| "<nil-service-name>".into());
            if !s.matches(&name) {
                return false;
            }
        }
        if self.names.as_ref().is_some_and(|n| !n.matches(&span.name)) {
            return false;
        }
        if self.kinds.as_ref().is_some_and(|k| !k.matches(span_kind_str(span.kind))) {
            return false;
        }
        self.props.matches(&span.attributes, res, scope)
    }
}

/// The include/exclude rule for spans.
#[derive(Debug)]
pub struct SpansFilter {
    include: Option<SpanMatcher>,
    exclude: Option<SpanMatcher>,
}

impl SpansFilter {
    pub fn new(c: &MatchConfig) -> Result<Option<SpansFilter>, KeyError> {
        let build = |mp: &Option<MatchProperties>, k: &str| match mp {
            Some(mp) => SpanMatcher::new(mp).map(Some).map_err(|e| (format!("spans::{k}"), e)),
            None => Ok(None),
        };
        let include = build(&c.include, "include")?;
        let exclude = build(&c.exclude, "exclude")?;
        Ok((include.is_some() || exclude.is_some()).then_some(SpansFilter { include, exclude }))
    }

    pub fn skip(&self, span: &Span, resource: &Option<Resource>, scope: Option<&InstrumentationScope>) -> bool {
        self.include.as_ref().is_some_and(|m| !m.matches(span, resource, scope))
            || self.exclude.as_ref().is_some_and(|m| m.matches(span, resource, scope))
    }
}

// ---- logs (filterlog.go) ----

/// config.go severityToNumber (case-insensitive).
pub fn severity_number(s: &str) -> Option<i32> {
    let u = s.to_ascii_uppercase();
    if let Ok(n) = u.parse::<i32>() {
        return (1..=24).contains(&n).then_some(n);
    }
    let (base, step) = match u.char_indices().find(|(_, c)| c.is_ascii_digit()) {
        Some((i, _)) => (&u[..i], u[i..].parse::<i32>().ok().filter(|n| (2..=4).contains(n))?),
        None => (u.as_str(), 1),
    };
    let first = match base {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" => 13,
        "ERROR" => 17,
        "FATAL" => 21,
        _ => return None,
    };
    Some(first + step - 1)
}

#[derive(Debug)]
pub struct LogMatcher {
    props: PropsMatcher,
    bodies: Option<FilterSet>,
    severity_texts: Option<FilterSet>,
    /// (min, match_undefined): severity_matcher.go.
    severity: Option<(i32, bool)>,
}

impl LogMatcher {
    /// config.go matchProperties + filterlog.newExpr; `None` for properties that set nothing
    /// (`isEmpty`: Go ignores them).
    fn new(lp: &LogMatchProperties) -> Result<Option<LogMatcher>, String> {
        if lp.resource_attributes.is_empty()
            && lp.record_attributes.is_empty()
            && lp.severity_texts.is_empty()
            && lp.bodies.is_empty()
            && lp.severity_number.is_none()
        {
            return Ok(None);
        }
        let severity = match &lp.severity_number {
            None => None,
            Some(sn) if sn.min.is_empty() => Some((0, sn.match_undefined)),
            Some(sn) => match severity_number(&sn.min) {
                Some(n) => Some((n, sn.match_undefined)),
                None => return Err(format!("'{}' is not a valid severity: not a valid severity", sn.min)),
            },
        };
        let mt = lp.match_type.as_str();
        Ok(Some(LogMatcher {
            props: PropsMatcher::new(mt, &[], &lp.record_attributes, &lp.resource_attributes)?,
            bodies: optional_set(&lp.bodies, mt, "log record body")?,
            severity_texts: optional_set(&lp.severity_texts, mt, "log record severity text")?,
            severity,
        }))
    }

    pub fn matches(&self, lr: &LogRecord, resource: &Option<Resource>, scope: Option<&InstrumentationScope>) -> bool {
        if self.bodies.as_ref().is_some_and(|b| !b.matches(&attrs::value_text(&lr.body))) {
            return false;
        }
        if self.severity_texts.as_ref().is_some_and(|t| !t.matches(&lr.severity_text)) {
            return false;
        }
        if let Some((min, undefined)) = self.severity {
            let ok = if lr.severity_number == 0 { undefined } else { lr.severity_number >= min };
            if !ok {
                return false;
            }
        }
        self.props.matches(&lr.attributes, resource_attrs(resource), scope)
    }
}

/// The include/exclude rule for log records.
#[derive(Debug)]
pub struct LogsFilter {
    include: Option<LogMatcher>,
    exclude: Option<LogMatcher>,
}

impl LogsFilter {
    pub fn new(c: &LogFilters) -> Result<Option<LogsFilter>, KeyError> {
        let build = |lp: &Option<LogMatchProperties>, k: &str| match lp {
            Some(lp) => {
                LogMatcher::new(lp).map_err(|e| (format!("logs::{k}"), format!("failed to build skip matcher: {e}")))
            }
            None => Ok(None),
        };
        let include = build(&c.include, "include")?;
        let exclude = build(&c.exclude, "exclude")?;
        Ok((include.is_some() || exclude.is_some()).then_some(LogsFilter { include, exclude }))
    }

    pub fn skip(&self, lr: &LogRecord, resource: &Option<Resource>, scope: Option<&InstrumentationScope>) -> bool {
        self.include.as_ref().is_some_and(|m| !m.matches(lr, resource, scope))
            || self.exclude.as_ref().is_some_and(|m| m.matches(lr, resource, scope))
    }
}

// ---- metrics (filtermetric.go, metrics.go newSkipResExpr) ----

/// Metric names (per metric) and resource attributes (per resource), each include/exclude.
#[derive(Debug)]
pub struct MetricsFilter {
    names: (Option<FilterSet>, Option<FilterSet>),
    resources: (Option<AttrsMatcher>, Option<AttrsMatcher>),
}

impl MetricsFilter {
    pub fn new(c: &MetricFilters) -> Result<Option<MetricsFilter>, KeyError> {
        let names = |mp: &Option<super::MetricMatchProperties>, k: &str| -> Result<Option<FilterSet>, KeyError> {
            let Some(mp) = mp else { return Ok(None) };
            let key = || format!("metrics::{k}");
            if mp.match_type == "expr" {
                if mp.expressions.is_empty() {
                    return Ok(None);
                }
                return Err((format!("metrics::{k}::expressions"), "expr expressions are not supported yet".into()));
            }
            if mp.metric_names.is_empty() {
                return Ok(None);
            }
            FilterSet::new(&mp.metric_names, &mp.match_type).map(Some).map_err(|e| (key(), e))
        };
        let res = |mp: &Option<super::MetricMatchProperties>, k: &str| -> Result<Option<AttrsMatcher>, KeyError> {
            let Some(mp) = mp else { return Ok(None) };
            AttrsMatcher::new(&mp.resource_attributes, &mp.match_type).map_err(|e| (format!("metrics::{k}"), e))
        };
        let f = MetricsFilter {
            resources: (res(&c.include, "include")?, res(&c.exclude, "exclude")?),
            names: (names(&c.include, "include")?, names(&c.exclude, "exclude")?),
        };
        let any = f.names.0.is_some() || f.names.1.is_some() || f.has_resource_rule();
        Ok(any.then_some(f))
    }

    pub fn has_resource_rule(&self) -> bool {
        self.resources.0.is_some() || self.resources.1.is_some()
    }

    pub fn has_name_rule(&self) -> bool {
        self.names.0.is_some() || self.names.1.is_some()
    }

    pub fn skip_resource(&self, resource: &Option<Resource>) -> bool {
        let r = resource_attrs(resource);
        self.resources.0.as_ref().is_some_and(|m| !m.matches(r))
            || self.resources.1.as_ref().is_some_and(|m| m.matches(r))
    }

    pub fn skip_metric(&self, name: &str) -> bool {
        self.names.0.as_ref().is_some_and(|m| !m.matches(name))
            || self.names.1.as_ref().is_some_and(|m| m.matches(name))
    }
}
