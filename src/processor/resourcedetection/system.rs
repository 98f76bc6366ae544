//! The `system` detector: host.name from the first `hostname_sources` entry that answers (dns,
//! os, cname, lookup; default `[dns, os]`), os.type, and the optional host/os/cpu attributes
//! (Go: internal/system/system.go, internal/metadataproviders/system/metadata.go).

use super::{enabled, validate_toggles, AttrValue, Detected, Detection, Toggles};
use crate::config::ConfigError;
use serde::Deserialize;

mod host;
mod net;

pub use host::{build_os_release, os_build_id_from, parse_cpuinfo, Host};
#[cfg(test)]
use host::{os_hostname, os_release_values};
pub use net::fqdn_from_hosts;

/// internal/system/metadata.yaml: attributes and whether they are on by default.
pub const KNOWN: &[(&str, bool)] = &[
    ("host.name", true),
    ("os.type", true),
    ("os.version", false),
    ("host.id", false),
    ("host.arch", false),
    ("host.ip", false),
    ("host.mac", false),
    ("os.description", false),
    ("host.cpu.vendor.id", false),
    ("host.cpu.family", false),
    ("host.cpu.model.id", false),
    ("host.cpu.model.name", false),
    ("host.cpu.stepping", false),
    ("host.cpu.cache.l2.size", false),
    // Added in contrib v0.128 (host.interface #39419; os.name and os.build.id).
    ("host.interface", false),
    ("os.name", false),
    ("os.build.id", false),
];

/// The semantic conventions system.go follows (semconv v1.6.1).
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.6.1";

/// system.go hostnameSourcesMap keys.
pub const HOSTNAME_SOURCES: &[&str] = &["os", "dns", "cname", "lookup"];

/// internal/system/config.go Config; an empty `hostname_sources` means `[dns, os]`
/// (system.go NewDetector).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    pub hostname_sources: Vec<String>,
    pub resource_attributes: Toggles,
}

impl SystemConfig {
    /// config.go Validate: every source must be known.
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = validate_toggles(base, &self.resource_attributes, KNOWN);
        if let Some(s) = self.hostname_sources.iter().find(|s| !HOSTNAME_SOURCES.contains(&s.as_str())) {
            errs.push(
                ConfigError::new(
                    format!("{base}::hostname_sources"),
                    format!("hostname_sources contains invalid value: {}", super::go_quote(s)),
                )
                .with_suggestion(crate::config::error::closest(s, HOSTNAME_SOURCES.iter().copied())),
            );
        }
        errs
    }

    fn sources(&self) -> Vec<String> {
        if self.hostname_sources.is_empty() {
            vec!["dns".into(), "os".into()]
        } else {
            self.hostname_sources.clone()
        }
    }
}

/// gopsutil cpu.InfoStat: the fields the detector uses.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(default)]
pub struct CpuInfo {
    pub vendor_id: String,
    pub family: String,
    pub model: String,
    pub model_name: String,
    pub stepping: i64,
    pub cache_size: i64,
}

/// metadataproviders/system Provider: where the detector's facts come from.
pub trait Provider {
    fn hostname(&self) -> Result<String, String>;
    fn fqdn(&self) -> Result<String, String>;
    fn lookup_cname(&self) -> Result<String, String>;
    fn reverse_lookup_host(&self) -> Result<String, String>;
    fn os_type(&self) -> Result<String, String>;
    fn os_version(&self) -> Result<String, String>;
    fn host_id(&self) -> Result<String, String>;
    fn host_arch(&self) -> Result<String, String>;
    fn host_ips(&self) -> Result<Vec<String>, String>;
    fn host_macs(&self) -> Result<Vec<String>, String>;
    fn os_description(&self) -> Result<String, String>;
    fn cpu_info(&self) -> Result<Vec<CpuInfo>, String>;
    /// metadataproviders/system HostInterfaces: every interface's name (net.Interfaces).
    fn host_interfaces(&self) -> Result<Vec<String>, String>;
    /// metadataproviders/system OSName: gopsutil host.Info().Platform.
    fn os_name(&self) -> Result<String, String>;
    /// metadataproviders/system OSBuildID: os-release BUILD_ID, else the kernel release.
    fn os_build_id(&self) -> Result<String, String>;
}

