//! One way to write a test's oxidot config: the parts every test repeats (health_check on
//! `$HEALTH`, the otlp receiver on `$GRPC` and optionally `$HTTP`, self-metrics on `$METRICS`,
//! the pipelines' receivers) are filled in; the test gives its processors, exporters and
//! pipelines. The `$…` ports are replaced by [`super::Oxidot::start`] (see [`super::Ports`]).
//!
//! ```ignore
//! let yaml = TestConfig::new()
//!     .processors("  batch:\n    timeout: 100ms\n")
//!     .exporters("  debug:\n")
//!     .pipeline("traces", &["batch"], &["debug"])
//!     .build();
//! ```

/// A config under construction; [`TestConfig::build`] gives the YAML text.
#[derive(Debug, Clone, Default)]
pub struct TestConfig {
    http: bool,
    extensions: String,
    extension_names: Vec<String>,
    processors: String,
    exporters: String,
    pipelines: Vec<(String, Vec<String>, Vec<String>)>,
    telemetry: Option<String>,
}

impl TestConfig {
    /// health_check on `$HEALTH`, otlp over gRPC on `$GRPC`, self-metrics on `$METRICS`.
    pub fn new() -> TestConfig {
        TestConfig::default()
    }

    /// The otlp receiver also listens for OTLP/HTTP on `$HTTP`.
    pub fn http(mut self) -> TestConfig {
        self.http = true;
        self
    }

    /// Adds an extension: its YAML block (indented by two spaces, starting with its id) and
    /// its id in `service.extensions` after health_check.
    pub fn extension(mut self, id: &str, block: &str) -> TestConfig {
        self.extensions.push_str(block);
        self.extension_names.push(id.to_string());
        self
    }

    /// YAML lines under `processors:` (indented by two spaces).
    pub fn processors(mut self, block: &str) -> TestConfig {
        self.processors.push_str(block);
        self
    }

    /// YAML lines under `exporters:` (indented by two spaces).
    pub fn exporters(mut self, block: &str) -> TestConfig {
        self.exporters.push_str(block);
        self
    }

    /// A pipeline from the otlp receiver through `processors` to `exporters`.
    pub fn pipeline(mut self, name: &str, processors: &[&str], exporters: &[&str]) -> TestConfig {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        self.pipelines.push((name.to_string(), v(processors), v(exporters)));
        self
    }

    /// YAML lines under `service.telemetry:` (indented by four spaces) instead of the default
    /// `metrics: {address: 127.0.0.1:$METRICS}`.
    pub fn telemetry(mut self, block: &str) -> TestConfig {
        self.telemetry = Some(block.to_string());
        self
    }

    /// The YAML text, `$…` port placeholders still in it.
    pub fn build(&self) -> String {
        let mut y = String::from("extensions:\n  health_check:\n    endpoint: 127.0.0.1:$HEALTH\n");
        y.push_str(&self.extensions);
        y.push_str("receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:$GRPC\n");
        if self.http {
            y.push_str("      http:\n        endpoint: 127.0.0.1:$HTTP\n");
        }
        if !self.processors.is_empty() {
            y.push_str("processors:\n");
            y.push_str(&self.processors);
        }
        y.push_str("exporters:\n");
        y.push_str(&self.exporters);
        let mut exts = vec!["health_check".to_string()];
        exts.extend(self.extension_names.iter().cloned());
        y.push_str(&format!("service:\n  extensions: [{}]\n  pipelines:\n", exts.join(", ")));
        for (name, processors, exporters) in &self.pipelines {
            y.push_str(&format!("    {name}:\n      receivers: [otlp]\n"));
            if !processors.is_empty() {
                y.push_str(&format!("      processors: [{}]\n", processors.join(", ")));
            }
            y.push_str(&format!("      exporters: [{}]\n", exporters.join(", ")));
        }
        y.push_str("  telemetry:\n");
        y.push_str(self.telemetry.as_deref().unwrap_or("    metrics:\n      address: 127.0.0.1:$METRICS\n"));
        y
    }
}
