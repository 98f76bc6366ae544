//! The oxidot command line: run, validate, components, health.

use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};
use oxidot::collector::Config;
use oxidot::config;
use oxidot::pipeline::{lifecycle, reload};
use std::process::ExitCode;

#[global_allocator]
static ALLOC: oxidot::alloc::CountingAlloc = oxidot::alloc::CountingAlloc;

#[derive(Parser)]
#[command(
    name = "oxidot",
    version,
    about = "oxidot: a small, fast OpenTelemetry collector (drop-in for the ADOT collector)"
)]
struct Cli {
    /// Configuration URI: a path, file:PATH, env:VAR or yaml:INLINE. Repeatable: later ones merge
    /// over earlier. AOT_CONFIG_CONTENT, when set, is the configuration instead.
    #[arg(long = "config", global = true, value_name = "URI")]
    config: Vec<String>,
    /// Comma-separated feature gate ids, as otelcol's flag: `id` or `+id` enables, `-id` disables.
    /// Repeatable. `oxidot components` lists the gates.
    #[arg(long = "feature-gates", global = true, value_name = "IDS")]
    feature_gates: Vec<String>,
    /// Sets one configuration value over every source, as otelcol's flag:
    /// `--set=processors.batch.timeout=2s` (each `.` of the key is a level; the value is YAML).
    /// Repeatable.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// How long the drain after SIGTERM/SIGINT may take (a Go duration: `25s`, `1m`), then what
    /// is left is dropped, counted and summarised. Default 25s, or OXIDOT_SHUTDOWN_TIMEOUT.
    /// oxidot only: the Go collector has no such setting.
    #[arg(long = "shutdown-timeout", global = true, value_name = "DURATION")]
    shutdown_timeout: Option<String>,
    /// MiB of OTLP requests the receivers may decode at once, process-wide (estimated decoded
    /// size). Default: a quarter of the container's (else the host's) memory, at most 256 MiB,
    /// or OXIDOT_DECODE_BUDGET_MIB; a memory_limiter lowers it to its spike limit.
    /// oxidot only: the Go collector has no such setting.
    #[arg(long = "decode-budget-mib", global = true, value_name = "MIB")]
    decode_budget_mib: Option<u64>,
    /// MiB of protobuf the exporters may hold in their in-memory sending queues and in flight,
    /// process-wide, before they refuse (retryably) and the batch processor waits. Default 8,
    /// or OXIDOT_EXPORT_BUDGET_MIB. oxidot only: the Go collector has no such setting.
    #[arg(long = "export-budget-mib", global = true, value_name = "MIB")]
    export_budget_mib: Option<u64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Checks the configuration (and builds the pipelines) without binding any port; exit 0 or 1.
    Validate,
    /// Lists the supported component types.
    Components,
    /// Prints the resolved configuration (YAML, or JSON with --format json), values that are
    /// secrets in the Go collector shown as [REDACTED] unless --mode unredacted. Needs the
    /// otelcol.printInitialConfig feature gate (on by default, as in Go).
    #[command(name = "print-config", alias = "print-initial-config")]
    PrintConfig {
        /// redacted (default) or unredacted.
        #[arg(long, default_value = "redacted")]
        mode: String,
        /// yaml (default) or json.
        #[arg(long, default_value = "yaml")]
        format: String,
        /// Validate the configuration before printing it (default true).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        validate: bool,
    },
    /// Probes a health_check endpoint; exit 0 when it answers 200 (for container health checks).
    Health {
        /// The URL (or host:port) to probe.
        #[arg(long, default_value = "http://localhost:13133/")]
        endpoint: String,
        /// Seconds to wait for an answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
}

fn main() -> ExitCode {
    oxidot::alloc::mark_installed();
    // ADOT's image has a `/healthcheck` program that task definitions call; oxidot's image makes
    // it a second name of this binary.
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_default();
    if std::path::Path::new(&argv0).file_name().is_some_and(|n| n == "healthcheck") {
        return adot_healthcheck(args.collect());
    }
    let cli = Cli::parse();
    let sets = match cli.set.iter().map(|s| config::set_flag_uri(s)).collect::<Result<Vec<_>, _>>() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: invalid argument for \"--set\" flag: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sources = Sources { uris: cli.config.clone(), sets };
    for flag in &cli.feature_gates {
        if let Err(e) = oxidot::featuregate::apply_flag(flag) {
            eprintln!("Error: invalid value \"{flag}\" for flag -feature-gates: {e}");
            return ExitCode::FAILURE;
        }
    }
    let budgets: [(_, _, _, fn(u64)); 2] = [
        (
            cli.decode_budget_mib,
            "OXIDOT_DECODE_BUDGET_MIB",
            "the decode budget (--decode-budget-mib",
            oxidot::memory::budget::set_global,
        ),
        (
            cli.export_budget_mib,
            "OXIDOT_EXPORT_BUDGET_MIB",
            "the export budget (--export-budget-mib",
            oxidot::memory::export_budget::set_global,
        ),
    ];
    for (flag, env, what, set) in budgets {
        let budget = match (flag, std::env::var(env)) {
            (Some(m), _) => Some(m.to_string()),
            (None, Ok(v)) => Some(v),
            (None, Err(_)) => None,
        };
        if let Some(v) = budget {
            let mib = v.trim().parse::<u64>().unwrap_or(0);
            if mib == 0 || mib > 1 << 24 {
                eprintln!("Error: {what}, {env}) must be a number of MiB from 1 to 16777216, not {v:?}");
                return ExitCode::FAILURE;
            }
            set(mib << 20);
        }
    }
    let result = match cli.command {
        Some(Command::Components) => {
            print!("{}", oxidot::registry::components_yaml());
            print!("{}", oxidot::featuregate::describe_yaml());
            Ok(())
        }
        Some(Command::Health { endpoint, timeout }) => health(&endpoint, timeout),
        Some(Command::PrintConfig { mode, format, validate }) => print_config(&sources, &mode, &format, validate),
        Some(Command::Validate) => load(&sources, false).and_then(|cfg| {
            runtime()?.block_on(async {
                // Build the graph (exporter clients, processors) without starting anything.
                lifecycle::build(&cfg).map_err(|e| anyhow!(e))?;
                Ok(())
            })
        }),
        None => {
            let env = std::env::var(lifecycle::SHUTDOWN_TIMEOUT_ENV).ok();
            match lifecycle::shutdown_timeout(cli.shutdown_timeout.as_deref(), env.as_deref()) {
                Ok(deadline) => load(&sources, true).and_then(|cfg| run(cfg, &sources, deadline)),
                Err(e) => Err(anyhow!(e)),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Every error the command ends with (`validate`'s included): a URL password that
            // reached it prints as `xxxxx` (Go's `Redacted()`).
            eprintln!("Error: {}", oxidot::secret::redact_text(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// The async runtime, one worker per CPU oxidot may use (`oxidot::cpu`: a quarter-core quota is
/// one worker); `log` says so once, when the collector runs.
fn runtime_sized(log: bool) -> anyhow::Result<tokio::runtime::Runtime> {
    let w = oxidot::cpu::workers().map_err(|e| anyhow!(e))?;
    if log {
        if let Some(warning) = &w.warning {
            tracing::warn!("{warning}");
        }
        tracing::info!(worker_threads = w.count, from = %w.from, "Sized the async runtime");
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(w.count)
        // File storage, resource detection and DNS lookups; tokio's default of 512 threads
        // would let a burst of them cost megabytes of stacks on a quarter core.
        .max_blocking_threads((8 * w.count).max(32))
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    runtime_sized(false)
}

/// Resolves and validates the configuration, then sets up logging from it. `validate` is silent
/// on success, as the collector's is: only warnings are printed.
fn load(sources: &Sources, running: bool) -> anyhow::Result<Config> {
    let (cfg, resolved, warnings) = resolve(sources)?;
    oxidot::telemetry::logging::init(&cfg.service.telemetry);
    if running {
        tracing::info!(config = %resolved, version = env!("CARGO_PKG_VERSION"), "Loaded configuration");
    }
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(cfg)
}

/// Reads every config source again (files, AOT_CONFIG_CONTENT, ${env:…}) and validates it:
/// the config, where it came from, its warnings.
fn resolve(sources: &Sources) -> anyhow::Result<(Config, String, Vec<String>)> {
    let env = |k: &str| std::env::var(k).ok();
    let resolved = config::resolve_with(&sources.uris, &sources.sets, &env, &|u| oxidot::remote_config::fetch(u, &env))
        .map_err(|e| anyhow!(e))?;
    let cfg = Config::from_resolved(&resolved).map_err(|e| anyhow!("{e}"))?;
    let warnings = resolved.warnings.iter().chain(cfg.warnings.iter()).cloned().collect();
    Ok((cfg, resolved.description, warnings))
}

/// Where the configuration comes from: `--config` URIs and `--set` overrides (as `yaml:` URIs).
struct Sources {
    uris: Vec<String>,
    sets: Vec<String>,
}

fn run(cfg: Config, uris: &Sources, deadline: std::time::Duration) -> anyhow::Result<()> {
    let rt = runtime_sized(true)?;
    let result = rt.block_on(async {
        // Before the start, so a SIGHUP from then on reloads instead of ending the process.
        let mut signals = reload::Signals::new();
        let mut cfg = cfg;
        let mut running = lifecycle::start(&cfg).await.map_err(|e| anyhow!(e))?;
        while signals.next().await == reload::Request::Reload {
            // Logging settings stay as started (one global subscriber); everything else reloads.
            let new = match resolve(uris) {
                Ok((new, from, warnings)) => {
                    tracing::info!(config = %from, "Loaded configuration");
                    for w in warnings {
                        tracing::warn!("{w}");
                    }
                    new
                }
                Err(e) => {
                    let error = oxidot::secret::redact_text(&format!("{e:#}")).into_owned();
                    tracing::error!(%error, "Config reload refused: the running configuration is kept");
                    running.record_reload(false);
                    continue;
                }
            };
            // Compared by their Debug text (the config types have no PartialEq); nothing is printed.
            if format!("{:?}", new.service.telemetry) != format!("{:?}", cfg.service.telemetry) {
                tracing::warn!(
                    "service::telemetry changed: its logs and self-metrics settings apply at the next restart"
                );
            }
            // otelcol/collector.go reloadConfiguration's line, once the new config is known valid.
            tracing::warn!("Config updated, restart service");
            running = match running.reload(&new, &cfg, deadline).await {
                reload::Reloaded::Switched(r) => {
                    cfg = new;
                    r.record_reload(true);
                    // service.go Start logs it after every (re)start.
                    tracing::info!("Everything is ready. Begin running and processing data.");
                    r
                }
                reload::Reloaded::Refused(r, e) => {
                    let error = oxidot::secret::redact_text(&e).into_owned();
                    tracing::error!(%error, "Config reload failed: the previous configuration is running again");
                    r.record_reload(false);
                    r
                }
                reload::Reloaded::Fatal(e) => return Err(anyhow!("config reload: {e}")),
            };
        }
        running.shutdown(deadline).await;
        Ok(())
    });
    // Tasks still running past the summary (a stuck DNS lookup, say) do not hold the exit.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

/// otelcol command_print.go: needs the gate; validates first unless `--validate=false`.
fn print_config(sources: &Sources, mode: &str, format: &str, validate: bool) -> anyhow::Result<()> {
    if !oxidot::featuregate::PRINT_INITIAL_CONFIG.is_enabled() {
        return Err(anyhow!(
            "print-config is currently experimental, use the otelcol.printInitialConfig feature gate to enable this command"
        ));
    }
    let redacted = match mode.to_ascii_lowercase().as_str() {
        "redacted" => true,
        "unredacted" => false,
        _ => return Err(anyhow!("invalid mode {mode:?}: modes are: redacted, unredacted")),
    };
    let env = |k: &str| std::env::var(k).ok();
    let resolved = config::resolve_with(&sources.uris, &sources.sets, &env, &|u| oxidot::remote_config::fetch(u, &env))
        .map_err(|e| anyhow!(e))?;
    if validate {
        Config::from_resolved(&resolved).map_err(|e| anyhow!("{e}"))?;
    }
    let mut value = resolved.value.clone();
    if redacted {
        config::print::redact(&mut value);
    }
    print!("{}", config::print::render(&value, format).map_err(|e| anyhow!(e))?);
    Ok(())
}

/// ADOT's `/healthcheck` (cmd/healthcheck): `GET http://127.0.0.1:PORT/` (`-port`, default
/// 13133); exit 0 on 200, else 1.
fn adot_healthcheck(args: Vec<String>) -> ExitCode {
    let mut port = "13133".to_string();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let flag = a.trim_start_matches('-');
        if let Some(v) = flag.strip_prefix("port=") {
            port = v.to_string();
        } else if flag == "port" && a.starts_with('-') {
            match it.next() {
                Some(v) => port = v,
                None => {
                    eprintln!("flag needs an argument: -port");
                    return ExitCode::from(2);
                }
            }
        } else {
            eprintln!("flag provided but not defined: {a}");
            return ExitCode::from(2);
        }
    }
    match port.parse::<i64>() {
        Ok(p) if (1..=65535).contains(&p) => {}
        Ok(p) => {
            eprintln!("port outside of range [1:65535]: {p}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("invalid port: {e}");
            return ExitCode::FAILURE;
        }
    }
    match health(&format!("http://127.0.0.1:{port}/"), 5) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn health(endpoint: &str, timeout: u64) -> anyhow::Result<()> {
    let url = if endpoint.contains("://") { endpoint.to_string() } else { format!("http://{endpoint}/") };
    let shown = oxidot::secret::redact_url(&url).into_owned();
    let uri: http::Uri = url.parse().with_context(|| format!("invalid endpoint {shown:?}"))?;
    runtime()?.block_on(async {
        let client = oxidot::http_client::build(&Default::default()).map_err(|e| anyhow!(e))?;
        let req = http::Request::get(uri).body(http_body_util::Full::new(bytes::Bytes::new()))?;
        let resp = tokio::time::timeout(std::time::Duration::from_secs(timeout), client.request(req))
            .await
            .map_err(|_| anyhow!("{shown}: no answer within {timeout}s"))?
            .map_err(|e| anyhow!("{shown}: {e}"))?;
        let status = resp.status();
        use http_body_util::BodyExt;
        let body = resp.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        println!("{} {}", status.as_u16(), String::from_utf8_lossy(&body).trim());
        if status.is_success() {
            Ok(())
        } else {
            Err(anyhow!("{shown} is not healthy (HTTP {})", status.as_u16()))
        }
    })
}
