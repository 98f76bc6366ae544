//! Prometheus metric, label and unit names from OTLP, following github.com/prometheus/otlptranslator
//! v1.0.0 (the version the Go collector's prometheusremotewrite translator uses): `MetricNamer`,
//! `LabelNamer`, `UnitNamer`. Golden tables ported from its tests live in
//! `tests/fixtures/golden/prometheusremotewrite/` (see `translate/tests.rs`).

/// otlptranslator metric_type.go `MetricType`: how a metric's type affects its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Unknown,
    NonMonotonicCounter,
    MonotonicCounter,
    Gauge,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// otlptranslator strategy.go `TranslationStrategyOption` (the exporter's `translation_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    UnderscoreEscapingWithSuffixes,
    UnderscoreEscapingWithoutSuffixes,
    NoUtf8EscapingWithSuffixes,
    NoTranslation,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        Some(match s {
            "UnderscoreEscapingWithSuffixes" => Strategy::UnderscoreEscapingWithSuffixes,
            "UnderscoreEscapingWithoutSuffixes" => Strategy::UnderscoreEscapingWithoutSuffixes,
            "NoUTF8EscapingWithSuffixes" => Strategy::NoUtf8EscapingWithSuffixes,
            "NoTranslation" => Strategy::NoTranslation,
            _ => return None,
        })
    }
    /// strategy.go `ShouldEscape`.
    pub fn should_escape(self) -> bool {
        matches!(self, Strategy::UnderscoreEscapingWithSuffixes | Strategy::UnderscoreEscapingWithoutSuffixes)
    }
    /// strategy.go `ShouldAddSuffixes`.
    pub fn should_add_suffixes(self) -> bool {
        matches!(self, Strategy::UnderscoreEscapingWithSuffixes | Strategy::NoUtf8EscapingWithSuffixes)
    }
}

/// Go's `%q` for the strings these errors quote (printable characters kept as they are).
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// unit_namer.go `unitMap`: OTel (UCUM) units → Prometheus unit words.
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

/// unit_namer.go `perUnitMap`: units after `/` → "per" words.
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

/// metric_namer.go `isValidCompliantMetricChar`: ASCII letters, digits and `:`.
fn metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// strconv.go `isValidCompliantLabelChar`: ASCII letters and digits.
fn label_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// strconv.go `collapseMultipleUnderscores`.
fn collapse_underscores(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = false;
    for c in s.chars() {
        if c == '_' {
            if !prev {
                out.push('_');
            }
            prev = true;
        } else {
            out.push(c);
            prev = false;
        }
    }
    out
}

/// unit_namer.go `buildUnitSuffixes`: the main unit word and `per_<word>` (either may be empty).
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let mut main = String::new();
    let mut per = String::new();
    if let Some(m) = parts.next().map(str::trim) {
        if !m.is_empty() && !m.contains(['{', '}']) {
            main = unit_word(m).to_string();
        }
    }
    if let Some(p) = parts.next().filter(|p| !p.is_empty()).map(str::trim) {
        if !p.is_empty() && !p.contains(['{', '}']) {
            per = per_unit_word(p).to_string();
        }
        if !per.is_empty() {
            per = format!("per_{per}");
        }
    }
    (main, per)
}

/// unit_namer.go `cleanUpUnit`: forbidden characters → `_`, runs collapsed, no leading `_`.
fn clean_unit(u: &str) -> String {
    let mapped: String = u.chars().map(|c| if metric_char(c) { c } else { '_' }).collect();
    let collapsed = collapse_underscores(&mapped);
    collapsed.strip_prefix('_').unwrap_or(&collapsed).to_string()
}

/// unit_namer.go `UnitNamer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitNamer {
    pub utf8_allowed: bool,
}

impl UnitNamer {
    /// unit_namer.go `Build`.
    pub fn build(&self, unit: &str) -> String {
        let (mut main, mut per) = unit_suffixes(unit);
        if !self.utf8_allowed {
            main = clean_unit(&main);
            per = clean_unit(&per);
        }
        let mut u = match (main.is_empty(), per.is_empty()) {
            (false, false) => format!("{main}_{per}"),
            (false, true) => main,
            _ => per,
        };
        if u.starts_with('_') {
            u.remove(0);
        }
        if u.ends_with('_') {
            u.pop();
        }
        u
    }
}

/// metric_namer.go `MetricNamer`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricNamer {
    pub namespace: String,
    pub with_suffixes: bool,
    pub utf8_allowed: bool,
}

impl MetricNamer {
    /// metric_namer.go `NewMetricNamer`.
    pub fn new(namespace: &str, strategy: Strategy) -> MetricNamer {
        MetricNamer {
            namespace: namespace.to_string(),
            with_suffixes: strategy.should_add_suffixes(),
            utf8_allowed: !strategy.should_escape(),
        }
    }

    /// metric_namer.go `Build`: the Prometheus name, or the error Go returns.
    pub fn build(&self, name: &str, unit: &str, ty: MetricType) -> Result<String, String> {
        if self.utf8_allowed {
            return Ok(self.utf8_name(name, unit, ty));
        }
        let n = self.compliant_name(name, unit, ty);
        // metric_namer.go `buildCompliantMetricName` (deferred checks).
        if n.is_empty() {
            return Err(format!("normalization for metric {} resulted in empty name", quote(name)));
        }
        if n != name && n.chars().all(|c| c == '_') {
            return Err(format!("normalization for metric {} resulted in invalid name {}", quote(name), quote(&n)));
        }
        Ok(n)
    }

