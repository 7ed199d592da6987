//! What a job starts with, whatever state jobsplit itself was started in: its own process
//! group, an empty signal mask, SIGPIPE at its default (jobsplit ignores it), every signal
//! jobsplit was told to ignore still ignored (`nohup jobsplit run ...` keeps its jobs immune to
//! SIGHUP), stdin `/dev/null`, stdout and stderr captured, also when jobsplit was started with
//! its own standard descriptors closed.

use std::collections::BTreeMap;

use crate::harness::Study;

const SOLO: &str = r#"{"solo": [1, 1]}"#;

/// The `Name:\tvalue` lines of a job's `/proc/self/status`, as its log has them.
fn status_of(s: &Study, job: u64) -> BTreeMap<String, String> {
    s.log("solo")
        .into_iter()
        .filter(|l| l.job == Some(job) && l.stream == "out")
        .filter_map(|l| {
            let (k, v) = l.text.split_once(':')?;
            Some((k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// Bit `sig` of a `/proc` signal mask (hex, bit n-1 for signal n).
fn has(mask: &str, sig: libc::c_int) -> bool {
    let bits = u64::from_str_radix(mask, 16).expect("a hex signal mask");
    bits & (1 << (sig - 1)) != 0
}

#[test]
fn a_job_has_its_own_group_an_empty_mask_sigpipe_default_and_keeps_what_was_ignored() {
    use std::os::unix::process::CommandExt as _;
    let s = Study::with(&["exec cat /proc/self/status".to_owned()], SOLO, "");
    let mut cmd = s.std_cmd();
    cmd.args(["run", "--machine", "solo", "--yes", "--quiet"]);
    // SAFETY: between fork and exec, only async-signal-safe calls on plain data: SIGHUP ignored
    // as nohup does, and SIGUSR1 blocked, which a job must not inherit.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = status_of(&s, 0);
    assert_eq!(status["SigBlk"], "0000000000000000", "{status:?}");
    assert!(has(&status["SigIgn"], libc::SIGHUP), "{status:?}");
    assert!(!has(&status["SigIgn"], libc::SIGPIPE), "{status:?}");
    assert_eq!(
        status["NSpgid"], status["Pid"],
        "a group of its own: {status:?}"
    );
}

#[test]
fn jobs_are_captured_when_jobsplit_starts_with_its_standard_descriptors_closed() {
    let jobs = [
        "echo out-$JOBSPLIT_JOB_INDEX; echo err-$JOBSPLIT_JOB_INDEX >&2",
        "cat; echo read-$JOBSPLIT_JOB_INDEX",
    ]
    .map(str::to_owned);
    let s = Study::with(&jobs, SOLO, "");
    // The shell closes 0, 1 and 2 before it execs jobsplit, so the run's own files and pipes
    // may take those numbers.
    let bin = crate::harness::bin();
    let script = format!(
        "exec {} run --machine solo --yes --quiet --threads 1 <&- >&- 2>&-",
        crate::harness::sh_quote(&bin.to_string_lossy())
    );
    let mut sh = std::process::Command::new("/bin/sh");
    crate::harness::clean_env(&mut sh);
    let out = sh
        .arg("-c")
        .arg(script)
        .current_dir(s.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<(Option<u64>, String, String)> = s
        .log("solo")
        .into_iter()
        .filter(|l| l.job.is_some())
        .map(|l| (l.job, l.stream, l.text))
        .collect();
    for want in [
        (Some(0), "out", "out-0"),
        (Some(0), "err", "err-0"),
        (Some(1), "out", "read-1"),
    ] {
        assert!(
            lines
                .iter()
                .any(|(j, st, t)| (*j, st.as_str(), t.as_str()) == want),
            "{want:?} in {lines:?}"
        );
    }
    let results = s.results("solo");
    assert!(results.rows.iter().all(|r| r.status() == "ok"));
}
