//! One StatsD/DogStatsD line → a parsed metric (contrib statsdreceiver
//! internal/parser/statsd_parser.go `parseMessageToMetric`), with Go's error texts.
//!
//! `<name>:<value>|<type>[|@<rate>][|#k:v,k2:v2][|c:<container id>][|T<unix seconds>]`

/// The line's type (Go `MetricType`). Sets (`s`) are not among them: Go rejects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Timing,
    Distribution,
}

impl MetricType {
    fn parse(s: &str) -> Option<MetricType> {
        Some(match s {
            "c" => MetricType::Counter,
            "g" => MetricType::Gauge,
            "h" => MetricType::Histogram,
            "ms" => MetricType::Timing,
            "d" => MetricType::Distribution,
            _ => return None,
        })
    }

    /// Go `MetricType.FullName`: the `metric_type` attribute's value.
    pub fn full_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Timing => "timing",
            MetricType::Distribution => "distribution",
        }
    }
}

/// What identifies one aggregated series (Go `statsDMetricDescription`): name, type and the
/// attribute set, sorted by key with the last value of a repeated key (Go `attribute.NewSet`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Description {
    pub name: String,
    pub kind: MetricType,
    pub attrs: Vec<(String, String)>,
}

/// A parsed line (Go `statsDMetric`).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub desc: Description,
    pub value: f64,
    /// The value had a sign: a gauge line then adds to the current value.
    pub addition: bool,
    pub sample_rate: f64,
    /// `T<seconds>` in nanoseconds, 0 when absent.
    pub timestamp: u64,
}

/// semconv `container.id`: DogStatsD protocol v1.2 `|c:<id>`.
const CONTAINER_ID: &str = "container.id";

/// Go's `strconv.ParseFloat` for the forms StatsD clients send (decimal, exponent, inf, nan).
fn parse_float(s: &str) -> Option<f64> {
    // Rust also takes "infinity"/"nan" case-insensitively, as Go does; it has no hex floats.
    s.parse::<f64>().ok()
}

/// Go `parseMessageToMetric(line, enableMetricType, enableSimpleTags)`.
pub fn parse(line: &str, enable_metric_type: bool, enable_simple_tags: bool) -> Result<Parsed, String> {
    let Some((name_value, rest)) = line.split_once('|') else {
        return Err(format!("invalid message format: {line}"));
    };
    let Some((name, value_str)) = name_value.split_once(':') else {
        return Err(format!("invalid <name>:<value> format: {name_value}"));
    };
    if name.is_empty() {
        return Err("empty metric name".into());
    }
    if value_str.is_empty() {
        return Err("empty metric value".into());
    }
    let addition = value_str.starts_with('-') || value_str.starts_with('+');
    let (type_str, mut additional) = rest.split_once('|').unwrap_or((rest, ""));
    let kind = MetricType::parse(type_str).ok_or_else(|| format!("unsupported metric type: {type_str}"))?;

    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut sample_rate = 0.0;
    let mut timestamp = 0u64;
    // Go walks the parts with strings.Cut and stops at the first empty one.
    loop {
        let (part, next) = additional.split_once('|').unwrap_or((additional, ""));
        additional = next;
        if part.is_empty() {
            break;
        }
        if let Some(rate) = part.strip_prefix('@') {
            sample_rate = parse_float(rate).ok_or_else(|| format!("parse sample rate: {rate}"))?;
        } else if let Some(mut tags) = part.strip_prefix('#') {
            // The tag list also stops at its first empty element ("#" and "#,,," carry none).
            loop {
                let (tag, next) = tags.split_once(',').unwrap_or((tags, ""));
                tags = next;
                if tag.is_empty() {
                    break;
                }
                let (k, v) = tag.split_once(':').unwrap_or((tag, ""));
                if k.is_empty() || (v.is_empty() && !enable_simple_tags) {
                    return Err(format!("invalid tag format: {tag:?}"));
                }
                attrs.push((k.to_string(), v.to_string()));
            }
        } else if let Some(id) = part.strip_prefix("c:") {
            if !id.is_empty() {
                attrs.push((CONTAINER_ID.to_string(), id.to_string()));
            }
        } else if let Some(ts) = part.strip_prefix('T') {
            if kind != MetricType::Counter && kind != MetricType::Gauge {
                return Err("only GAUGE and COUNT metrics support a timestamp".into());
            }
            // strconv.ParseUint: decimal digits only, no sign; Go multiplies with wrap-around.
            let secs = (!ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit()))
                .then(|| ts.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| format!("invalid timestamp: {ts}"))?;
            timestamp = secs.wrapping_mul(1_000_000_000);
        } else {
            return Err(format!("unrecognized message part: {part}"));
        }
    }
    let value = parse_float(value_str).ok_or_else(|| format!("parse metric value string: {value_str}"))?;
    if enable_metric_type {
        attrs.push(("metric_type".to_string(), kind.full_name().to_string()));
    }
    Ok(Parsed {
        desc: Description { name: name.to_string(), kind, attrs: attr_set(attrs) },
        value,
        addition,
        sample_rate,
        timestamp,
    })
}

/// Go `attribute.NewSet`: sorted by key, the last value of a repeated key kept.
fn attr_set(mut kvs: Vec<(String, String)>) -> Vec<(String, String)> {
    // A stable sort keeps equal keys in arrival order, so the last of a run is the last sent.
    kvs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, String)> = Vec::with_capacity(kvs.len());
    for kv in kvs {
        match out.last_mut() {
            Some(last) if last.0 == kv.0 => *last = kv,
            _ => out.push(kv),
        }
    }
    out
}

#[cfg(test)]
mod tests;
