//! The system detector's provider on this machine: hostname, OS, kernel and CPU facts read as
//! the Go provider reads them on Linux.

use super::net::{fqdn_from_hosts, interfaces, resolve, reverse, up_interfaces};
use super::{CpuInfo, Provider};

/// This machine, read as the Go provider reads it on Linux.
pub struct Host;

pub(super) fn os_hostname() -> Result<String, String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// `KEY=value` pairs of an os-release style file, values unquoted and unescaped (otel-go
/// sdk/resource os_release_unix.go).
pub(super) fn os_release_values(text: &str) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { continue };
        let mut v = v.trim();
        if v.len() >= 2 && (v.starts_with('"') || v.starts_with('\'')) && v.ends_with(&v[..1]) {
            v = &v[1..v.len() - 1];
        }
        let v =
            v.replace("\\$", "$").replace("\\\"", "\"").replace("\\'", "'").replace("\\\\", "\\").replace("\\`", "`");
        out.insert(k.trim().to_string(), v);
    }
    out
}

fn read_os_release() -> Option<std::collections::HashMap<String, String>> {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|t| os_release_values(&t))
}

/// os_release_unix.go buildOSRelease: `NAME VERSION` (or VERSION_ID), else PRETTY_NAME.
pub fn build_os_release(v: &std::collections::HashMap<String, String>) -> String {
    let name = v.get("NAME").map(String::as_str).unwrap_or("");
    let mut version = v.get("VERSION").map(String::as_str).unwrap_or("");
    if version.is_empty() {
        version = v.get("VERSION_ID").map(String::as_str).unwrap_or("");
    }
    if !name.is_empty() && !version.is_empty() {
        format!("{name} {version}")
    } else {
        v.get("PRETTY_NAME").cloned().unwrap_or_default()
    }
}

fn uname() -> Result<String, String> {
    // SAFETY: utsname is plain data, filled by uname; each field is NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        let f = |b: &[libc::c_char]| std::ffi::CStr::from_ptr(b.as_ptr()).to_string_lossy().into_owned();
        Ok(format!("{} {} {} {} {}", f(&u.sysname), f(&u.nodename), f(&u.release), f(&u.version), f(&u.machine)))
    }
}

/// gopsutil host.PlatformInformation's version, for the distributions oxidot runs on: Ubuntu
/// (lsb-release), Debian (debian_version), Red Hat-like (`release N` in system-release /
/// redhat-release), else os-release VERSION_ID.
fn platform_version() -> String {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let lsb = read("/etc/lsb-release").map(|t| os_release_values(&t)).unwrap_or_default();
    if let Some(deb) = read("/etc/debian_version") {
        if lsb.get("DISTRIB_ID").map(String::as_str) == Some("Ubuntu") {
            return lsb.get("DISTRIB_RELEASE").cloned().unwrap_or_default();
        }
        return deb.trim().to_string();
    }
    for p in ["/etc/redhat-release", "/etc/system-release"] {
        if let Some(t) = read(p) {
            let words: Vec<&str> = t.split_whitespace().collect();
            if let Some(i) = words.iter().position(|w| *w == "release") {
                return words.get(i + 1).map(|w| w.to_string()).unwrap_or_default();
            }
        }
    }
    read_os_release().and_then(|v| v.get("VERSION_ID").cloned()).unwrap_or_default()
}

/// gopsutil host.PlatformInformation's platform, for the same distributions as
/// [`platform_version`]: ubuntu / linuxmint / debian, the first word of a Red Hat-like release
/// file ("redhat" when it names Red Hat; "amazon" on Amazon Linux), else os-release ID.
fn platform_name() -> String {
    let read = |p: &str| std::fs::read_to_string(p).ok().filter(|t| !t.is_empty());
    if read("/etc/debian_version").is_some() {
        let lsb = read("/etc/lsb-release").map(|t| os_release_values(&t)).unwrap_or_default();
        return match lsb.get("DISTRIB_ID").map(String::as_str) {
            Some("Ubuntu") => "ubuntu".into(),
            Some("LinuxMint") => "linuxmint".into(),
            _ if std::path::Path::new("/usr/bin/raspi-config").exists() => "raspbian".into(),
            _ => "debian".into(),
        };
    }
    for p in ["/etc/redhat-release", "/etc/system-release"] {
        if let Some(t) = read(p) {
            let c = t.lines().collect::<String>().to_lowercase();
            if c.contains("red hat") {
                return "redhat".into();
            }
            return c.split(' ').next().unwrap_or("").to_string();
        }
    }
    read_os_release().and_then(|v| v.get("ID").cloned()).unwrap_or_default().trim_matches('"').to_string()
}

/// metadata.go OSBuildID on Linux: the `BUILD_ID=` line of /etc/os-release (quotes trimmed),
/// else the kernel release.
pub fn os_build_id_from(os_release: Option<&str>, kernel_release: &str) -> String {
    os_release
        .and_then(|t| t.split('\n').find_map(|l| l.strip_prefix("BUILD_ID=")))
        .map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| kernel_release.to_string())
}

fn kernel_release() -> Result<String, String> {
    // SAFETY: as in `uname`.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        Ok(std::ffi::CStr::from_ptr(u.release.as_ptr()).to_string_lossy().into_owned())
    }
}

