//! A bounded, stable-toolchain fuzzer over oxidot's untrusted-input paths (`oxidot::fuzzing`):
//! structure-aware seeds (every golden case's OTLP request, as protobuf and JSON, under every
//! Content-Encoding; every config fixture) mutated at random, each input run under
//! `catch_unwind`. Coverage-guided runs use the cargo-fuzz targets in `tests/fuzz/` (README,
//! "Fuzzing"); what either finds is kept in `tests/fixtures/fuzz/<target>/` and replayed here
//! first, every run.
//!
//! `OXIDOT_FUZZ_SECONDS` (default 25) bounds each target; `OXIDOT_FUZZ_SEED` (default: one fixed
//! sequence; `random` for a new one) repeats a run;
//! `OXIDOT_FUZZ_CORPUS_OUT` writes the seeds out as a cargo-fuzz corpus.
//! A crashing input is written to `target/fuzz-crashes/` and its path printed.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use oxidot::component::Signal;
use oxidot::fuzzing::{Selector, ENCODINGS};
use oxidot::pipeline::data::Batch;
use oxidot::receiver::otlp::decode::{decode_request, Encoding};
use prost::Message;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// xorshift64*: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// The test command runs one fixed sequence of inputs (CI must not fail on a new find by
/// chance; the sequence is checked here for several times the budget); `OXIDOT_FUZZ_SEED=random`
/// explores new ones, a number repeats a printed run.
fn seed() -> u64 {
    match std::env::var("OXIDOT_FUZZ_SEED").ok().as_deref() {
        Some("random") => {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            t.as_nanos() as u64 | 1
        }
        Some(n) => n.parse().unwrap_or(FIXED_SEED),
        None => FIXED_SEED,
    }
}

const FIXED_SEED: u64 = 0x6f78_6964_6f74_0001;

fn budget() -> Duration {
    let secs = std::env::var("OXIDOT_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(25u64);
    Duration::from_secs(secs)
}

/// Values that sit on boundaries of lengths, varints and counts.
const INTERESTING: &[u8] =
    &[0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x0a, 0x12, 0x1a, 0x22, b'"', b'{', b'}', b'[', b'$', b':'];

/// One to eight random edits (mostly one or two, so that many mutants still decode): bit flips, boundary bytes, deletions, insertions, duplicated runs,
/// truncation, splices from another seed, and (for protobuf) huge length varints.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    let edits = if rng.below(4) == 0 { 1 + rng.below(8) } else { 1 + rng.below(2) };
    for _ in 0..edits {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                data.drain(i..i + n);
            }
            3 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(i..i, bytes);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let run = data[i..i + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, run);
            }
            5 if len > 0 => data.truncate(rng.below(len)),
            6 if !other.is_empty() => {
                let i = rng.below(other.len());
                let n = 1 + rng.below((other.len() - i).min(512));
                let at = rng.below(len + 1);
                data.splice(at..at, other[i..i + n].iter().copied());
            }
            7 => {
                // A length/varint claiming far more than is there.
                let at = rng.below(len + 1);
                data.splice(at..at, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
            _ => {
                let at = rng.below(len + 1);
                data.insert(at, INTERESTING[rng.below(INTERESTING.len())]);
            }
        }
    }
}

/// Strings and numbers that sit on the edges of what translators handle.
const ODD_STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "NaN",
    "Inf",
    "\u{0}",
    "é",
    "日本",
    "a.b.c",
    "${env:HOME}",
    "00000000000000",
    "0102030405060708090a0b0c0d0e0f",
    "ffffffffffffffffffffffffffffffff",
    "{\"a\":1}",
    "\\",
];
const ODD_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "24",
    "25",
    "-2147483648",
    "2147483647",
    "4294967295",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "1e308",
    "-1e308",
    "5e-324",
    "0.5",
];

