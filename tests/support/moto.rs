//! moto's server (PyPI `moto[server]`, installed into .venv by scripts/test.sh): a third-party
//! implementation of the X-Ray API on a free loopback port; killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        Self::start_on(super::free_port())
    }

    /// On a given loopback port.
    pub fn start_on(port: u16) -> Moto {
        let bin = super::python().parent().unwrap().join("moto_server");
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin:?} ({e}): run scripts/test.sh"));
        let mut m = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if super::http_get(&format!("127.0.0.1:{port}"), "/moto-api/").is_ok() {
                return m;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = m.child.kill();
        let _ = m.child.wait();
        panic!("moto_server did not start");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Segment documents of these X-Ray trace ids, read back with boto3's BatchGetTraces.
    pub fn segments(&self, region: &str, trace_ids: &[String]) -> Vec<serde_json::Value> {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/xray_get.py");
        let out =
            Command::new(super::python()).arg(script).arg(self.url()).arg(region).args(trace_ids).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
