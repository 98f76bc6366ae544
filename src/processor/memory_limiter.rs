//! The `memory_limiter` processor: checks memory every `check_interval`; above the soft limit
//! (`limit - spike`) new data is refused with a retryable error (receivers answer 503 /
//! UNAVAILABLE), below it data flows again. Above the soft limit freed memory is returned to
//! the OS first, and the receivers refuse before decoding (`crate::memory::set_pressure`). Limits can be absolute (`*_mib`) or a percentage of the container's memory
//! (cgroup v2, then v1, then the host's).

pub mod factory;

use crate::component::{ComponentId, Signal};
use crate::config::{limits, ConfigError, GoDuration};
use crate::pipeline::consumer::{ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::metrics::Counter;
use crate::telemetry::names::{LABEL_PROCESSOR, MEMORY_LIMITER_ACCEPTED, MEMORY_LIMITER_REFUSED};
use crate::telemetry::Registry;
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

const MIB: u64 = 1024 * 1024;

/// `processors: memory_limiter:` (Go: memorylimiterprocessor; defaults are zero and must be set).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryLimiterConfig {
    pub check_interval: GoDuration,
    pub limit_mib: u64,
    pub spike_limit_mib: u64,
    pub limit_percentage: u64,
    pub spike_limit_percentage: u64,
    pub min_gc_interval_when_soft_limited: Option<GoDuration>,
    pub min_gc_interval_when_hard_limited: Option<GoDuration>,
}

impl MemoryLimiterConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        let mut errs = Vec::new();
        let p = |k: &str| format!("{base}::{k}");
        if self.check_interval.0.is_zero() {
            errs.push(ConfigError::new(p("check_interval"), "checkInterval must be greater than zero"));
        }
        if self.limit_mib == 0 && self.limit_percentage == 0 {
            errs.push(ConfigError::new(p("limit_mib"), "'limit_mib' or 'limit_percentage' must be greater than zero"));
        }
        if self.limit_percentage > 100 || self.spike_limit_percentage > 100 {
            errs.push(ConfigError::new(
                p("limit_percentage"),
                "'limit_percentage' and 'spike_limit_percentage' must be between 0 and 100",
            ));
        }
        limits::check(&mut errs, p("limit_mib"), self.limit_mib, limits::MEMORY_MIB);
        limits::check(&mut errs, p("spike_limit_mib"), self.spike_limit_mib, limits::MEMORY_MIB);
        limits::check_duration(&mut errs, p("check_interval"), self.check_interval.0, limits::DURATION);
        if self.limit_mib > 0 && self.spike_limit_mib >= self.limit_mib {
            errs.push(ConfigError::new(p("spike_limit_mib"), "'spike_limit_mib' must be smaller than 'limit_mib'"));
        }
        if self.limit_percentage > 0 && self.spike_limit_percentage >= self.limit_percentage {
            errs.push(ConfigError::new(
                p("spike_limit_percentage"),
                "'spike_limit_percentage' must be smaller than 'limit_percentage'",
            ));
        }
        errs
    }

    /// (hard, soft) limits in bytes, given the memory available to the container.
    pub fn limits(&self, total: u64) -> (u64, u64) {
        let (hard, spike) = if self.limit_mib > 0 {
            let spike = if self.spike_limit_mib > 0 { self.spike_limit_mib * MIB } else { self.limit_mib * MIB / 5 };
            (self.limit_mib * MIB, spike)
        } else {
            let hard = total / 100 * self.limit_percentage;
            (hard, total / 100 * self.spike_limit_percentage)
        };
        (hard, hard.saturating_sub(spike))
    }
}

pub use crate::memory::usage::total_memory;

/// Memory in use as the kernel charges it (the cgroup's working set when oxidot is alone in its
/// cgroup, else RSS): see `crate::memory::usage`. Go reads its heap; see README's differences.
pub fn memory_in_use() -> u64 {
    crate::memory::usage::in_use()
}

