//! `merge` collects each job's files (`jobs/<index>/`) and per-job log (`logs/<index>.log.gz`)
//! from the machine directory whose row won into `merged/jobs/<index>/`: hard links where it can,
//! copies where it must, links never followed, nothing half-done (docs/output-format.md).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::harness::{gunzip, read_json, Study, Tmpfs};

const TWO: &str = r#"{"a": [1, 1], "b": [1, 1]}"#;

/// Jobs that keep two files, one nested, and print a line; `extra` runs first.
fn keeping(n: usize, extra: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"{extra}mkdir -p "$JOBSPLIT_OUT/sub" && echo "top {i}" > "$JOBSPLIT_OUT/top.txt" && echo "deep {i} $JOBSPLIT_MACHINE" > "$JOBSPLIT_OUT/sub/deep.txt"; echo "line of {i}""#
            )
        })
        .collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn merge(s: &Study, args: &[&str]) -> crate::harness::Out {
    let mut all = vec!["merge"];
    all.extend(args);
    s.output(&all)
}

#[test]
fn every_jobs_files_and_log_land_in_merged_jobs_linked_to_the_inputs() {
    let s = Study::with(&keeping(6, ""), TWO, "[run]\njob_logs = true\n");
    s.run("a").assert().code(0);
    s.run("b").assert().code(0);
    let o = merge(&s, &["out", "-o", "merged"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("collected 18 files (")
            && o.stdout
                .contains(" of 6 jobs into merged/jobs/ (18 linked, 0 copied, 6 per-job logs)"),
        "{}",
        o.stdout
    );
    let plan = s.plan_json(&[]);
    let owner = crate::harness::assignment(&plan);
    for i in 0..6u64 {
        let m = &owner[&i];
        let got = s.join(format!("merged/jobs/{i}"));
        let src = s.machine_dir(m).join(format!("jobs/{i}"));
        assert_eq!(read(&got.join("top.txt")), format!("top {i}\n"));
        assert_eq!(read(&got.join("sub/deep.txt")), format!("deep {i} {m}\n"));
        let (a, b) = (
            std::fs::metadata(got.join("sub/deep.txt")).unwrap(),
            std::fs::metadata(src.join("sub/deep.txt")).unwrap(),
        );
        assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "a hard link");
        assert_eq!(a.nlink(), 2);
        let log = gunzip(&got.join("jobsplit.log.gz"));
        assert!(log.contains(&format!("\tout\tline of {i}")), "{log}");
    }
    let files = &read_json(&s.join("merged/summary.json"))["files"];
    assert_eq!(files["jobs"], 6);
    assert_eq!(files["files"], 18);
    assert_eq!(files["linked"], 18);
    assert_eq!(files["copied"], 0);
    assert_eq!(files["logs"], 6);
    let bytes: u64 = (0..6u64)
        .map(|i| {
            let d = s.join(format!("merged/jobs/{i}"));
            ["top.txt", "sub/deep.txt", "jobsplit.log.gz"]
                .iter()
                .map(|f| std::fs::metadata(d.join(f)).unwrap().len())
                .sum::<u64>()
        })
        .sum();
    assert_eq!(files["bytes"], bytes);
    // Inputs are never modified: their files are where they were, with the same bytes.
    assert_eq!(
        read(&s.machine_dir(&owner[&0]).join("jobs/0/top.txt")),
        "top 0\n"
    );
}