/// A structural edit of an OTLP request in its JSON form, so that the request stays decodable
/// and the edit reaches the translators: ids of other lengths, out-of-range numbers, odd strings,
/// elements removed or duplicated, fields moved between nodes.
fn mutate_tree(rng: &mut Rng, v: &mut serde_json::Value, donor: &serde_json::Value) {
    let mut paths = Vec::new();
    collect_paths(v, &mut Vec::new(), &mut paths);
    let Some(path) = (!paths.is_empty()).then(|| paths[rng.below(paths.len())].clone()) else { return };
    let Some(node) = v.pointer_mut(&path) else { return };
    use serde_json::Value as J;
    match node {
        J::String(s) => match rng.below(4) {
            0 => *s = ODD_STRINGS[rng.below(ODD_STRINGS.len())].to_string(),
            1 => {
                let cut = rng.below(s.len() + 1);
                if s.is_char_boundary(cut) {
                    s.truncate(cut);
                }
            }
            2 => s.push_str(&"x".repeat(1 + rng.below(300))),
            _ => *s = ODD_NUMBERS[rng.below(ODD_NUMBERS.len())].to_string(),
        },
        J::Number(_) => {
            if let Ok(n) = ODD_NUMBERS[rng.below(ODD_NUMBERS.len())].parse::<serde_json::Number>() {
                *node = J::Number(n);
            }
        }
        J::Array(a) if !a.is_empty() => {
            let i = rng.below(a.len());
            match rng.below(3) {
                0 => {
                    a.remove(i);
                }
                1 => {
                    let dup = a[i].clone();
                    a.insert(i, dup);
                }
                _ => a.truncate(i),
            }
        }
        J::Object(o) if !o.is_empty() => {
            let keys: Vec<String> = o.keys().cloned().collect();
            let k = &keys[rng.below(keys.len())];
            if rng.below(2) == 0 {
                o.remove(k);
            } else if let Some(d) = donor_field(rng, donor, k) {
                o.insert(k.clone(), d);
            }
        }
        _ => {}
    }
}

/// JSON pointers of every node under `v`.
fn collect_paths(v: &serde_json::Value, at: &mut Vec<String>, out: &mut Vec<String>) {
    if !at.is_empty() {
        out.push(format!("/{}", at.join("/")));
    }
    match v {
        serde_json::Value::Object(o) => {
            for (k, c) in o {
                at.push(k.replace('~', "~0").replace('/', "~1"));
                collect_paths(c, at, out);
                at.pop();
            }
        }
        serde_json::Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                at.push(i.to_string());
                collect_paths(c, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// A value found under the same key somewhere in `donor`.
fn donor_field(rng: &mut Rng, donor: &serde_json::Value, key: &str) -> Option<serde_json::Value> {
    let mut found = Vec::new();
    find_key(donor, key, &mut found);
    (!found.is_empty()).then(|| found[rng.below(found.len())].clone())
}

fn find_key(v: &serde_json::Value, key: &str, out: &mut Vec<serde_json::Value>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, c) in o {
                if k == key {
                    out.push(c.clone());
                }
                find_key(c, key, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|c| find_key(c, key, out)),
        _ => {}
    }
}

/// Compresses `raw` as the HTTP receiver's `ENCODINGS[i]` expects (the unknown one: unchanged).
fn compress(i: usize, raw: &[u8]) -> Vec<u8> {
    match ENCODINGS[i] {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(raw).unwrap();
            e.finish().unwrap()
        }
        "deflate" | "zlib" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(raw).unwrap();
            e.finish().unwrap()
        }
        "zstd" => zstd::bulk::compress(raw, 1).unwrap(),
        "snappy" => snap::raw::Encoder::new().compress_vec(raw).unwrap(),
        "x-snappy-framed" => {
            let mut e = snap::write::FrameEncoder::new(Vec::new());
            e.write_all(raw).unwrap();
            e.into_inner().unwrap()
        }
        _ => raw.to_vec(),
    }
}

/// Runs `f` on `input`; a panic saves the input and fails the test with its path.
fn run_one(target: &str, f: fn(&[u8]), input: &[u8]) {
    let started = Instant::now();
    if catch_unwind(AssertUnwindSafe(|| f(input))).is_err() {
        let dir = root().join("target/fuzz-crashes");
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("{target}-{:016x}", fnv(input));
        std::fs::write(dir.join(&name), input).unwrap();
        panic!("{target}: panicked on an input saved as target/fuzz-crashes/{name}; keep it in tests/fixtures/fuzz/{target}/ once fixed");
    }
    // Not a speed check: an input that takes this long is a hang (quadratic or unbounded work).
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{target}: one input took {took:?} ({} bytes)", input.len());
}

