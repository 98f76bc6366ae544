//! Prometheus metric and label names from OTLP, following the Go collector's translator
//! (contrib `pkg/translator/prometheus`: unit suffixes, `_total`, `_ratio`, forbidden characters).

/// How a metric's type affects its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Gauge,
    MonotonicSum,
    Other,
}

/// OTel (UCUM) units → Prometheus unit words.
fn unit_word(u: &str) -> &str {
    match u {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// Units after `/` → "per" words.
fn per_unit_word(u: &str) -> &str {
    match u {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

fn tokens(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).collect()
}

/// Joins the alphanumeric runs of `s` with `_`.
fn clean(s: &str) -> String {
    tokens(s).join("_")
}

/// The Prometheus name of a metric.
pub fn metric_name(name: &str, unit: &str, kind: NameKind, namespace: &str, add_suffixes: bool) -> String {
    if !add_suffixes {
        // Only forbidden characters go (letters, digits, `_` and `:` stay).
        let kept: Vec<&str> =
            name.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).filter(|t| !t.is_empty()).collect();
        let n = kept.join("_");
        if !namespace.is_empty() {
            return format!("{namespace}_{n}");
        }
        return if n.starts_with(|c: char| c.is_ascii_digit()) { format!("_{n}") } else { n };
    }
    let mut toks: Vec<String> = tokens(name).into_iter().map(str::to_string).collect();
    let mut parts = unit.splitn(2, '/');
    if let Some(main) = parts.next().map(str::trim).filter(|u| !u.is_empty() && !u.contains(['{', '}'])) {
        let w = clean(unit_word(main));
        if !w.is_empty() && !toks.contains(&w) {
            toks.push(w);
        }
    }
    if let Some(per) = parts.next().map(str::trim).filter(|u| !u.is_empty() && !u.contains(['{', '}'])) {
        let w = clean(per_unit_word(per));
        if !w.is_empty() && !toks.contains(&w) {
            toks.push("per".into());
            toks.push(w);
        }
    }
    if kind == NameKind::MonotonicSum {
        toks.retain(|t| t != "total");
        toks.push("total".into());
    }
    if unit == "1" && kind == NameKind::Gauge {
        toks.retain(|t| t != "ratio");
        toks.push("ratio".into());
    }
    if !namespace.is_empty() {
        toks.insert(0, namespace.to_string());
    }
    let n = toks.join("_");
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{n}")
    } else {
        n
    }
}

/// A valid Prometheus label name: other characters become `_`; a leading digit gets `key_`,
/// a single leading `_` gets `key` (double underscores are reserved and kept).
pub fn label_name(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut out: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use NameKind::*;

    #[test]
    fn metric_names() {
        let rows = [
            ("http_request_count", "", MonotonicSum, "", true, "http_request_count_total"),
            ("http.server.duration", "ms", Other, "", true, "http_server_duration_milliseconds"),
            ("system.network.io", "By", MonotonicSum, "", true, "system_network_io_bytes_total"),
            ("requests.total", "", MonotonicSum, "", true, "requests_total"),
            ("cpu.utilization", "1", Gauge, "", true, "cpu_utilization_ratio"),
            ("cpu.utilization", "1", MonotonicSum, "", true, "cpu_utilization_total"),
            ("throughput", "By/s", Gauge, "", true, "throughput_bytes_per_second"),
            ("active_simulated_users", "{user}", Gauge, "", true, "active_simulated_users"),
            ("queue.size", "{items}/s", Gauge, "", true, "queue_size_per_second"),
            ("temp", "Cel", Gauge, "app", true, "app_temp_celsius"),
            ("latency_seconds", "s", Other, "", true, "latency_seconds"),
            ("2xx.count", "", Gauge, "", true, "_2xx_count"),
            ("custom", "widgets", Gauge, "", true, "custom_widgets"),
            ("http.server.duration", "ms", Other, "", false, "http_server_duration"),
            ("http_request_count", "", MonotonicSum, "ns", false, "ns_http_request_count"),
            ("a:b-c", "", Gauge, "", false, "a:b_c"),
            ("9lives", "", Gauge, "", false, "_9lives"),
        ];
        for (name, unit, kind, ns, suffixes, want) in rows {
            assert_eq!(metric_name(name, unit, kind, ns, suffixes), want, "{name} [{unit}]");
        }
    }

    #[test]
    fn label_names() {
        assert_eq!(label_name("service.name"), "service_name");
        assert_eq!(label_name("http-method"), "http_method");
        assert_eq!(label_name("5xx"), "key_5xx");
        assert_eq!(label_name("_private"), "key_private");
        assert_eq!(label_name("__reserved__"), "__reserved__");
        assert_eq!(label_name("ünïcode"), "key_n_code");
    }
}