/// system.go Detector.Detect with a given provider.
pub fn detect_with(cfg: &SystemConfig, p: &dyn Provider) -> Result<Detection, String> {
    let on = |n: &str| enabled(&cfg.resource_attributes, KNOWN, n);
    let os_type = p.os_type().map_err(|e| format!("failed getting OS type: {e}"))?;
    let os_version = p.os_version().map_err(|e| format!("failed getting OS version: {e}"))?;
    let host_arch = p.host_arch().map_err(|e| format!("failed getting host architecture: {e}"))?;
    let host_ips = if on("host.ip") {
        Some(p.host_ips().map_err(|e| format!("failed getting host IP addresses: {e}"))?)
    } else {
        None
    };
    let host_macs = if on("host.mac") {
        Some(p.host_macs().map_err(|e| format!("failed to get host MAC addresses: {e}"))?)
    } else {
        None
    };
    // Read only when enabled, and a failure fails the detection (system_test.go
    // TestHostInterfacesError, TestDetectOSNameAndBuildID). oxidot: the error wording is its own.
    let host_interfaces = if on("host.interface") {
        Some(p.host_interfaces().map_err(|e| format!("failed getting host interfaces: {e}"))?)
    } else {
        None
    };
    let os_name =
        if on("os.name") { Some(p.os_name().map_err(|e| format!("failed getting OS name: {e}"))?) } else { None };
    let os_build_id = if on("os.build.id") {
        Some(p.os_build_id().map_err(|e| format!("failed getting OS build ID: {e}"))?)
    } else {
        None
    };
    let os_description = p.os_description().map_err(|e| format!("failed getting OS description: {e}"))?;
    let cpu_attrs = [
        "host.cpu.cache.l2.size",
        "host.cpu.family",
        "host.cpu.model.id",
        "host.cpu.vendor.id",
        "host.cpu.model.name",
        "host.cpu.stepping",
    ];
    let cpu = if cpu_attrs.iter().any(|a| on(a)) {
        p.cpu_info().map_err(|e| format!("failed getting host cpuinfo: {e}"))?
    } else {
        Vec::new()
    };
    for source in cfg.sources() {
        let found = match source.as_str() {
            "os" => p.hostname().map_err(|e| format!("failed getting OS hostname: {e}")),
            "dns" => p.fqdn().map_err(|e| format!("getFQDN failed getting FQDN: {e}")),
            "cname" => p.lookup_cname().map_err(|e| format!("lookupCNAME failed to get CNAME: {e}")),
            "lookup" => p.reverse_lookup_host().map_err(|e| format!("reverseLookupHost failed to lookup host: {e}")),
            other => Err(format!("unknown hostname source {other:?}")),
        };
        let hostname = match found {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(detector = "system", "{e}");
                continue;
            }
        };
        let mut out: Detected = Vec::new();
        let mut set = |k: &str, v: AttrValue| {
            if on(k) {
                out.push((k.to_string(), v));
            }
        };
        let s = |v: &str| AttrValue::Str(v.to_string());
        set("host.name", s(&hostname));
        set("os.type", s(&os_type));
        set("os.version", s(&os_version));
        if on("host.id") {
            match p.host_id() {
                Ok(id) => set("host.id", s(&id)),
                Err(e) => tracing::warn!(detector = "system", error = %e, "failed to get host ID"),
            }
        }
        set("host.arch", s(&host_arch));
        if let Some(ips) = &host_ips {
            set("host.ip", AttrValue::List(ips.clone()));
        }
        if let Some(macs) = &host_macs {
            set("host.mac", AttrValue::List(macs.clone()));
        }
        if let Some(names) = &host_interfaces {
            set("host.interface", AttrValue::List(names.clone()));
        }
        set("os.description", s(&os_description));
        if let Some(n) = &os_name {
            set("os.name", s(n));
        }
        if let Some(b) = &os_build_id {
            set("os.build.id", s(b));
        }
        // system.go setHostCPUInfo: the first CPU; an empty model id is left out.
        if let Some(c) = cpu.first() {
            set("host.cpu.vendor.id", s(&c.vendor_id));
            set("host.cpu.family", s(&c.family));
            if !c.model.is_empty() {
                set("host.cpu.model.id", s(&c.model));
            }
            set("host.cpu.model.name", s(&c.model_name));
            set("host.cpu.stepping", s(&c.stepping.to_string()));
            set("host.cpu.cache.l2.size", AttrValue::Int(c.cache_size));
        }
        return Ok(Detection { attrs: out, schema_url: SCHEMA_URL });
    }
    Err("all hostname sources failed to get hostname".into())
}