/// With `OXIDOT_FUZZ_CORPUS_OUT=dir`, the seeds are also written to `dir/<cargo-fuzz target>/`:
/// the starting corpus of a coverage-guided run (README, "Fuzzing").
fn dump_seed(fuzz_target: &str, input: &[u8]) {
    if let Some(dir) = std::env::var_os("OXIDOT_FUZZ_CORPUS_OUT") {
        let dir = PathBuf::from(dir).join(fuzz_target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{:016x}", fnv(input))), input).unwrap();
    }
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ x as u64).wrapping_mul(0x100_0000_01b3))
}

/// Inputs kept from earlier findings: replayed before any mutation.
fn regressions(target: &str) -> Vec<Vec<u8>> {
    let dir = root().join("tests/fixtures/fuzz").join(target);
    let mut out: Vec<Vec<u8>> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| std::fs::read(e.path()).unwrap()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// Every golden case's OTLP request of `signal`, decoded as the receiver does.
fn golden_batches(signal: Signal) -> Vec<Batch> {
    let mut files = Vec::new();
    walk(&root().join("tests/fixtures/golden"), &mut files);
    let mut out = Vec::new();
    for f in files.iter().filter(|f| f.to_string_lossy().ends_with(".in.json")) {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let Some(req) = v.get("request") else { continue };
        let text = serde_json::to_vec(req).unwrap();
        if let Ok(b) = decode_request(signal, Encoding::Json, &text) {
            if b.items() > 0 {
                out.push(b);
            }
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn encode(b: &Batch, enc: Encoding) -> Vec<u8> {
    match (b, enc) {
        (Batch::Raw(r), Encoding::Protobuf) => r.to_vec(),
        (Batch::Raw(_), Encoding::Json) => encode(&b.decoded(), enc),
        (Batch::Traces(r), Encoding::Protobuf) => {
            ExportTraceServiceRequest { resource_spans: r.clone() }.encode_to_vec()
        }
        (Batch::Metrics(r), Encoding::Protobuf) => {
            ExportMetricsServiceRequest { resource_metrics: r.clone() }.encode_to_vec()
        }
        (Batch::Logs(r), Encoding::Protobuf) => ExportLogsServiceRequest { resource_logs: r.clone() }.encode_to_vec(),
        (Batch::Traces(r), Encoding::Json) => {
            serde_json::to_vec(&ExportTraceServiceRequest { resource_spans: r.clone() }).unwrap()
        }
        (Batch::Metrics(r), Encoding::Json) => {
            serde_json::to_vec(&ExportMetricsServiceRequest { resource_metrics: r.clone() }).unwrap()
        }
        (Batch::Logs(r), Encoding::Json) => {
            serde_json::to_vec(&ExportLogsServiceRequest { resource_logs: r.clone() }).unwrap()
        }
    }
}

/// The seed pool's bound (the golden seeds plus decodable mutants).
const MAX_POOL: usize = 4000;

/// Fuzzes the OTLP/HTTP body path for one signal. Mutations are made to the uncompressed
/// payload, which is then compressed properly (so they reach the decoder), and sometimes to the
/// compressed bytes too (so they reach the decompressor).
fn fuzz_otlp(signal: Signal, target: &str) {
    let batches = golden_batches(signal);
    assert!(batches.len() >= 10, "{target}: only {} golden requests found", batches.len());
    let mut seeds: Vec<(Encoding, Vec<u8>)> = Vec::new();
    for b in &batches {
        seeds.push((Encoding::Protobuf, encode(b, Encoding::Protobuf)));
        seeds.push((Encoding::Json, encode(b, Encoding::Json)));
    }
    let decoded_ok = |sel: Selector, raw: &[u8]| decode_request(sel.signal, sel.encoding, raw).is_ok();
    // Every seed, under every encoding, must get through unchanged: otherwise mutations would
    // be exercising only the error paths.
    for (enc, raw) in &seeds {
        for c in 0..ENCODINGS.len() - 1 {
            let sel = Selector { signal, encoding: *enc, compression: c };
            assert!(decoded_ok(sel, raw), "{target}: a seed does not decode");
            let mut input = vec![sel.to_byte()];
            input.extend(compress(c, raw));
            run_one(target, oxidot::fuzzing::otlp_http_body, &input);
            dump_seed("otlp_http_body", &input);
        }
    }
    let regress = regressions(target);
    for input in &regress {
        run_one(target, oxidot::fuzzing::otlp_http_body, input);
    }

    let s = seed();
    let mut rng = Rng(s);
    let deadline = Instant::now() + budget();
    let (mut runs, mut decoded, mut structural) = (0u64, 0u64, 0u64);
    let mut trees: Vec<serde_json::Value> = seeds
        .iter()
        .filter(|(e, _)| *e == Encoding::Json)
        .filter_map(|(_, t)| serde_json::from_slice(t).ok())
        .collect();
    while Instant::now() < deadline {
        let (enc, mut payload) = if rng.below(2) == 0 {
            let (enc, raw) = &seeds[rng.below(seeds.len())];
            let mut payload = raw.clone();
            let other = seeds[rng.below(seeds.len())].1.clone();
            mutate(&mut rng, &mut payload, &other);
            (*enc, payload)
        } else {
            let mut tree = trees[rng.below(trees.len())].clone();
            for _ in 0..1 + rng.below(3) {
                let donor = &trees[rng.below(trees.len())];
                mutate_tree(&mut rng, &mut tree, donor);
            }
            let text = serde_json::to_vec(&tree).unwrap_or_default();
            match decode_request(signal, Encoding::Json, &text) {
                Ok(b) => {
                    structural += 1;
                    if trees.len() < MAX_POOL {
                        trees.push(tree);
                    }
                    if rng.below(2) == 0 {
                        (Encoding::Protobuf, encode(&b, Encoding::Protobuf))
                    } else {
                        (Encoding::Json, text)
                    }
                }
                Err(_) => (Encoding::Json, text),
            }
        };
        let c = rng.below(ENCODINGS.len());
        let sel = Selector { signal, encoding: enc, compression: c };
        let mut body = compress(c, &payload);
        payload.shrink_to_fit();
        if rng.below(5) == 0 {
            mutate(&mut rng, &mut body, &[]);
        } else if decoded_ok(sel, &payload) {
            decoded += 1;
            // Without coverage feedback, a mutant that still decodes is the next best thing
            // to keep: mutations then stack up into deeper, still-valid requests.
            if seeds.len() < MAX_POOL && payload.len() < 1 << 20 {
                seeds.push((enc, payload));
            }
        }
        let mut input = vec![sel.to_byte()];
        input.extend(body);
        run_one(target, oxidot::fuzzing::otlp_http_body, &input);
        runs += 1;
    }
    eprintln!(
        "{target}: seed {s}: {runs} inputs ({decoded} decoded and translated, {structural} structural edits), {} seeds, {} trees, {} regressions",
        seeds.len(),
        trees.len(),
        regress.len()
    );
    assert!(runs > 0 || budget().is_zero());
}

#[test]
fn fuzz_otlp_traces() {
    fuzz_otlp(Signal::Traces, "otlp_traces");
}

#[test]
fn fuzz_otlp_metrics() {
    fuzz_otlp(Signal::Metrics, "otlp_metrics");
}

#[test]
fn fuzz_otlp_logs() {
    fuzz_otlp(Signal::Logs, "otlp_logs");
}

/// Config text through parse, `${env:}` expansion and typed validation.
#[test]
fn fuzz_config() {
    let mut files = Vec::new();
    walk(&root().join("tests/fixtures/config"), &mut files);
    walk(&root().join("tests/fixtures/adot-configs"), &mut files);
    walk(&root().join("config"), &mut files);
    let mut seeds: Vec<Vec<u8>> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    // Expansion edge cases the fixtures do not have.
    seeds.push(b"receivers: {otlp: {protocols: {grpc: {endpoint: '${env:NESTED}:${PORT}'}}}}\n".to_vec());
    seeds.push(b"a: ${env:UNSET:-default}\nb: $${env:HOME}\nc: ${EMPTY}\nd: &x [*x]\n".to_vec());
    assert!(seeds.len() >= 20, "only {} config seeds found", seeds.len());
    for input in seeds.iter().chain(regressions("config").iter()) {
        run_one("config", oxidot::fuzzing::config_text, input);
        dump_seed("config_text", input);
    }
    let s = seed();
    let mut rng = Rng(s);
    let deadline = Instant::now() + budget();
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let mut input = seeds[rng.below(seeds.len())].clone();
        let other = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut input, &other);
        run_one("config", oxidot::fuzzing::config_text, &input);
        runs += 1;
    }
    eprintln!("config: seed {s}: {runs} inputs, {} seeds", seeds.len());
    assert!(runs > 0 || budget().is_zero());
}
