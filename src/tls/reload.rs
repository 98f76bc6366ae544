//! Reloading a server's certificate, key and client CA when their files change.
//!
//! Go (configtls.go `certReloader`) re-reads cert and key on a handshake once `reload_interval`
//! has passed (never when it is unset) and watches `client_ca_file` with fsnotify when
//! `client_ca_file_reload` is set. oxidot does one thing for all three files: on a new
//! connection, at most once per `reload_interval` (10 s when unset), it reads them and, if their
//! bytes changed, builds a new rustls config. A change that does not load (a key written before
//! its certificate, a half-written file) keeps the old config and is logged; the next check
//! tries again. Connections already open keep the config they started with.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Builds the rustls config from the current files.
pub(crate) type Build = Box<dyn Fn() -> Result<rustls::ServerConfig, String> + Send + Sync>;

pub(crate) struct Reloading {
    what: String,
    /// (key, path) of every file the config is built from.
    files: Vec<(&'static str, String)>,
    build: Build,
    interval: Duration,
    state: Mutex<State>,
}

struct State {
    next_check: Instant,
    /// The file contents the current config was built from.
    inputs: Vec<Vec<u8>>,
    current: Arc<rustls::ServerConfig>,
}

impl Reloading {
    pub(crate) fn new(
        what: String,
        files: Vec<(&'static str, String)>,
        build: Build,
        interval: Duration,
    ) -> Result<Reloading, String> {
        let inputs = read_inputs(&files)?;
        let current = Arc::new(build()?);
        let state = Mutex::new(State { next_check: Instant::now() + interval, inputs, current });
        Ok(Reloading { what, files, build, interval, state })
    }

    /// The config for a new connection; checks the files when the interval has passed.
    pub(crate) fn current(&self) -> Arc<rustls::ServerConfig> {
        // A poisoned lock only means a panic elsewhere mid-check; the state is still whole.
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now < st.next_check {
            return Arc::clone(&st.current);
        }
        st.next_check = now + self.interval;
        match read_inputs(&self.files) {
            Ok(inputs) if inputs != st.inputs => match (self.build)() {
                Ok(c) => {
                    st.current = Arc::new(c);
                    st.inputs = inputs;
                    tracing::info!(listener = %self.what, "TLS certificate files changed; reloaded");
                }
                Err(e) => self.log_failure(&e),
            },
            Ok(_) => {}
            Err(e) => self.log_failure(&e),
        }
        Arc::clone(&st.current)
    }

    fn log_failure(&self, e: &str) {
        static LOG: crate::telemetry::logging::RateLimit = crate::telemetry::logging::RateLimit::new();
        if LOG.allow(60) {
            tracing::warn!(listener = %self.what, error = %e, "TLS files changed but do not load; keeping the previous certificate");
        }
    }
}

fn read_inputs(files: &[(&'static str, String)]) -> Result<Vec<Vec<u8>>, String> {
    files.iter().map(|(k, f)| super::read_file(k, f)).collect()
}