/// Only the winning attempt's machine is collected: a job that failed on one input and was ok
/// in a rescue gets the rescue's files.
#[test]
fn the_winning_rows_machine_is_the_one_collected() {
    let s = Study::new();
    let fixed = s.join("fixed");
    let jobs = keeping(
        4,
        &format!(
            "echo attempt > \"$JOBSPLIT_OUT.mark\" 2>/dev/null; test -e {} || {{ mkdir -p \"$JOBSPLIT_OUT\"; echo failed > \"$JOBSPLIT_OUT/failed.txt\"; exit 1; }}; ",
            fixed.display()
        ),
    );
    s.setup(&jobs, r#"{"a": [1, 2]}"#, "");
    s.run("a").assert().code(1);
    assert_eq!(merge(&s, &["out", "-o", "m1"]).code, 1);
    std::fs::write(&fixed, "").unwrap();
    s.run("a")
        .args(["--rescue", "m1", "--out", "rescue", "--quiet"])
        .assert()
        .success();
    let o = merge(&s, &["out", "rescue", "-o", "m2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for i in 0..4 {
        let d = s.join(format!("m2/jobs/{i}"));
        assert_eq!(read(&d.join("top.txt")), format!("top {i}\n"));
        assert!(
            !d.join("failed.txt").exists(),
            "the failed attempt's files stay out"
        );
    }
    // m1 (every job failed) collected the failed attempts' files: they are what there is.
    assert_eq!(read(&s.join("m1/jobs/2/failed.txt")), "failed\n");
}

#[test]
fn no_files_skips_them_and_a_remerge_replaces_the_old_tree() {
    let s = Study::with(&keeping(4, ""), TWO, "");
    s.run("a").assert().code(0);
    s.run("b").assert().code(0);
    assert_eq!(merge(&s, &["out", "-o", "merged"]).code, 0);
    std::fs::write(s.join("merged/jobs/0/stale.txt"), "from before").unwrap();
    // What a merge killed midway left: taken away by the next one.
    std::fs::create_dir_all(s.join("merged/.jobs.tmp-999999/3")).unwrap();
    std::fs::create_dir_all(s.join("merged/.jobs.old-999998/1")).unwrap();
    // A re-merge builds a new tree: what the old one had and the inputs lack is gone.
    assert_eq!(merge(&s, &["out", "-o", "merged"]).code, 0);
    assert!(!s.join("merged/jobs/0/stale.txt").exists());
    assert!(s.join("merged/jobs/0/top.txt").exists());
    // --no-files: no tree, no `files` in summary.json, and an earlier tree is removed (it would
    // not match the new results.csv).
    let o = merge(&s, &["out", "-o", "merged", "--no-files"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!s.join("merged/jobs").exists());
    assert!(read_json(&s.join("merged/summary.json"))
        .get("files")
        .is_none());
    assert!(!o.stdout.contains("collected"), "{}", o.stdout);
    let left: Vec<String> = std::fs::read_dir(s.join("merged"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// A symbolic link a job left is made again as a link and never read through; a job directory
/// or `jobs/` that is itself a link is passed over with a warning.
#[test]
fn links_are_never_followed_out_of_the_tree() {
    let s = Study::with(&keeping(3, ""), r#"{"a": [1, 1]}"#, "");
    s.run("a").assert().code(0);
    let dir = s.machine_dir("a");
    let outside = s.join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), "not collected").unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("jobs/0/etc")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), dir.join("jobs/0/secret")).unwrap();
    std::fs::remove_dir_all(dir.join("jobs/1")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("jobs/1")).unwrap();
    let o = merge(&s, &["out", "-o", "merged"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let got = s.join("merged/jobs/0");
    assert_eq!(
        std::fs::read_link(got.join("etc")).unwrap(),
        Path::new("/etc")
    );
    assert_eq!(
        std::fs::read_link(got.join("secret")).unwrap(),
        outside.join("secret")
    );
    assert!(std::fs::symlink_metadata(got.join("etc"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(
        !s.join("merged/jobs/1").exists(),
        "a linked job directory is not followed"
    );
    assert!(
        o.stderr.contains("jobs/1: a symbolic link, not followed"),
        "{}",
        o.stderr
    );
    let files = &read_json(&s.join("merged/summary.json"))["files"];
    assert_eq!(files["symlinks"], 2);
    assert_eq!(files["jobs"], 2, "jobs 0 and 2");

    // `jobs` itself a link: nothing is read through it.
    let moved = s.join("real-jobs");
    std::fs::rename(dir.join("jobs"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, dir.join("jobs")).unwrap();
    let o = merge(&s, &["out", "-o", "merged2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!s.join("merged2/jobs").exists());
    assert!(
        o.stderr
            .contains("a symbolic link, not followed: no files are collected"),
        "{}",
        o.stderr
    );
}

/// A job that wrote a file named like the collected log keeps it; its log is not collected.
#[test]
fn a_jobs_own_file_named_like_the_log_wins() {
    let job =
        r#"mkdir -p "$JOBSPLIT_OUT" && echo mine > "$JOBSPLIT_OUT/jobsplit.log.gz"; echo out"#;
    let s = Study::with(
        &[job.to_owned()],
        r#"{"a": [1, 1]}"#,
        "[run]\njob_logs = true\n",
    );
    s.run("a").assert().code(0);
    let o = merge(&s, &["out", "-o", "merged"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(read(&s.join("merged/jobs/0/jobsplit.log.gz")), "mine\n");
    assert!(
        o.stderr.contains("its log is not collected"),
        "{}",
        o.stderr
    );
}

/// Across file systems (inputs on disk, the merge on a tmpfs) the files are copied.
#[test]
fn files_are_copied_where_links_cannot_go() {
    let fs = match Tmpfs::mount("16m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("skipped: no tmpfs ({why})");
            return;
        }
    };
    let s = Study::with(&keeping(3, ""), r#"{"a": [1, 1]}"#, "");
    s.run("a").assert().code(0);
    std::fs::set_permissions(
        s.machine_dir("a").join("jobs/1/top.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    let out = fs.path().join("merged");
    let o = merge(&s, &["out", "-o", out.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("(0 linked, 6 copied)"), "{}", o.stdout);
    assert_eq!(read(&out.join("jobs/2/sub/deep.txt")), "deep 2 a\n");
    let meta = std::fs::metadata(out.join("jobs/1/top.txt")).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o640, "the mode is kept");
    assert_eq!(meta.nlink(), 1);
}

/// A merge that fails while collecting (here: a full disk) leaves no `jobs/`, no temporary
/// tree, and no results of this merge: nothing written, so exit 2, naming the file.
#[test]
fn a_merge_that_fails_while_collecting_leaves_nothing_half_done() {
    let fs = match Tmpfs::mount("2m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("skipped: no tmpfs ({why})");
            return;
        }
    };
    // Each job keeps 1 MB: more than the merge's disk holds, so copying runs out of space.
    let job = r#"mkdir -p "$JOBSPLIT_OUT" && head -c 1000000 /dev/zero > "$JOBSPLIT_OUT/big""#;
    let s = Study::with(&vec![job.to_owned(); 4], r#"{"a": [1, 1]}"#, "");
    s.run("a").assert().code(0);
    let out = fs.path().join("merged");
    let o = merge(&s, &["out", "-o", out.to_str().unwrap()]);
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("no space left"), "{}", o.stderr);
    assert!(o.stderr.contains("/big"), "{}", o.stderr);
    assert!(
        !out.exists(),
        "the merge created its directory and removes it again"
    );
    assert!(
        fs.free() > 1_900_000,
        "nothing left on the disk: {}",
        fs.free()
    );
}