/// system.go Detector.Detect on this machine.
pub fn detect(cfg: &SystemConfig) -> Result<Detection, String> {
    detect_with(cfg, &Host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_host_name_and_os_type() {
        let cfg = SystemConfig { hostname_sources: vec!["os".into()], ..Default::default() };
        let d = detect(&cfg).unwrap();
        let keys: Vec<&str> = d.attrs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["host.name", "os.type"]);
        assert_eq!(d.attrs[0].1, AttrValue::Str(os_hostname().unwrap()));
        assert_eq!(d.attrs[1].1, AttrValue::Str("linux".into()));
        assert_eq!(d.schema_url, SCHEMA_URL);
    }

    #[test]
    fn every_optional_attribute_can_be_read_here() {
        let mut cfg = SystemConfig { hostname_sources: vec!["os".into()], ..Default::default() };
        for (k, _) in KNOWN {
            cfg.resource_attributes.insert(k.to_string(), super::super::Toggle { enabled: true });
        }
        let d = detect(&cfg).unwrap();
        let keys: Vec<&str> = d.attrs.iter().map(|(k, _)| k.as_str()).collect();
        for k in [
            "host.name",
            "os.type",
            "os.version",
            "host.arch",
            "host.ip",
            "host.mac",
            "os.description",
            "host.interface",
            "os.name",
            "os.build.id",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        let desc = d.attrs.iter().find(|(k, _)| k == "os.description").unwrap();
        match &desc.1 {
            AttrValue::Str(s) => assert!(s.contains("Linux "), "{s}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostname_sources_are_validated() {
        let errs =
            SystemConfig { hostname_sources: vec!["dns".into(), "cnam".into()], ..Default::default() }.validate("x");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().contains("hostname_sources contains invalid value: \"cnam\""), "{}", errs[0]);
        let errs = SystemConfig {
            resource_attributes: [("host.nme".to_string(), Default::default())].into(),
            ..Default::default()
        }
        .validate("x");
        assert_eq!(errs[0].did_you_mean.as_deref(), Some("host.name"));
    }

    /// go-fqdn fqdn_test.go (parseHostLine cases).
    #[test]
    fn fqdn_from_the_hosts_file() {
        let hosts = "127.0.0.1 localhost\n# 10.0.0.1 foo.example.com foo\n10.0.0.2\tbar.example.com bar # comment\n10.0.0.3 in_valid.example baz\n10.0.0.4 baz.example.com baz\n";
        assert_eq!(fqdn_from_hosts(hosts, "bar").as_deref(), Some("bar.example.com"));
        assert_eq!(fqdn_from_hosts(hosts, "bar.example.com").as_deref(), Some("bar.example.com"));
        assert_eq!(fqdn_from_hosts(hosts, "foo"), None);
        assert_eq!(fqdn_from_hosts(hosts, "baz").as_deref(), Some("baz.example.com"));
        assert_eq!(fqdn_from_hosts(hosts, "comment"), None);
    }

    #[test]
    fn cpuinfo_first_processor() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R)\nstepping\t: 7\ncache size\t: 36608 KB\n\nprocessor\t: 1\nvendor_id\t: Other\n";
        let c = parse_cpuinfo(text);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0],
            CpuInfo {
                vendor_id: "GenuineIntel".into(),
                family: "6".into(),
                model: "85".into(),
                model_name: "Intel(R) Xeon(R)".into(),
                stepping: 7,
                cache_size: 36608
            }
        );
    }

    /// metadata.go OSBuildID (Linux): BUILD_ID of /etc/os-release, else the kernel release.
    #[test]
    fn os_build_id_from_os_release_else_kernel() {
        assert_eq!(os_build_id_from(Some("NAME=Arch\nBUILD_ID=\"rolling\"\n"), "6.1.0"), "rolling");
        assert_eq!(os_build_id_from(Some("NAME=\"Debian\"\nVERSION_ID=\"12\"\n"), "6.1.0"), "6.1.0");
        assert_eq!(os_build_id_from(None, "6.1.0"), "6.1.0");
    }

    #[test]
    fn os_release_prefers_name_and_version() {
        let v = os_release_values("NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n# c\n");
        assert_eq!(build_os_release(&v), "Debian GNU/Linux 12 (bookworm)");
        let v = os_release_values("PRETTY_NAME='Only pretty'\n");
        assert_eq!(build_os_release(&v), "Only pretty");
    }
}
