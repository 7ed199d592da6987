//! The Kubernetes example `examples/kubernetes/indexed-job.yaml` stays a working Indexed Job:
//! parsed with `yaml-rust2`, checked field by field, and its environment fed to
//! `jobsplit::testing::detect` for every completion index.

use std::path::Path;

use jobsplit::testing::{detect, Shard, SHARD_COUNT_ENV};
use yaml_rust2::{Yaml, YamlLoader};

fn documents() -> Vec<Yaml> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes/indexed-job.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    YamlLoader::load_from_str(&text).unwrap()
}

/// The documents of `kind` (e.g. "Job").
fn of_kind(docs: &[Yaml], kind: &str) -> Vec<Yaml> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .cloned()
        .collect()
}

fn str_of(y: &Yaml) -> &str {
    y.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {y:?}"))
}

/// The one Indexed Job of the example.
fn indexed_job() -> Yaml {
    let jobs: Vec<Yaml> = of_kind(&documents(), "Job")
        .into_iter()
        .filter(|j| j["spec"]["completionMode"].as_str() == Some("Indexed"))
        .collect();
    assert_eq!(
        jobs.len(),
        1,
        "exactly one Job with completionMode: Indexed"
    );
    jobs[0].clone()
}

/// The container that runs `jobsplit run`.
fn shard_container(job: &Yaml) -> Yaml {
    let containers = job["spec"]["template"]["spec"]["containers"]
        .as_vec()
        .unwrap();
    let runs: Vec<&Yaml> = containers
        .iter()
        .filter(|c| {
            c["command"]
                .as_vec()
                .is_some_and(|cmd| cmd.iter().any(|a| a.as_str() == Some("run")))
        })
        .collect();
    assert_eq!(runs.len(), 1, "one container runs `jobsplit run`");
    runs[0].clone()
}

fn shard_count_env(container: &Yaml) -> String {
    let env = container["env"].as_vec().expect("the container has env");
    let found: Vec<&Yaml> = env
        .iter()
        .filter(|e| e["name"].as_str() == Some(SHARD_COUNT_ENV))
        .collect();
    assert_eq!(found.len(), 1, "{SHARD_COUNT_ENV} is set once");
    // Kubernetes refuses env values that are not strings.
    str_of(&found[0]["value"]).to_owned()
}

#[test]
fn is_an_indexed_job_whose_completions_equal_the_shard_count() {
    let job = indexed_job();
    assert_eq!(str_of(&job["apiVersion"]), "batch/v1");
    let completions = job["spec"]["completions"].as_i64().expect("completions");
    assert!(completions >= 1);
    let count = shard_count_env(&shard_container(&job));
    assert_eq!(
        count,
        completions.to_string(),
        "{SHARD_COUNT_ENV} == completions"
    );
    let parallelism = job["spec"]["parallelism"].as_i64().expect("parallelism");
    assert!((1..=completions).contains(&parallelism));
}

#[test]
fn retries_each_index_on_its_own() {
    let job = indexed_job();
    let backoff = job["spec"]["backoffLimitPerIndex"]
        .as_i64()
        .expect("backoffLimitPerIndex");
    assert!(backoff >= 1, "a failed shard is retried");
    // backoffLimitPerIndex requires restartPolicy: Never.
    assert_eq!(
        str_of(&job["spec"]["template"]["spec"]["restartPolicy"]),
        "Never"
    );
}

#[test]
fn writes_to_a_shared_volume() {
    let job = indexed_job();
    let pod = &job["spec"]["template"]["spec"];
    let container = shard_container(&job);
    let command: Vec<&str> = container["command"]
        .as_vec()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    assert!(
        !command.iter().any(|a| a.starts_with("--shard")),
        "the shard comes from JOB_COMPLETION_INDEX, not a flag: {command:?}"
    );
    assert!(
        command.contains(&"--steal"),
        "the pods steal through the shared volume: {command:?}"
    );
    let out = command[command.iter().position(|a| *a == "--out").unwrap() + 1];
    // The --out directory lies in a mount of a PersistentVolumeClaim volume.
    let claim_volumes: Vec<&str> = pod["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .filter(|v| !v["persistentVolumeClaim"]["claimName"].is_badvalue())
        .map(|v| str_of(&v["name"]))
        .collect();
    let mounted = container["volumeMounts"].as_vec().unwrap().iter().any(|m| {
        claim_volumes.contains(&str_of(&m["name"]))
            && Path::new(out).starts_with(str_of(&m["mountPath"]))
    });
    assert!(
        mounted,
        "--out {out} is on a mounted claim {claim_volumes:?}"
    );
    // The claim is shared by pods on several nodes.
    let claims = of_kind(&documents(), "PersistentVolumeClaim");
    assert_eq!(claims.len(), 1);
    let modes: Vec<&str> = claims[0]["spec"]["accessModes"]
        .as_vec()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    assert_eq!(modes, ["ReadWriteMany"]);
}

#[test]
fn every_pod_detects_its_own_shard() {
    let job = indexed_job();
    let completions = u64::try_from(job["spec"]["completions"].as_i64().unwrap()).unwrap();
    let count: u64 = shard_count_env(&shard_container(&job)).parse().unwrap();
    for index in 0..completions {
        // What the pod sees: JOB_COMPLETION_INDEX from Kubernetes, the count from its env
        // (the CLI reads JOBSPLIT_SHARD_COUNT when --shard-count is not given).
        let env = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| index.to_string());
        let shard = detect(&env, Some(count)).unwrap();
        assert_eq!(shard, Some(Shard { index, count }));
    }
}

