//! The one golden-test runner the translators share (tests only).
//!
//! A golden folder `tests/fixtures/golden/<component>[/<part>]` holds `<case>.in.json` inputs and
//! their expected `<case>.out.json` outputs. [`Golden::dir`] runs every case of a folder (in name
//! order), compares what it produces with the `.out.json` as JSON values, and with
//! `UPDATE_GOLDEN=1` rewrites the outputs instead (pretty JSON plus a newline; review the diff).
//! Mismatches are collected, and [`Golden::finish`] fails once listing all of them, so one run
//! shows every case that differs. Table-shaped goldens (many cases in one file) report through
//! [`Golden::check`].

use serde_json::Value;
use std::path::{Path, PathBuf};

/// `tests/fixtures/golden/<rel>` in this crate.
pub fn dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden").join(rel)
}

/// One case of a golden folder.
pub struct Case {
    /// The file name without `.in.json`.
    pub name: String,
    pub input_path: PathBuf,
    /// The input file, parsed.
    pub input: Value,
    pub out_path: PathBuf,
}

/// The cases of a folder, sorted by name; other files (and sub-folders) are ignored.
pub fn cases(dir: &Path) -> Vec<Case> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut out: Vec<Case> = entries
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name()?.to_str()?.strip_suffix(".in.json")?.to_string();
            Some((name, p))
        })
        .map(|(name, input_path)| {
            let text = std::fs::read_to_string(&input_path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let input: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let out_path = dir.join(format!("{name}.out.json"));
            Case { name, input_path, input, out_path }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Reads a case's expected output.
pub fn want(case: &Case) -> Value {
    std::fs::read_to_string(&case.out_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| panic!("{}: no .out.json", case.name))
}

/// Collects the outcome of golden cases over one test; see the module comment.
#[derive(Default)]
pub struct Golden {
    failures: Vec<String>,
    cases: usize,
}

impl Golden {
    pub fn new() -> Golden {
        Golden::default()
    }

    /// Whether outputs are rewritten (`UPDATE_GOLDEN` set).
    pub fn updating() -> bool {
        std::env::var("UPDATE_GOLDEN").is_ok()
    }

    /// Runs every case of `dir`: `run` produces the output, compared whole with `.out.json` (or
    /// written to it when updating). Returns the number of cases in `dir`.
    pub fn dir(&mut self, dir: &Path, mut run: impl FnMut(&Case) -> Value) -> usize {
        let all = cases(dir);
        for case in &all {
            let got = run(case);
            if Self::updating() {
                let text = serde_json::to_string_pretty(&got).unwrap_or_else(|e| panic!("{}: {e}", case.name)) + "\n";
                std::fs::write(&case.out_path, text).unwrap_or_else(|e| panic!("{}: {e}", case.out_path.display()));
            } else {
                let want = want(case);
                if got != want {
                    self.failures.push(format!(
                        "{}: differs from {}\n got {got}\nwant {want}",
                        case.name,
                        case.out_path.display()
                    ));
                }
            }
        }
        self.cases += all.len();
        all.len()
    }

    /// Runs every case of `dir` through `check`, which compares the output with the expected one
    /// its own way and returns what differs (never rewritten: such outputs are written by hand).
    pub fn dir_with(&mut self, dir: &Path, mut check: impl FnMut(&Case, &Value) -> Result<(), String>) -> usize {
        let all = cases(dir);
        for case in &all {
            let want = want(case);
            self.check(&case.name, check(case, &want));
        }
        all.len()
    }

    /// Records one case checked elsewhere (a table row): `Err` holds what differs.
    pub fn check(&mut self, name: &str, outcome: Result<(), String>) {
        self.cases += 1;
        if let Err(e) = outcome {
            self.failures.push(format!("{name}: {e}"));
        }
    }

    /// Fails, listing every mismatch, if any case differed.
    pub fn finish(self) {
        eprintln!("golden: {} cases, {} differ", self.cases, self.failures.len());
        assert!(
            self.failures.is_empty(),
            "{} of {} golden cases differ:\n{}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n")
        );
    }
}
