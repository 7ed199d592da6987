//! The default block size of `run --steal` (docs/balance.md "Blocks"): the least B with
//! B x B x 50 x cores >= jobs, and a study an older jobsplit started with the rule before
//! (`ceil(jobs / (48 x cores))`) resumes with the size its layout records.

use crate::harness::Study;

const ONE: &str = r#"{"a": {"weight": 1, "cores": 1}}"#;
const TWO: &str = r#"{"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}}"#;

fn trues(n: usize) -> Vec<String> {
    vec!["true".to_owned(); n]
}

/// The block size the study's layout records.
fn layout_block(s: &Study) -> u64 {
    let root = s.out().join(".jobsplit");
    let dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("layout.json"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(dirs.len(), 1, "one layout under {}", root.display());
    let layout = crate::harness::read_json(&dirs[0]);
    layout["block"].as_u64().unwrap()
}

fn steal(s: &Study, args: &[&str]) -> crate::harness::Out {
    s.output(&[&["run", "--yes", "--steal", "--threads", "1"][..], args].concat())
}

/// Fails before the square-root rule: 49 jobs on one core were blocks of 2 (ceil(49 / 48)).
#[test]
fn the_default_block_is_the_least_b_with_b_squared_x_50_per_core_covering_the_jobs() {
    let s = Study::with(&trues(49), ONE, "");
    let o = steal(&s, &["-M", "a"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("stealing blocks of 1"), "{}", o.stderr);
    assert_eq!(layout_block(&s), 1);
    let s = Study::with(&trues(51), ONE, "");
    let o = steal(&s, &["-M", "a"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("stealing blocks of 2"), "{}", o.stderr);
    assert_eq!(layout_block(&s), 2);
}

/// A layout recorded with the rule before (98 jobs on two cores: blocks of 2, now 1) is
/// joined by a host told no block size; a layout of another size is still refused.
#[test]
fn a_study_started_with_the_rule_before_keeps_its_block_size() {
    let s = Study::with(&trues(98), TWO, "");
    let o = steal(&s, &["-M", "a", "--steal-block", "2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(layout_block(&s), 2);
    let o = steal(&s, &["-M", "b"]);
    assert_eq!(o.code, 0, "the rule before's size is kept: {}", o.stderr);
    assert!(o.stderr.contains("stealing blocks of 2"), "{}", o.stderr);
    assert_eq!(layout_block(&s), 2);

    let s = Study::with(&trues(98), TWO, "");
    let o = steal(&s, &["-M", "a", "--steal-block", "3"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = steal(&s, &["-M", "b"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("pass --steal-block 3"), "{}", o.stderr);
}
