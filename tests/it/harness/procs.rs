//! The processes a run may leave behind, and waiting for one.

use super::text;
use std::time::{Duration, Instant};

/// Live (non-zombie) processes whose environment contains `needle` (e.g. a study's
/// [`Study::env_marker`]), as (pid, command line).
pub(crate) fn procs_with_env(needle: &str) -> Vec<(i32, String)> {
    procs_where(|pid| {
        std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| text(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn procs_where(f: impl Fn(i32) -> bool) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me || is_zombie(pid) {
            continue;
        }
        if f(pid) {
            found.push((pid, cmdline(pid)));
        }
    }
    found
}

fn is_zombie(pid: i32) -> bool {
    // /proc/PID/stat: `pid (comm) S ...`; comm may hold spaces and parentheses.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|p| s[p + 1..].split_whitespace().next().map(str::to_owned))
        })
        .is_none_or(|state| state == "Z" || state == "X")
}

/// Waits up to `limit` for `f` to hold, checking every 20 ms; returns whether it did.
pub(crate) fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that no live process has `needle` in its environment, allowing `limit` for stragglers
/// to be reaped; kills any it finds (so one failure does not leak into other tests).
pub(crate) fn assert_no_procs_with_env(needle: &str, limit: Duration) {
    if wait_until(limit, || procs_with_env(needle).is_empty()) {
        return;
    }
    let left = procs_with_env(needle);
    for (pid, _) in &left {
        // SAFETY: kill has no memory effects.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    panic!("processes left behind: {left:?}");
}

/// Sends `sig` to `pid`.
pub(crate) fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill has no memory effects.
    let r = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig}) failed");
}

/// Waits for a spawned child up to `limit`; kills it and panics if it does not end in time.
pub(crate) fn wait_child(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
