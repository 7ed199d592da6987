//! Starting a process with `posix_spawn`: its environment handed over as built by the caller
//! (the run's part once, each job's few variables on top), where `std::process::Command` copies
//! the whole environment into a map and back for every process once one variable is set
//! (about 90,000 instructions a job, more than the rest of a job's handling together).
//!
//! Like `Command`: a process group of its own, an empty signal mask and SIGPIPE at its default
//! (jobsplit ignores it) in the child, our pipe ends close-on-exec.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

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

/// `posix_spawn`'s return (an error number, 0 for none) as a result.
fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

/// The spawn's file actions and attributes, destroyed when dropped.
struct Plan {
    actions: libc::posix_spawn_file_actions_t,
    attr: libc::posix_spawnattr_t,
}

impl Drop for Plan {
    fn drop(&mut self) {
        // SAFETY: both were initialised in `Plan::new` and are destroyed once, here.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.actions);
            libc::posix_spawnattr_destroy(&mut self.attr);
        }
    }
}

impl Plan {
    fn new() -> io::Result<Box<Plan>> {
        // SAFETY: both are plain C structs, valid zeroed, initialised by the calls below before
        // any other use. Boxed so their addresses stay put.
        let mut plan: Box<Plan> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: pointers to the boxed structs, valid for the calls.
        unsafe {
            check(libc::posix_spawn_file_actions_init(&mut plan.actions))?;
            if let Err(e) = check(libc::posix_spawnattr_init(&mut plan.attr)) {
                libc::posix_spawn_file_actions_destroy(&mut plan.actions);
                std::mem::forget(plan);
                return Err(e);
            }
        }
        // SAFETY: sigset_t is plain data; sigemptyset and sigaddset write into it; the attr
        // setters copy from it.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            check(libc::posix_spawnattr_setsigmask(&mut plan.attr, &set))?;
            libc::sigaddset(&mut set, libc::SIGPIPE);
            check(libc::posix_spawnattr_setsigdefault(&mut plan.attr, &set))?;
            check(libc::posix_spawnattr_setpgroup(&mut plan.attr, 0))?;
            let flags = libc::POSIX_SPAWN_SETPGROUP
                | libc::POSIX_SPAWN_SETSIGMASK
                | libc::POSIX_SPAWN_SETSIGDEF;
            check(libc::posix_spawnattr_setflags(
                &mut plan.attr,
                flags as libc::c_short,
            ))?;
        }
        Ok(plan)
    }

    /// The child's descriptor `target` is `fd` (ours is closed after the spawn).
    fn dup(&mut self, fd: &OwnedFd, target: libc::c_int) -> io::Result<()> {
        use std::os::fd::AsRawFd as _;
        // SAFETY: initialised actions; `fd` stays open until the spawn is done.
        check(unsafe {
            libc::posix_spawn_file_actions_adddup2(&mut self.actions, fd.as_raw_fd(), target)
        })
    }

    /// The child's descriptor `target` is `/dev/null`, opened with `flags`.
    fn null(&mut self, target: libc::c_int, flags: libc::c_int) -> io::Result<()> {
        // SAFETY: initialised actions; the path is a static C string.
        check(unsafe {
            libc::posix_spawn_file_actions_addopen(
                &mut self.actions,
                target,
                c"/dev/null".as_ptr(),
                flags,
                0,
            )
        })
    }
}

/// Starts `spec` (see [`Spec`]).
pub(crate) fn spawn(spec: &Spec<'_>) -> io::Result<Spawned> {
    let mut plan = Plan::new()?;
    let mut ours = [None, None, None];
    let mut theirs = Vec::with_capacity(3);
    for (target, piped) in [(0, spec.stdin), (1, spec.output), (2, spec.output)] {
        if !piped {
            let flags = if target == 0 {
                libc::O_RDONLY
            } else {
                libc::O_WRONLY
            };
            plan.null(target, flags)?;
            continue;
        }
        let (read, write) = pipe()?;
        let (mine, child) = if target == 0 {
            (write, read)
        } else {
            (read, write)
        };
        plan.dup(&child, target)?;
        ours[target as usize] = Some(mine);
        theirs.push(child);
    }
    if let Some(dir) = spec.cwd {
        // SAFETY: initialised actions; `dir` outlives the spawn.
        check(unsafe {
            libc::posix_spawn_file_actions_addchdir_np(&mut plan.actions, dir.as_ptr())
        })?;
    }
    let pointers = |strings: &[&CStr]| -> Vec<*mut libc::c_char> {
        let mut p: Vec<_> = strings.iter().map(|s| s.as_ptr().cast_mut()).collect();
        p.push(std::ptr::null_mut());
        p
    };
    let (argv, envp) = (pointers(spec.argv), pointers(spec.envp));
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid for the call: the program, NULL-terminated argv and envp
    // arrays of C strings the caller keeps alive, initialised actions and attributes.
    check(unsafe {
        libc::posix_spawn(
            &mut pid,
            spec.program.as_ptr(),
            &plan.actions,
            &plan.attr,
            argv.as_ptr(),
            envp.as_ptr(),
        )
    })?;
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
        let script = c"echo \"$A $B $(cut -d' ' -f5 /proc/$$/stat) $$\"; echo err >&2; exit 3";
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
        assert_eq!(out.trim(), format!("1  {pid} {pid}"));
    }
}