    /// metric_namer.go `buildCompliantMetricName`.
    fn compliant_name(&self, name: &str, unit: &str, ty: MetricType) -> String {
        if self.with_suffixes {
            return normalize_name(name, unit, ty, &self.namespace);
        }
        let keep = |c: char| metric_char(c) || c == '_';
        let join = |s: &str| s.split(|c: char| !keep(c)).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("_");
        let metric = join(name);
        if !self.namespace.is_empty() {
            return format!("{}_{metric}", join(&self.namespace));
        }
        if metric.starts_with(|c: char| c.is_ascii_digit()) {
            format!("_{metric}")
        } else {
            metric
        }
    }

    /// metric_namer.go `buildMetricName` (UTF-8 allowed: only suffixes, no escaping).
    fn utf8_name(&self, input: &str, unit: &str, ty: MetricType) -> String {
        let mut name = input.to_string();
        if !self.namespace.is_empty() {
            name = format!("{}_{name}", self.namespace);
        }
        if !self.with_suffixes {
            return name;
        }
        // Suffixes are appended innermost first: unit, per-unit, `_total`, `_ratio`.
        let ratio = unit == "1" && ty == MetricType::Gauge;
        if ratio {
            name = trim_suffix_and_delimiter(&name, "ratio");
        }
        let total = ty == MetricType::MonotonicCounter;
        if total {
            name = trim_suffix_and_delimiter(&name, "total");
        }
        let (main, per) = unit_suffixes(unit);
        if !per.is_empty() {
            name = trim_suffix_and_delimiter(&name, &per);
        }
        if !main.is_empty() && !name.ends_with(&main) {
            name = format!("{name}_{main}");
        }
        if !per.is_empty() {
            name = format!("{name}_{per}");
        }
        if total {
            name.push_str("_total");
        }
        if ratio {
            name.push_str("_ratio");
        }
        name
    }
}

/// metric_namer.go `trimSuffixAndDelimiter`.
fn trim_suffix_and_delimiter(name: &str, suffix: &str) -> String {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        name[..name.len() - suffix.len() - 1].to_string()
    } else {
        name.to_string()
    }
}

/// metric_namer.go `normalizeName`: tokens of allowed characters joined by `_` (so runs of `_`
/// collapse), unit and per-unit words unless already present, `_total` for monotonic counters,
/// `_ratio` for gauges of unit `1`, the namespace in front, `_` before a leading digit.
fn normalize_name(name: &str, unit: &str, ty: MetricType, namespace: &str) -> String {
    let mut toks: Vec<String> =
        name.split(|c: char| !metric_char(c)).filter(|t| !t.is_empty()).map(str::to_string).collect();
    let (main, per) = unit_suffixes(unit);
    let (mut main, mut per) = (clean_unit(&main), clean_unit(&per));
    // metric_namer.go `addUnitTokens`.
    if toks.contains(&main) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        if per.ends_with('_') {
            per.pop();
        }
        if toks.contains(&per) {
            per.clear();
        }
    }
    if !per.is_empty() && main.ends_with('_') {
        main.pop();
    }
    if !main.is_empty() {
        toks.push(main);
    }
    if !per.is_empty() {
        toks.push(per);
    }
    if ty == MetricType::MonotonicCounter {
        toks.retain(|t| t != "total");
        toks.push("total".into());
    }
    if unit == "1" && ty == MetricType::Gauge {
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

/// label_namer.go `LabelNamer`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LabelNamer {
    pub utf8_allowed: bool,
    /// `key` before a name starting with a single `_` (deprecated in otlptranslator, still on in
    /// the Go collector's translator unless the `pkg.translator.prometheus.PermissiveLabelSanitization`
    /// gate is enabled).
    pub underscore_label_sanitization: bool,
    pub preserve_multiple_underscores: bool,
}

impl LabelNamer {
    /// label_namer.go `Build`.
    pub fn build(&self, label: &str) -> Result<String, String> {
        if label.is_empty() {
            return Err("label name is empty".into());
        }
        let only_underscores = |s: &str| s.chars().all(|c| c == '_');
        if self.utf8_allowed {
            if only_underscores(label) {
                return Err(format!("label name {} contains only underscores", quote(label)));
            }
            return Ok(label.to_string());
        }
        let mut n = sanitize_label(label, self.preserve_multiple_underscores);
        if n.starts_with(|c: char| c.is_ascii_digit()) {
            n.insert_str(0, "key_");
        } else if self.underscore_label_sanitization && n.starts_with('_') && !n.starts_with("__") {
            n.insert_str(0, "key");
        }
        if only_underscores(&n) {
            return Err(format!(
                "normalization for label name {} resulted in invalid name {}",
                quote(label),
                quote(&n)
            ));
        }
        Ok(n)
    }
}

/// strconv.go `sanitizeLabelName`: every character other than ASCII letters and digits becomes
/// `_`; unless preserving, runs of them collapse to one, and a reserved `__x__` keeps its wrapper.
fn sanitize_label(name: &str, preserve: bool) -> String {
    if preserve {
        return name.chars().map(|c| if label_char(c) { c } else { '_' }).collect();
    }
    let reserved = name.len() >= 4 && name.starts_with("__") && name.ends_with("__");
    let inner = if reserved { &name[2..name.len() - 2] } else { name };
    let mut out = String::with_capacity(name.len());
    if reserved {
        out.push_str("__");
    }
    let mut prev = false;
    for c in inner.chars() {
        if label_char(c) {
            out.push(c);
            prev = false;
        } else if !prev {
            out.push('_');
            prev = true;
        }
    }
    if reserved {
        out.push_str("__");
    }
    out
}
