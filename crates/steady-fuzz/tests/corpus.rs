//! Replays every input the fuzzers kept (`fuzz/corpus/<target>/`) and every input
//! that once broke a parser (`fuzz/regressions/<target>/`) through the same entry
//! points, as plain tests: regressions are caught in CI without a fuzzer.

use std::path::PathBuf;

fn folder(kind: &str, target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join(target)
}

fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder(kind, target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_input_passes_its_target() {
    for (target, run) in steady_fuzz::TARGETS {
        let corpus = files("corpus", target);
        assert!(
            corpus.len() >= 5,
            "fuzz/corpus/{target} has {} inputs: seed it (see fuzz/README.md)",
            corpus.len()
        );
        for path in corpus.iter().chain(files("regressions", target).iter()) {
            let data = std::fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target} fails on {}", path.display());
        }
    }
}