/// The shared limiter of one `memory_limiter` id (every pipeline using it sees one state).
pub struct MemoryLimiter {
    id: ComponentId,
    hard: u64,
    soft: u64,
    check_interval: Duration,
    refusing: AtomicBool,
    last_used: AtomicU64,
    /// The live heap when data last flowed freely (at start, then at each resume).
    anchor: AtomicU64,
    /// The live heap when refusing began.
    entered_heap: AtomicU64,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl MemoryLimiter {
    pub fn new(id: ComponentId, cfg: &MemoryLimiterConfig) -> Arc<Self> {
        let (hard, soft) = cfg.limits(total_memory());
        // What may be decoded at once is what may grow between two checks (no spike limit,
        // e.g. `spike_limit_percentage` unset: no cap).
        if hard > soft {
            crate::memory::budget::cap_global(hard - soft);
        }
        Arc::new(MemoryLimiter {
            id,
            hard,
            soft,
            check_interval: cfg.check_interval.0,
            refusing: AtomicBool::new(false),
            last_used: AtomicU64::new(0),
            anchor: AtomicU64::new(crate::alloc::heap_in_use().unwrap_or(0)),
            entered_heap: AtomicU64::new(0),
            task: std::sync::Mutex::new(None),
        })
    }

    /// One check: updates the refusing state, logging transitions.
    pub fn check(&self) {
        let mut used = memory_in_use();
        if used > self.soft {
            // glibc keeps freed memory (in every arena) and the kernel still charges it: after
            // a spike RSS stayed at ~2x the limit with the data long gone. malloc_trim(0)
            // gives back the free pages of all arenas; it is cheap next to a refusal.
            crate::alloc::release_free_memory();
            used = memory_in_use();
        }
        self.last_used.store(used, Ordering::Relaxed);
        let was = self.refusing.load(Ordering::Relaxed);
        let over = self.decide(was, used, crate::alloc::heap_in_use());
        self.refusing.store(over, Ordering::Relaxed);
        if over != was {
            crate::memory::set_pressure(over);
        }
        if over && !was {
            tracing::warn!(processor = %self.id, cur_mem_mib = used / MIB, soft_limit_mib = self.soft / MIB,
                "Memory usage is above soft limit. Refusing data.");
        } else if !over && was {
            tracing::info!(processor = %self.id, cur_mem_mib = used / MIB, soft_limit_mib = self.soft / MIB,
                "Memory usage back within limits. Resuming normal operation.");
        }
    }

    /// Whether to refuse, given the state, what the kernel charges (`used`) and the live heap.
    ///
    /// Refusing sheds memory only while live data holds it. What the kernel charges also holds the
    /// process's own overhead and allocator fragmentation, which no refusal gives back: with RSS
    /// alone, a process whose idle RSS stays over the soft limit after a spike would refuse for
    /// good (seen on a loaded CI machine). So, with the heap known (the counting allocator):
    /// refusing starts only when the heap has also grown by a margin since the anchor (the heap
    /// at start, then at each resume), and stops when RSS is back under the limit or three
    /// quarters of that growth has drained, whatever RSS still shows.
    fn decide(&self, was: bool, used: u64, heap: Option<u64>) -> bool {
        let Some(heap) = heap else { return used > self.soft };
        let anchor = self.anchor.load(Ordering::Relaxed);
        if was {
            let entered = self.entered_heap.load(Ordering::Relaxed);
            let drained = heap <= anchor + entered.saturating_sub(anchor) / 4;
            if used <= self.soft || drained {
                self.anchor.store(heap, Ordering::Relaxed);
                return false;
            }
            return true;
        }
        let margin = ((self.hard - self.soft) / 4).max(MIB);
        if used > self.soft && heap > anchor + margin {
            self.entered_heap.store(heap, Ordering::Relaxed);
            return true;
        }
        false
    }

    pub fn start(self: &Arc<Self>) {
        tracing::info!(processor = %self.id, limit_mib = self.hard / MIB, spike_limit_mib = (self.hard - self.soft) / MIB,
            check_interval = ?self.check_interval, "Memory limiter configured");
        self.check();
        let me = Arc::clone(self);
        let t = tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.check_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                me.check();
            }
        });
        *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
    }

    pub fn shutdown(&self) {
        if let Some(t) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
        if self.refusing.swap(false, Ordering::Relaxed) {
            crate::memory::set_pressure(false);
        }
    }

    pub fn refusing(&self) -> bool {
        self.refusing.load(Ordering::Relaxed)
    }
}

