//! Inside a container or a cgroup with a CPU quota, a shard runs as many threads as the quota
//! allows, not as many as the node has CPUs: a Kubernetes pod with `limits: cpu: "1"` on a
//! 64-CPU node runs 1 job at a time.
//!
//! jobsplit takes the count from `std::thread::available_parallelism`, which on Linux reads
//! the cgroup v2 `cpu.max` or the cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` of the
//! process (and its affinity mask). These tests put the real binary into a real cgroup with
//! a quota of one CPU. They need root, a cgroup hierarchy with the `cpu` controller and at
//! least 2 CPUs; where the machine does not allow it they say SKIPPED loudly and pass.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::harness::{read_json, Out, Study};

/// A cgroup made for one test, removed when dropped (its processes have ended by then).
struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn skip(test: &str, why: &str) {
    eprintln!("#### SKIPPED: cluster_cgroup::{test}: {why}");
}

fn node_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A new cgroup under `root` with `files` written into it, or why there is none.
fn cgroup(root: &Path, files: &[(&str, &str)]) -> Result<Cgroup, String> {
    static N: AtomicU32 = AtomicU32::new(0);
    if !root.join("cgroup.procs").is_file() {
        return Err(format!("no cgroup hierarchy at {}", root.display()));
    }
    let name = format!(
        "jobsplit-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let dir = root.join(name);
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let group = Cgroup(dir);
    for (file, value) in files {
        let path = group.0.join(file);
        std::fs::write(&path, value)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(group)
}

/// `jobsplit run` of a 2-job study as a Kubernetes Indexed Job pod (`JOB_COMPLETION_INDEX`
/// with `JOBSPLIT_SHARD_COUNT`) moved into `group` first, and the threads its manifest says
/// it used.
fn threads_in(study: &Study, group: Option<&Cgroup>) -> u64 {
    let join = group.map_or(String::new(), |g| {
        format!("echo $$ > '{}/cgroup.procs' || exit 97; ", g.0.display())
    });
    let script =
        format!("{join}exec \"$JOBSPLIT_BIN\" run --jobs jobs.txt --out out --yes --quiet");
    let mut cmd = Command::new("sh");
    crate::harness::clean_env(&mut cmd);
    let o = cmd
        .args(["-c", &script])
        .current_dir(study.path())
        .env("JOBSPLIT_BIN", crate::harness::bin())
        .env("JOB_COMPLETION_INDEX", "0")
        .env("JOBSPLIT_SHARD_COUNT", "1")
        .output()
        .unwrap();
    let o = Out::of(o);
    assert_eq!(o.code, 0, "{o:?}");
    let manifest = read_json(&study.join("out/shard-0/manifest.json"));
    std::fs::remove_dir_all(study.join("out")).unwrap();
    manifest["threads"].as_u64().unwrap()
}

fn study() -> Study {
    let s = Study::new();
    s.jobs(&["true".to_owned(), "true".to_owned()]);
    s
}

fn check_quota(test: &str, root: &str, files: &[(&str, &str)]) {
    if node_cpus() < 2 {
        return skip(
            test,
            "this machine has 1 CPU: a quota of 1 changes nothing to see",
        );
    }
    let s = study();
    assert_eq!(
        threads_in(&s, None) as usize,
        node_cpus(),
        "no quota: every CPU"
    );
    let group = match cgroup(Path::new(root), files) {
        Ok(g) => g,
        Err(why) => return skip(test, &why),
    };
    assert_eq!(
        threads_in(&s, Some(&group)),
        1,
        "a quota of 1 CPU in {root}"
    );
}

#[test]
fn a_cgroup_v1_cpu_quota_sets_the_threads() {
    // 1.5 CPUs of quota: one whole CPU, so 1 thread.
    check_quota(
        "a_cgroup_v1_cpu_quota_sets_the_threads",
        "/sys/fs/cgroup/cpu",
        &[
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "150000"),
        ],
    );
}

#[test]
fn a_cgroup_v2_cpu_max_sets_the_threads() {
    let test = "a_cgroup_v2_cpu_max_sets_the_threads";
    // The unified hierarchy: /sys/fs/cgroup itself on a v2-only host, else a hybrid mount.
    let root = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|r| Path::new(r).join("cgroup.controllers").is_file());
    let Some(root) = root else {
        return skip(test, "no cgroup v2 hierarchy");
    };
    let controllers =
        std::fs::read_to_string(Path::new(root).join("cgroup.controllers")).unwrap_or_default();
    if !controllers.split_whitespace().any(|c| c == "cpu") {
        return skip(
            test,
            &format!("the cgroup v2 hierarchy {root} has no cpu controller (it is on v1 here)"),
        );
    }
    let subtree = Path::new(root).join("cgroup.subtree_control");
    let enabled = std::fs::read_to_string(&subtree).unwrap_or_default();
    if !enabled.split_whitespace().any(|c| c == "cpu") {
        // Enabling it would change the host's cgroups for every other process: not here.
        return skip(
            test,
            &format!("the cpu controller is not enabled in {}", subtree.display()),
        );
    }
    check_quota(test, root, &[("cpu.max", "100000 100000")]);
}