#[test]
fn the_merge_job_reads_the_same_claim() {
    let docs = documents();
    let merge: Vec<Yaml> = of_kind(&docs, "Job")
        .into_iter()
        .filter(|j| {
            j["spec"]["template"]["spec"]["containers"][0]["command"]
                .as_vec()
                .is_some_and(|cmd| cmd.iter().any(|a| a.as_str() == Some("merge")))
        })
        .collect();
    assert_eq!(merge.len(), 1, "one merge Job");
    let claim = |job: &Yaml| {
        job["spec"]["template"]["spec"]["volumes"]
            .as_vec()
            .unwrap()
            .iter()
            .find_map(|v| {
                v["persistentVolumeClaim"]["claimName"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap()
    };
    assert_eq!(claim(&merge[0]), claim(&indexed_job()));
    // Applied in two steps (`kubectl apply -l jobsplit/step=...`): the merge is not started
    // with the study.
    assert_eq!(
        str_of(&merge[0]["metadata"]["labels"]["jobsplit/step"]),
        "merge"
    );
    assert_eq!(
        str_of(&indexed_job()["metadata"]["labels"]["jobsplit/step"]),
        "run"
    );
}

/// Every container of every Job (the shards and the merge), as (Job name, container).
fn job_containers() -> Vec<(String, Yaml)> {
    of_kind(&documents(), "Job")
        .iter()
        .flat_map(|job| {
            let name = str_of(&job["metadata"]["name"]).to_owned();
            job["spec"]["template"]["spec"]["containers"]
                .as_vec()
                .unwrap()
                .iter()
                .map(move |c| (name.clone(), c.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn cpu_limits_equal_requests_so_threads_follow_them() {
    // jobsplit's threads follow the container's CPU quota, which only a limit sets: without
    // one, a pod takes its node's CPU count (tests/it/cluster_cgroup.rs runs the binary in a
    // real cgroup).
    let containers = job_containers();
    assert_eq!(containers.len(), 2, "the shard and the merge containers");
    for (job, c) in containers {
        let resources = &c["resources"];
        for what in ["cpu", "memory"] {
            let request = str_of(&resources["requests"][what]);
            let limit = str_of(&resources["limits"][what]);
            assert_eq!(request, limit, "job/{job}: {what} limit == request");
        }
        // A whole number of CPUs: the quota rounds down, so 1500m would run 1 thread.
        let cpu: u32 = str_of(&resources["limits"]["cpu"])
            .parse()
            .unwrap_or_else(|_| panic!("job/{job}: a whole number of CPUs"));
        assert!(cpu >= 1);
    }
}

/// `examples/kubernetes/run-study.sh` with a fake `kubectl` on `PATH`: `get` answers the
/// study's conditions from `squares` (one answer per call, the last repeated) and the merge
/// Job's from `merge`; every call is logged. Returns the exit code, the output and the log.
fn run_study(squares: &[&str], merge: &[&str], timeout: u32) -> (i32, String, String) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let answers = |name: &str, list: &[&str]| {
        std::fs::write(dir.path().join(name), list.join("\n") + "\n").unwrap();
    };
    answers("squares", squares);
    answers("squares-merge", merge);
    let kubectl = dir.path().join("kubectl");
    std::fs::write(
        &kubectl,
        r#"#!/bin/sh
echo "$*" >> "$FAKE/calls"
case $1 in
get)
    name=${2#job/}
    n=$(grep -c "^get job/$name " "$FAKE/calls")
    total=$(wc -l < "$FAKE/$name")
    [ "$n" -gt "$total" ] && n=$total
    sed -n "${n}p" "$FAKE/$name" ;;
logs) echo "merge log: 40 jobs" ;;
apply) echo "applied $*" ;;
*) exit 1 ;;
esac
"#,
    )
    .unwrap();
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes/run-study.sh");
    let o = std::process::Command::new("sh")
        .arg(&script)
        .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
        .env("FAKE", dir.path())
        .env("POLL", "1")
        .env("TIMEOUT", timeout.to_string())
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap_or_default();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    (o.status.code().unwrap_or(-1), text, calls)
}

#[test]
fn run_study_merges_after_a_complete_study() {
    let (code, out, calls) = run_study(&["", "Complete"], &["SuccessCriteriaMet Complete"], 60);
    assert_eq!(code, 0, "{out}\n{calls}");
    assert!(out.contains("job/squares: Complete"), "{out}");
    assert!(out.contains("merge log: 40 jobs"), "{out}");
    let applied: Vec<&str> = calls.lines().filter(|l| l.starts_with("apply")).collect();
    assert_eq!(applied.len(), 2, "{calls}");
    assert!(applied[0].ends_with("-l jobsplit/step=run"), "{calls}");
    assert!(applied[1].ends_with("-l jobsplit/step=merge"), "{calls}");
}

#[test]
fn run_study_stops_waiting_when_the_study_fails_and_still_merges() {
    // A Job whose shards exhausted their retries: Failed (after FailureTarget), never
    // Complete. `kubectl wait --for=condition=complete` would wait out its whole timeout.
    let (code, out, calls) = run_study(&["", "FailureTarget Failed"], &["Failed"], 86_400);
    assert_eq!(code, 1, "{out}\n{calls}");
    assert!(out.contains("job/squares: Failed"), "{out}");
    assert!(
        calls.contains("-l jobsplit/step=merge"),
        "the merge runs anyway: {calls}"
    );
    assert!(out.contains("merge log"), "{out}");
    assert_eq!(
        calls
            .lines()
            .filter(|l| l.starts_with("get job/squares "))
            .count(),
        2
    );
}

#[test]
fn run_study_gives_up_after_its_timeout() {
    let (code, out, calls) = run_study(&[""], &[""], 2);
    assert_eq!(code, 2, "{out}\n{calls}");
    assert!(
        out.contains("job/squares neither complete nor failed after 2 s"),
        "{out}"
    );
    assert!(!calls.contains("step=merge"), "{calls}");
}