/// The per-pipeline processor over a shared limiter.
/// HELP texts as memorylimiterprocessor/metadata.yaml describes its (alpha) metrics; mdatagen
/// appends the stability in brackets.
fn memory_limiter_help(signal: Signal) -> [&'static str; 2] {
    match signal {
        Signal::Traces => [
            "Number of spans successfully pushed into the next component in the pipeline. [Alpha]",
            "Number of spans that were rejected by the next component in the pipeline. [Alpha]",
        ],
        Signal::Metrics => [
            "Number of metric points successfully pushed into the next component in the pipeline. [Alpha]",
            "Number of metric points that were rejected by the next component in the pipeline. [Alpha]",
        ],
        Signal::Logs => [
            "Number of log records successfully pushed into the next component in the pipeline. [Alpha]",
            "Number of log records that were rejected by the next component in the pipeline. [Alpha]",
        ],
    }
}

pub struct MemoryLimiterProcessor {
    limiter: Arc<MemoryLimiter>,
    next: Arc<dyn Consumer>,
    accepted: Counter,
    refused: Counter,
}

impl MemoryLimiterProcessor {
    pub fn new(limiter: Arc<MemoryLimiter>, signal: Signal, next: Arc<dyn Consumer>, reg: &Registry) -> Arc<Self> {
        let labels = || vec![(LABEL_PROCESSOR, limiter.id.to_string())];
        let [accepted_help, refused_help] = memory_limiter_help(signal);
        Arc::new(MemoryLimiterProcessor {
            accepted: reg.counter(MEMORY_LIMITER_ACCEPTED.get(signal), accepted_help, labels()),
            refused: reg.counter(MEMORY_LIMITER_REFUSED.get(signal), refused_help, labels()),
            limiter,
            next,
        })
    }
}

