//! The system detector's network facts on Linux: name resolution (getaddrinfo, getnameinfo),
//! the hosts file and the interfaces (getifaddrs), as the Go provider reads them.

/// getaddrinfo on `host`: its canonical name (AI_CANONNAME) and its addresses.
pub(super) fn resolve(host: &str) -> Result<(Option<String>, Vec<std::net::IpAddr>), String> {
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
pub(super) fn reverse(ip: std::net::IpAddr) -> Result<String, String> {
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
pub(super) struct Iface {
    pub(super) name: String,
    index: u32,
    flags: u32,
    pub(super) mac: Vec<u8>,
    pub(super) v4: Vec<std::net::IpAddr>,
    pub(super) v6: Vec<std::net::IpAddr>,
}

/// The interfaces in index order (Go: net.Interfaces), each with its addresses.
pub(super) fn interfaces() -> Result<Vec<Iface>, String> {
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
pub(super) fn up_interfaces() -> Result<Vec<Iface>, String> {
    let up = libc::IFF_UP as u32;
    let lo = libc::IFF_LOOPBACK as u32;
    Ok(interfaces()?.into_iter().filter(|i| i.flags & up != 0 && i.flags & lo == 0).collect())
}
