//! Replays the fuzz corpus on the stable toolchain: every seed in
//! tests/fuzz/corpus/<target>/ and every input that once crashed a target,
//! saved in tests/fuzz/regressions/<target>/, through the same harness the
//! libFuzzer binaries run (tests/fuzz/harness.rs). A panic here is a
//! regression of a fixed bug.
//!
//! `FUZZ_WRITE_SEEDS=1 cargo test --release --test fuzz_regressions`
//! rewrites the seed corpus from `harness::seeds()`.

#[path = "fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

/// The files of `dir/<target>/`, sorted (none if it does not exist).
fn inputs(dir: &str, target: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fuzz_dir().join(dir).join(target))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

fn replay(dir: &str) -> usize {
    let mut n = 0;
    for (target, run) in harness::TARGETS {
        for p in inputs(dir, target) {
            let data = std::fs::read(&p).expect("read input");
            eprintln!("{target}: {}", p.display());
            run(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn seeds_and_regressions() {
    if std::env::var_os("FUZZ_WRITE_SEEDS").is_some() {
        for (target, name, bytes) in harness::seeds() {
            let d = fuzz_dir().join("corpus").join(target);
            std::fs::create_dir_all(&d).expect("corpus dir");
            std::fs::write(d.join(name), bytes).expect("write seed");
        }
    }
    // Generated seeds go through the harness too, so a change that breaks
    // them fails here even before the corpus is rewritten.
    for (target, name, bytes) in harness::seeds() {
        let run = harness::TARGETS
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, f)| f)
            .expect("seed for a known target");
        eprintln!("{target}: seed {name}");
        run(&bytes);
    }
    let seeds = replay("corpus");
    assert!(seeds > 0, "no seed corpus under tests/fuzz/corpus");
    replay("regressions");
}