#[async_trait]
impl Consumer for MemoryLimiterProcessor {
    async fn consume(&self, batch: Arc<Batch>) -> Result<(), ConsumeError> {
        let items = batch.items() as u64;
        if self.limiter.refusing() {
            self.refused.add(items);
            return Err(ConsumeError::Overloaded {
                reason: "data refused due to high memory usage".into(),
                retry_after: Duration::from_secs(1),
            });
        }
        self.accepted.add(items);
        self.next.consume(batch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wedge seen on a loaded CI machine: RSS stays over the soft limit after the data has
    /// drained. With the heap known, refusing ends once the growth that started it has drained,
    /// and does not start again until the heap grows anew.
    #[test]
    fn refusing_ends_when_the_data_drained_even_if_rss_stays_high() {
        let cfg = MemoryLimiterConfig {
            check_interval: GoDuration::from_secs(1),
            limit_mib: 50,
            spike_limit_mib: 10,
            ..Default::default()
        };
        let l = MemoryLimiter::new(ComponentId::new("memory_limiter"), &cfg);
        l.anchor.store(5 * MIB, Ordering::Relaxed);
        // RSS over the soft limit (40 MiB) but the heap barely grew: nothing to shed.
        assert!(!l.decide(false, 45 * MIB, Some(6 * MIB)));
        // Data queued: the heap grew by more than the margin (2.5 MiB): refuse.
        assert!(l.decide(false, 45 * MIB, Some(25 * MIB)));
        // Half drained, RSS still high: keep refusing.
        assert!(l.decide(true, 45 * MIB, Some(15 * MIB)));
        // Three quarters drained: resume although RSS stays at 45 MiB.
        assert!(!l.decide(true, 45 * MIB, Some(9 * MIB)));
        // RSS still high, heap unchanged since the resume: no new refusal (no wedge, no flapping).
        assert!(!l.decide(false, 45 * MIB, Some(9 * MIB)));
        assert!(l.decide(false, 45 * MIB, Some(15 * MIB)));
        // Without the counting allocator: RSS alone decides, as before.
        assert!(l.decide(false, 45 * MIB, None));
        assert!(!l.decide(true, 39 * MIB, None));
    }

    #[test]
    fn limits_from_mib_and_percentages() {
        let c = MemoryLimiterConfig { check_interval: GoDuration::from_secs(1), limit_mib: 100, ..Default::default() };
        assert_eq!(c.limits(0), (100 * MIB, 80 * MIB), "spike defaults to 20% of the limit");
        let c = MemoryLimiterConfig {
            check_interval: GoDuration::from_secs(1),
            limit_percentage: 80,
            spike_limit_percentage: 25,
            ..Default::default()
        };
        assert_eq!(c.limits(1000 * MIB), (800 * MIB, 550 * MIB));
        assert!(total_memory() > 0);
    }

    #[test]
    fn validation_messages() {
        let msgs = |c: MemoryLimiterConfig| {
            c.validate("processors::memory_limiter").iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
        };
        let m = msgs(MemoryLimiterConfig::default());
        assert!(
            m.contains("check_interval: checkInterval must be greater than zero")
                && m.contains("'limit_mib' or 'limit_percentage'"),
            "{m}"
        );
        let m = msgs(MemoryLimiterConfig {
            check_interval: GoDuration::from_secs(1),
            limit_mib: 10,
            spike_limit_mib: 10,
            ..Default::default()
        });
        assert!(m.contains("'spike_limit_mib' must be smaller than 'limit_mib'"), "{m}");
    }

    #[tokio::test]
    async fn refuses_above_the_soft_limit_and_recovers() {
        struct Sink;
        #[async_trait]
        impl Consumer for Sink {
            async fn consume(&self, _: Arc<Batch>) -> Result<(), ConsumeError> {
                Ok(())
            }
        }
        let reg = Registry::new();
        let lim = Arc::new(MemoryLimiter {
            id: ComponentId::new("memory_limiter"),
            hard: 1,
            soft: 1,
            check_interval: Duration::from_secs(1),
            refusing: AtomicBool::new(false),
            last_used: AtomicU64::new(0),
            anchor: AtomicU64::new(crate::alloc::heap_in_use().unwrap_or(0)),
            entered_heap: AtomicU64::new(0),
            task: Default::default(),
        });
        let p = MemoryLimiterProcessor::new(Arc::clone(&lim), Signal::Logs, Arc::new(Sink), &reg);
        lim.check(); // any process uses more than 1 byte
        let e = p.consume(Arc::new(Batch::Logs(vec![]))).await.unwrap_err();
        assert!(
            matches!(e, ConsumeError::Overloaded { .. }) && e.to_string() == "data refused due to high memory usage"
        );
        lim.shutdown(); // not refusing, and no pressure left for other tests of this process
        p.consume(Arc::new(Batch::Logs(vec![]))).await.unwrap();
        // HELP as memorylimiterprocessor/metadata.yaml (per signal, alpha); and the
        // processorhelper counters of in-place processors carry their [Alpha] too.
        let t = crate::processor::TransformProcessor::new(
            &ComponentId::new("resource"),
            Signal::Logs,
            Arc::new(crate::processor::resourcedetection::ResourceDetection::new(
                "resource".into(),
                Default::default(),
            )),
            Arc::new(Sink),
            &reg,
        );
        t.consume(Arc::new(Batch::Logs(vec![]))).await.unwrap();
        let mut out = String::new();
        reg.render(&mut out, false);
        for help in [
            "# HELP otelcol_processor_memory_limiter_accepted_log_records Number of log records successfully pushed into the next component in the pipeline. [Alpha]\n",
            "# HELP otelcol_processor_memory_limiter_refused_log_records Number of log records that were rejected by the next component in the pipeline. [Alpha]\n",
            "# HELP otelcol_processor_incoming_items Number of items passed to the processor. [Alpha]\n",
            "# HELP otelcol_processor_outgoing_items Number of items emitted from the processor. [Alpha]\n",
        ] {
            assert!(out.contains(help), "{help}\n{out}");
        }
    }
}
