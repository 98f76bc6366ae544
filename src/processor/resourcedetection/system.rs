//! The `system` detector: host.name from the first `hostname_sources` entry that answers (dns,
//! os, cname, lookup; default `[dns, os]`), os.type, and the optional host/os/cpu attributes
//! (Go: internal/system/system.go, internal/metadataproviders/system/metadata.go).

use super::{enabled, validate_toggles, AttrValue, Detected, Detection, Toggles};
use crate::config::ConfigError;
use serde::Deserialize;

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

/// This machine, read as the Go provider reads it on Linux.
pub struct Host;

fn os_hostname() -> Result<String, String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// getaddrinfo on `host`: its canonical name (AI_CANONNAME) and its addresses.
fn resolve(host: &str) -> Result<(Option<String>, Vec<std::net::IpAddr>), String> {
    let c_host = std::ffi::CString::new(host).map_err(|e| e.to_string())?;
    // SAFETY: hints is zeroed then filled; res is walked read-only and freed with freeaddrinfo.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        hints.ai_family = libc::AF_UNSPEC;
        hints.ai_socktype = libc::SOCK_STREAM;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        let rc = libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res);
        if rc != 0 || res.is_null() {
            let msg = std::ffi::CStr::from_ptr(libc::gai_strerror(rc)).to_string_lossy().into_owned();
            return Err(format!("lookup {host}: {msg}"));
        }
        let canon = if (*res).ai_canonname.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr((*res).ai_canonname).to_string_lossy().into_owned())
        };
        let mut ips = Vec::new();
        let mut p = res;
        while !p.is_null() {
            if let Some(ip) = sockaddr_ip((*p).ai_addr) {
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
            p = (*p).ai_next;
        }
        libc::freeaddrinfo(res);
        Ok((canon.filter(|c| !c.is_empty()), ips))
    }
}

/// The IP address of a sockaddr (IPv4 or IPv6), if it is one.
///
/// # Safety
/// `sa` must be null or point to a valid sockaddr of the size its family implies.
unsafe fn sockaddr_ip(sa: *const libc::sockaddr) -> Option<std::net::IpAddr> {
    if sa.is_null() {
        return None;
    }
    match (*sa).sa_family as i32 {
        libc::AF_INET => {
            let sin = &*(sa as *const libc::sockaddr_in);
            Some(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into())
        }
        libc::AF_INET6 => {
            let sin6 = &*(sa as *const libc::sockaddr_in6);
            Some(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).into())
        }
        _ => None,
    }
}

/// getnameinfo with NI_NAMEREQD: the name an address resolves back to.
fn reverse(ip: std::net::IpAddr) -> Result<String, String> {
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: the sockaddr is zeroed then filled for its family and passed with its size;
    // host is a writable buffer of the given length.
    let rc = unsafe {
        let mut ss: libc::sockaddr_storage = std::mem::zeroed();
        let len = match ip {
            std::net::IpAddr::V4(v4) => {
                let sin = &mut *(&mut ss as *mut libc::sockaddr_storage as *mut libc::sockaddr_in);
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_addr.s_addr = u32::from(v4).to_be();
                std::mem::size_of::<libc::sockaddr_in>()
            }
            std::net::IpAddr::V6(v6) => {
                let sin6 = &mut *(&mut ss as *mut libc::sockaddr_storage as *mut libc::sockaddr_in6);
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_addr.s6_addr = v6.octets();
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        libc::getnameinfo(
            &ss as *const libc::sockaddr_storage as *const libc::sockaddr,
            len as libc::socklen_t,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static string.
        let msg = unsafe { std::ffi::CStr::from_ptr(libc::gai_strerror(rc)) }.to_string_lossy().into_owned();
        return Err(format!("lookup {ip}: {msg}"));
    }
    // SAFETY: getnameinfo NUL-terminated the buffer.
    Ok(unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) }.to_string_lossy().into_owned())
}

/// go-fqdn fromHosts/parseHostLine: the canonical name (second field) of the first hosts(5)
/// line whose canonical name or an alias is `host`; a line whose canonical name is not a valid
/// hostname (musl's rule) is skipped.
pub fn fqdn_from_hosts(text: &str, host: &str) -> Option<String> {
    let valid = |s: &str| {
        s.len() <= 254 && s.chars().all(|c| c as u32 >= 0x80 || c == '.' || c == '-' || c.is_ascii_alphanumeric())
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
        let (Some(_ip), Some(canon)) = (fields.next(), fields.next()) else { continue };
        if !valid(canon) {
            continue;
        }
        if canon == host || fields.any(|alias| alias == host) {
            return Some(canon.to_string());
        }
    }
    None
}

/// One network interface as getifaddrs reports it.
#[derive(Default)]
struct Iface {
    name: String,
    index: u32,
    flags: u32,
    mac: Vec<u8>,
    v4: Vec<std::net::IpAddr>,
    v6: Vec<std::net::IpAddr>,
}

/// The interfaces in index order (Go: net.Interfaces), each with its addresses.
fn interfaces() -> Result<Vec<Iface>, String> {
    let mut by_name: BTreeMapS<Iface> = BTreeMapS::new();
    // SAFETY: getifaddrs allocates a list we only read and then free with freeifaddrs.
    unsafe {
        let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut ifap) != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        let mut p = ifap;
        while !p.is_null() {
            let ifa = &*p;
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name).to_string_lossy().into_owned();
            let e = by_name.entry(name.clone()).or_insert_with(|| Iface {
                name,
                index: libc::if_nametoindex(ifa.ifa_name),
                ..Default::default()
            });
            e.flags = ifa.ifa_flags;
            if !ifa.ifa_addr.is_null() {
                match (*ifa.ifa_addr).sa_family as i32 {
                    libc::AF_PACKET => {
                        let ll = &*(ifa.ifa_addr as *const libc::sockaddr_ll);
                        let n = (ll.sll_halen as usize).min(ll.sll_addr.len());
                        e.mac = ll.sll_addr[..n].to_vec();
                    }
                    libc::AF_INET => e.v4.extend(sockaddr_ip(ifa.ifa_addr)),
                    libc::AF_INET6 => e.v6.extend(sockaddr_ip(ifa.ifa_addr)),
                    _ => {}
                }
            }
            p = ifa.ifa_next;
        }
        libc::freeifaddrs(ifap);
    }
    let mut list: Vec<Iface> = by_name.into_values().collect();
    list.sort_by_key(|i| i.index);
    Ok(list)
}

type BTreeMapS<V> = std::collections::BTreeMap<String, V>;

/// Interfaces that are up and not loopback (metadata.go HostIPs / HostMACs).
fn up_interfaces() -> Result<Vec<Iface>, String> {
    let up = libc::IFF_UP as u32;
    let lo = libc::IFF_LOOPBACK as u32;
    Ok(interfaces()?.into_iter().filter(|i| i.flags & up != 0 && i.flags & lo == 0).collect())
}

/// `KEY=value` pairs of an os-release style file, values unquoted and unescaped (otel-go
/// sdk/resource os_release_unix.go).
fn os_release_values(text: &str) -> std::collections::HashMap<String, String> {
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
