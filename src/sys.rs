//! Every call into the C library lives here, each `unsafe` block with its `SAFETY:` comment, so
//! that the code above (supervision, the directory lock, the orphan sweep, the CLI) is plain
//! safe Rust. Linux only: pidfd and /proc are Linux's.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

mod spawn;
mod spawn_child;

pub(crate) use spawn::{env_entry, env_entry_cstring, spawn, wait, Spec};
pub(crate) use spawn_child::signal_handlers_changed;

/// A process id (also a process group id).
pub(crate) type Pid = i32;

/// The signals jobsplit sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Asks a process to stop.
    Term,
    /// Ends it.
    Kill,
}

impl Signal {
    fn raw(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        }
    }
}

/// Sends `sig` to every process of group `pgid`. An error (the group is gone, or not ours) is
/// ignored: there is nothing left to stop.
pub(crate) fn signal_group(pgid: Pid, sig: Signal) {
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill has no memory effects; a negative pid addresses one process group.
    unsafe {
        libc::kill(-pgid, sig.raw());
    }
}

/// Sends `sig` to process `pid` (errors ignored, as for [`signal_group`]).
pub(crate) fn signal_process(pid: Pid, sig: Signal) {
    if pid <= 1 {
        return;
    }
    // SAFETY: kill has no memory effects; a positive pid addresses one process.
    unsafe {
        libc::kill(pid, sig.raw());
    }
}

/// The process group of `pid`, if the process exists.
pub(crate) fn process_group(pid: Pid) -> Option<Pid> {
    // SAFETY: getpgid only reads the process table.
    let pgid = unsafe { libc::getpgid(pid) };
    (pgid > 0).then_some(pgid)
}

/// A descriptor that becomes readable when process `pid` exits (Linux 5.3+), if the kernel has
/// them.
pub(crate) fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; it touches
    // no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: a non-negative return is a fresh descriptor that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// True once our child `pid` has exited, without reaping it (so its pid and process group id
/// are not reused before `Child::wait`).
pub(crate) fn child_exited(pid: Pid) -> bool {
    // SAFETY: siginfo_t is plain data, valid when zeroed; waitid only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let Ok(id) = libc::id_t::try_from(pid) else {
        return false;
    };
    // SAFETY: a valid pointer to `info` for the call's duration; WNOWAIT leaves the child
    // waitable for `Child::wait`.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is valid to read once waitid returned 0 (it is zero when nothing exited).
    r == 0 && unsafe { info.si_pid() } != 0
}

/// What a descriptor is polled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Readable, at its end, or in error.
    Read,
    /// Writable, or its reader gone.
    Write,
}

/// Waits up to `timeout` until one of `fds` is ready for what it is wanted for, and sets
/// `ready[i]` for each that is (all false on timeout; `None` entries are never ready). `Err` of
/// kind `Interrupted` when a signal came. At most 8 entries: no allocation.
pub(crate) fn poll(
    fds: &[Option<(BorrowedFd<'_>, Want)>],
    timeout: Duration,
    ready: &mut [bool],
) -> io::Result<()> {
    const MAX: usize = 8;
    assert!(fds.len() <= MAX && ready.len() >= fds.len());
    let empty = libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    };
    let mut polls = [empty; MAX];
    for (p, (fd, want)) in polls
        .iter_mut()
        .zip(fds)
        .filter_map(|(p, f)| Some((p, (*f)?)))
    {
        p.fd = fd.as_raw_fd();
        p.events = match want {
            Want::Read => libc::POLLIN,
            Want::Write => libc::POLLOUT,
        };
    }
    // Round up: a deadline 0.4 ms away must not become a busy loop of zero-timeout polls.
    let ms = i32::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
    let count = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
    // SAFETY: `polls` is a valid array of at least `count` pollfd structs for the call's
    // duration; its descriptors are borrowed, so open, or -1, which poll skips.
    let n = unsafe { libc::poll(polls.as_mut_ptr(), count, ms) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    for (r, p) in ready.iter_mut().zip(&polls[..fds.len()]) {
        *r = p.revents != 0;
    }
    Ok(())
}

/// Puts descriptor `fd` (our end of a pipe, whose open file description is ours alone) in
/// non-blocking mode: a write then takes what fits and never waits.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl F_GETFL on an open descriptor reads its flags; no memory effects.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: F_SETFL on an open descriptor sets its status flags; no memory effects.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Takes an exclusive `flock` on `file` without waiting: `Ok(false)` if another holds it.
pub(crate) fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor `file` keeps open; it has no memory effects.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(e),
    }
}

/// This host's name (empty if the system will not say).
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Sets this process's nice value (every job inherits it).
#[cfg(feature = "cli")]
pub(crate) fn set_nice(nice: i32) -> io::Result<()> {
    // SAFETY: setpriority has no memory effects; it changes this process's priority.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The name of a signal number, for error messages.
pub(crate) fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGINT => "SIGINT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

/// Makes the child of `cmd` start a session of its own (setsid), so that it outlives the ssh
/// session that started it and no terminal's signals reach it.
pub(crate) fn detach(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent; it runs in the
    // forked child before exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sends SIGINT to `pid`, as a first Ctrl-C would (errors ignored, as for [`signal_process`]).
pub(crate) fn interrupt(pid: Pid) {
    if pid <= 1 {
        return;
    }
    // SAFETY: kill has no memory effects; a positive pid addresses one process.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_polls_readable_once_written() {
        use std::os::fd::AsFd as _;
        let (reader, mut writer) = std::os::unix::net::UnixStream::pair().unwrap();
        let fds = [None, Some((reader.as_fd(), Want::Read))];
        let mut ready = [true; 2];
        poll(&fds, Duration::from_millis(1), &mut ready).unwrap();
        assert_eq!(ready, [false, false]);
        std::io::Write::write_all(&mut writer, b"x").unwrap();
        poll(&fds, Duration::from_secs(5), &mut ready).unwrap();
        assert_eq!(ready, [false, true]);
        let out = [Some((writer.as_fd(), Want::Write))];
        poll(&out, Duration::from_secs(5), &mut ready).unwrap();
        assert!(ready[0], "an empty socket has room");
    }

    #[test]
    fn the_host_has_a_name_and_this_process_a_group() {
        assert!(!hostname().is_empty());
        assert!(process_group(std::process::id() as Pid).is_some());
    }
}
