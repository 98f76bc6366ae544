//! The `system` detector: host.name (`hostname_sources`: dns, os), os.type, and, when enabled,
//! host.id, host.arch, os.description.

use super::{enabled, validate_toggles, AttrValue, Detected, Toggles};
use crate::config::ConfigError;
use serde::Deserialize;

/// Attributes and whether Go's detector enables them by default.
pub const KNOWN: &[(&str, bool)] =
    &[("host.name", true), ("os.type", true), ("host.id", false), ("host.arch", false), ("os.description", false)];

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    pub hostname_sources: Vec<String>,
    pub resource_attributes: Toggles,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig { hostname_sources: vec!["dns".into(), "os".into()], resource_attributes: Toggles::new() }
    }
}

impl SystemConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = validate_toggles(base, &self.resource_attributes, KNOWN);
        for (i, s) in self.hostname_sources.iter().enumerate() {
            if !matches!(s.as_str(), "dns" | "os") {
                errs.push(ConfigError::new(
                    format!("{base}::hostname_sources::{i}"),
                    format!("hostname source {s:?} is not supported (supported: dns, os)"),
                ));
            }
        }
        errs
    }
}

fn os_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..end]).ok().map(str::to_string).filter(|s| !s.is_empty())
}

/// The fully qualified name of this host: the canonical name the resolver gives its hostname.
fn dns_hostname() -> Option<String> {
    let host = os_hostname()?;
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: hints is zeroed then filled; res is freed with freeaddrinfo on success.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        hints.ai_family = libc::AF_UNSPEC;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 || res.is_null() {
            return None;
        }
        let name = if (*res).ai_canonname.is_null() {
            None
        } else {
            std::ffi::CStr::from_ptr((*res).ai_canonname).to_str().ok().map(str::to_string)
        };
        libc::freeaddrinfo(res);
        name.filter(|n| !n.is_empty())
    }
}

/// `os.type` values of the semantic conventions.
pub fn os_type() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// `host.arch` values of the semantic conventions (Go's GOARCH names).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "arm" => "arm32",
        other => other,
    }
}

fn host_id() -> Option<String> {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
}

fn os_description() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_string())
}

pub fn detect(cfg: &SystemConfig) -> Result<Detected, String> {
    let on = |n: &str| enabled(&cfg.resource_attributes, KNOWN, n);
    let mut out = Vec::new();
    if on("host.name") {
        let name = cfg.hostname_sources.iter().find_map(|s| match s.as_str() {
            "dns" => dns_hostname(),
            "os" => os_hostname(),
            _ => None,
        });
        match name {
            Some(n) => out.push(("host.name".to_string(), AttrValue::Str(n))),
            None => return Err("all hostname sources failed".into()),
        }
    }
    if on("os.type") {
        out.push(("os.type".into(), AttrValue::Str(os_type().into())));
    }
    if on("host.id") {
        if let Some(id) = host_id() {
            out.push(("host.id".into(), AttrValue::Str(id)));
        }
    }
    if on("host.arch") {
        out.push(("host.arch".into(), AttrValue::Str(host_arch().into())));
    }
    if on("os.description") {
        if let Some(d) = os_description() {
            out.push(("os.description".into(), AttrValue::Str(d)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_host_name_and_os_type() {
        let cfg = SystemConfig { hostname_sources: vec!["os".into()], ..Default::default() };
        let d = detect(&cfg).unwrap();
        let keys: Vec<&str> = d.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["host.name", "os.type"]);
        assert_eq!(d[0].1, AttrValue::Str(os_hostname().unwrap()));
        assert_eq!(d[1].1, AttrValue::Str("linux".into()));
    }

    #[test]
    fn toggles_enable_more() {
        let mut cfg = SystemConfig::default();
        cfg.resource_attributes.insert("host.arch".into(), super::super::Toggle { enabled: true });
        cfg.resource_attributes.insert("os.type".into(), super::super::Toggle { enabled: false });
        let d = detect(&cfg).unwrap();
        assert!(d.iter().any(|(k, v)| k == "host.arch" && *v == AttrValue::Str(host_arch().into())));
        assert!(!d.iter().any(|(k, _)| k == "os.type"));
        let errs = SystemConfig {
            resource_attributes: [("host.nme".to_string(), Default::default())].into(),
            ..Default::default()
        }
        .validate("x");
        assert_eq!(errs[0].did_you_mean.as_deref(), Some("host.name"));
    }
}