/// gopsutil cpu.Info on Linux: /proc/cpuinfo, one entry per `processor` block.
pub fn parse_cpuinfo(text: &str) -> Vec<CpuInfo> {
    let mut out: Vec<CpuInfo> = Vec::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let (k, v) = (k.trim(), v.trim());
        if k == "processor" {
            out.push(CpuInfo::default());
            continue;
        }
        let Some(c) = out.last_mut() else { continue };
        match k {
            "vendor_id" | "vendorId" => c.vendor_id = v.to_string(),
            "cpu family" => c.family = v.to_string(),
            "model" => c.model = v.to_string(),
            "model name" | "cpu" => c.model_name = v.to_string(),
            "stepping" => c.stepping = v.parse().unwrap_or(0),
            "cache size" => c.cache_size = v.replacen(" KB", "", 1).parse().unwrap_or(0),
            _ => {}
        }
    }
    out
}

/// `os.type` values (metadataproviders internal GOOSToOSType).
fn os_type() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        "dragonfly" => "dragonflybsd",
        other => other,
    }
}

/// `host.arch` values (metadataproviders internal GOARCHtoHostArch).
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

impl Provider for Host {
    fn hostname(&self) -> Result<String, String> {
        os_hostname()
    }
    /// github.com/Showmax/go-fqdn FqdnHostname: the canonical name of the /etc/hosts line that
    /// names the hostname, else the resolver's canonical name, else the reverse name of its
    /// first address that has one; without the trailing dot.
    fn fqdn(&self) -> Result<String, String> {
        let host = os_hostname()?;
        if let Some(canon) = std::fs::read_to_string("/etc/hosts").ok().and_then(|t| fqdn_from_hosts(&t, &host)) {
            return Ok(canon);
        }
        let not_found = || "fqdn hostname not found".to_string();
        let (canon, ips) = resolve(&host).map_err(|e| format!("fqdn hostname not found: {e}"))?;
        let name = match canon {
            Some(c) => c,
            None => ips.into_iter().find_map(|ip| reverse(ip).ok()).ok_or_else(not_found)?,
        };
        Ok(name.strip_suffix('.').unwrap_or(&name).to_string())
    }
    fn lookup_cname(&self) -> Result<String, String> {
        let host = os_hostname().map_err(|e| format!("LookupCNAME failed to get hostname: {e}"))?;
        let (canon, _) = resolve(&host).map_err(|e| format!("LookupCNAME failed to get CNAME: {e}"))?;
        canon
            .map(|c| c.trim_end_matches('.').to_string())
            .ok_or_else(|| format!("LookupCNAME failed to get CNAME: lookup {host}: no such host"))
    }
    fn reverse_lookup_host(&self) -> Result<String, String> {
        let host = os_hostname().map_err(|e| format!("ReverseLookupHost failed to get hostname: {e}"))?;
        let (_, ips) = resolve(&host)
            .map_err(|e| format!("hostnameToDomainName failed to convert hostname to IP addresses: {e}"))?;
        let mut last = String::from("no addresses");
        for ip in ips {
            match reverse(ip) {
                Ok(name) => return Ok(name.trim_end_matches('.').to_string()),
                Err(e) => last = e,
            }
        }
        Err(format!("reverseLookup failed to convert IP addresses to name: {last}"))
    }
    fn os_type(&self) -> Result<String, String> {
        Ok(os_type().to_string())
    }
    fn os_version(&self) -> Result<String, String> {
        Ok(platform_version())
    }
    /// otel-go sdk/resource host_id.go on Linux: /etc/machine-id, else the dbus one.
    fn host_id(&self) -> Result<String, String> {
        let id = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .map(|s| s.trim().to_string())
            .ok_or_else(|| {
                "failed to obtain \"host.id\": host id not found in: /etc/machine-id or /var/lib/dbus/machine-id"
                    .to_string()
            })?;
        if id.is_empty() {
            return Err("empty \"host.id\"".into());
        }
        Ok(id)
    }
    fn host_arch(&self) -> Result<String, String> {
        Ok(host_arch().to_string())
    }
    fn host_ips(&self) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for i in up_interfaces()? {
            for ip in i.v4.iter().chain(i.v6.iter()) {
                if !ip.is_loopback() {
                    out.push(ip.to_string());
                }
            }
        }
        Ok(out)
    }
    /// IEEE RA form: upper-case hex octets joined by hyphens (system.go toIEEERA).
    fn host_macs(&self) -> Result<Vec<String>, String> {
        Ok(up_interfaces()?
            .iter()
            .map(|i| i.mac.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join("-"))
            .collect())
    }
    /// otel-go sdk/resource WithOSDescription on Linux: `<os-release> (<uname -snrvm>)`.
    fn os_description(&self) -> Result<String, String> {
        let u = uname().map_err(|e| format!("failed to obtain \"os.description\": {e}"))?;
        let rel = read_os_release().map(|v| build_os_release(&v)).unwrap_or_default();
        Ok(if rel.is_empty() { u } else { format!("{rel} ({u})") })
    }
    fn cpu_info(&self) -> Result<Vec<CpuInfo>, String> {
        let text = std::fs::read_to_string("/proc/cpuinfo").map_err(|e| format!("open /proc/cpuinfo: {e}"))?;
        Ok(parse_cpuinfo(&text))
    }
    fn host_interfaces(&self) -> Result<Vec<String>, String> {
        Ok(interfaces()?.into_iter().map(|i| i.name).collect())
    }
    fn os_name(&self) -> Result<String, String> {
        Ok(platform_name())
    }
    fn os_build_id(&self) -> Result<String, String> {
        let kernel = kernel_release().map_err(|e| format!("OSBuildID failed to get host info: {e}"))?;
        Ok(os_build_id_from(std::fs::read_to_string("/etc/os-release").ok().as_deref(), &kernel))
    }
}
