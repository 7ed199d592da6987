//! Starting a process: its environment handed over as built by the caller (the run's part once,
//! each job's few variables on top), where `std::process::Command` copies the whole environment
//! into a map and back for every process once one variable is set (about 90,000 instructions a
//! job, more than the rest of a job's handling together); the child itself is in
//! `spawn_child.rs`.
//!
//! Like `Command`: a process group of its own, an empty signal mask and SIGPIPE at its default
//! (jobsplit ignores it) in the child, our pipe ends close-on-exec.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::AtomicI32;
use std::sync::OnceLock;

use super::spawn_child;
use super::Pid;

/// A started process: its pid (also its process group id) and our ends of its pipes.
pub(crate) struct Spawned {
    pub(crate) pid: Pid,
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
}

/// What to start: `program` (an absolute path) with `argv` and exactly the environment `envp`
/// (`NAME=VALUE` strings), in `cwd` if given; stdin piped or `/dev/null`, stdout and stderr
/// piped or `/dev/null`.
pub(crate) struct Spec<'a> {
    pub(crate) program: &'a CStr,
    pub(crate) argv: &'a [&'a CStr],
    pub(crate) envp: &'a [&'a CStr],
    pub(crate) cwd: Option<&'a CStr>,
    pub(crate) stdin: bool,
    pub(crate) output: bool,
}

/// A pipe: (read end, write end), both close-on-exec.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the two-element array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success both are fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `fd` moved to a descriptor number of 3 or more if it is below (jobsplit started with a
/// standard descriptor closed): the child's `dup2` onto 0, 1 and 2 must not overwrite a
/// descriptor it has yet to move.
fn above_standard(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on an open descriptor returns a new one (3 or more) or -1.
    let moved = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if moved < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// `/dev/null` opened once for reading and once for writing, for every child's unpiped
/// descriptors (kept open for the process's life, close-on-exec like every other).
fn dev_null() -> io::Result<&'static [OwnedFd; 2]> {
    static NULL: OnceLock<[OwnedFd; 2]> = OnceLock::new();
    if let Some(fds) = NULL.get() {
        return Ok(fds);
    }
    let open = |write: bool| -> io::Result<OwnedFd> {
        let file = std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .open("/dev/null")?;
        above_standard(OwnedFd::from(file))
    };
    let fds = [open(false)?, open(true)?];
    Ok(NULL.get_or_init(|| fds))
}

/// Starts `spec` (see [`Spec`]).
pub(crate) fn spawn(spec: &Spec<'_>) -> io::Result<Spawned> {
    let null = dev_null()?;
    let mut ours = [None, None, None];
    let mut theirs: [Option<OwnedFd>; 3] = [None, None, None];
    let mut fds = [0; 3];
    for (target, piped) in [(0, spec.stdin), (1, spec.output), (2, spec.output)] {
        if !piped {
            fds[target] = null[usize::from(target != 0)].as_raw_fd();
            continue;
        }
        let (read, write) = pipe()?;
        let (mine, child) = if target == 0 {
            (write, read)
        } else {
            (read, write)
        };
        let child = above_standard(child)?;
        fds[target] = child.as_raw_fd();
        ours[target] = Some(mine);
        theirs[target] = Some(child);
    }
    let pointers = |strings: &[&CStr]| -> Vec<*mut libc::c_char> {
        let mut p: Vec<_> = strings.iter().map(|s| s.as_ptr().cast_mut()).collect();
        p.push(std::ptr::null_mut());
        p
    };
    let (argv, envp) = (pointers(spec.argv), pointers(spec.envp));
    let plan = spawn_child::Plan {
        program: spec.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: spec.cwd.map_or(std::ptr::null(), CStr::as_ptr),
        fds,
        reset: spawn_child::signals_to_reset(),
        failed: AtomicI32::new(0),
    };
    let pid = spawn_child::start(&plan)?;
    drop(theirs);
    let [stdin, stdout, stderr] = ours;
    Ok(Spawned {
        pid,
        stdin,
        stdout,
        stderr,
    })
}

/// Waits for our child `pid` to end and reaps it.
pub(crate) fn wait(pid: Pid) -> io::Result<ExitStatus> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waitpid writes the status into the int it is given.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(ExitStatus::from_raw(status));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Appends the environment entry `NAME=VALUE` and its NUL to `out` (a NUL in either cuts the
/// entry there, as a C string ends).
pub(crate) fn env_entry(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    let start = out.len();
    out.reserve(name.len() + value.len() + 2);
    out.extend_from_slice(name);
    out.push(b'=');
    out.extend_from_slice(value);
    // memchr, not a byte loop: eight of these are built for every job (dispatch's hot path).
    if let Some(at) = memchr::memchr(0, &out[start..]) {
        out.truncate(start + at);
    }
    out.push(0);
}

/// The environment entry `NAME=VALUE` as a C string (see [`env_entry`]).
pub(crate) fn env_entry_cstring(name: &[u8], value: &[u8]) -> CString {
    let mut bytes = Vec::new();
    env_entry(&mut bytes, name, value);
    // No NUL is left before the last byte.
    CString::from_vec_with_nul(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn a_spawned_shell_sees_exactly_its_environment_and_its_own_group() {
        let envp = [
            env_entry_cstring(b"A", b"1"),
            env_entry_cstring(b"PATH", b"/usr/bin:/bin"),
        ];
        let env: Vec<&CStr> = envp.iter().map(CString::as_c_str).collect();
        let script =
            c"echo \"$A $B $(cut -d' ' -f5 /proc/$$/stat) $$ $(pwd)\"; echo err >&2; exit 3";
        let spec = Spec {
            program: c"/bin/sh",
            argv: &[c"sh", c"-c", script],
            envp: &env,
            cwd: Some(c"/"),
            stdin: false,
            output: true,
        };
        let child = spawn(&spec).unwrap();
        let mut out = String::new();
        std::fs::File::from(child.stdout.unwrap())
            .read_to_string(&mut out)
            .unwrap();
        let status = wait(child.pid).unwrap();
        assert_eq!(status.code(), Some(3));
        let pid = child.pid.to_string();
        assert_eq!(out.trim(), format!("1  {pid} {pid} /"));
    }

    #[test]
    fn a_program_that_cannot_start_is_its_error_and_leaves_no_child() {
        let spec = Spec {
            program: c"/nonexistent/program",
            argv: &[c"program"],
            envp: &[],
            cwd: None,
            stdin: true,
            output: true,
        };
        let e = spawn(&spec).err().expect("no such program");
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        let spec = Spec {
            program: c"/bin/sh",
            cwd: Some(c"/nonexistent/directory"),
            ..spec
        };
        let e = spawn(&spec).err().expect("no such directory");
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        // Both children were reaped: this thread has none left, not even a zombie.
        let children = std::fs::read_to_string("/proc/thread-self/children").unwrap();
        assert_eq!(children.trim(), "");
    }
}
