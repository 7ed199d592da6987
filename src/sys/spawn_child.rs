//! The child half of [`super::spawn()`]: a `clone(CLONE_VM | CLONE_VFORK)` child that runs on a
//! stack its thread keeps, sets up its descriptors, process group, signals and directory, and
//! execs.
//!
//! Why not `posix_spawn`, which does the same: for every child, glibc's (and musl's) asks the
//! kernel for the disposition of each of the 64 signals and resets each handled one (about 128
//! system calls, on the path between one job and the next, since the parent waits until the
//! child execs), maps and unmaps a fresh stack (each unmap flushes the TLB of every CPU the
//! run's threads are on) and reads the descriptor limit once per descriptor it moves. Here the
//! child resets only the signals this process catches, known from a scan kept between spawns,
//! and the stack is mapped once per thread. What the child ends up with is the same: its own
//! process group, an empty signal mask, every caught signal and SIGPIPE at their default,
//! every ignored signal (nohup's SIGHUP) still ignored, descriptors 0 to 2 as asked.

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::io;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// The stack a thread's children run on until they exec. 64 KiB: the child calls a handful of
/// C library functions and never recurses.
const STACK_BYTES: usize = 64 * 1024;

/// What the child does, prepared by the parent (the child allocates nothing).
pub(super) struct Plan {
    /// `execve`'s three arguments: the program, NULL-terminated argv and envp.
    pub(super) program: *const libc::c_char,
    pub(super) argv: *const *mut libc::c_char,
    pub(super) envp: *const *mut libc::c_char,
    /// A directory to change into first, or null.
    pub(super) cwd: *const libc::c_char,
    /// The descriptors that become the child's 0, 1 and 2 (each 3 or more, close-on-exec).
    pub(super) fds: [c_int; 3],
    /// The signals to put back to their default before the mask is cleared, bit n for signal n
    /// ([`signals_to_reset`]).
    pub(super) reset: u64,
    /// The error number of the step that failed in the child (0: it exec'd).
    pub(super) failed: AtomicI32,
}

/// Starts the child described by `plan` and returns its pid once it has exec'd, or the error of
/// the step that failed (the child is then reaped).
pub(super) fn start(plan: &Plan) -> io::Result<libc::pid_t> {
    STACK.with(|stack| {
        let mut stack = stack.borrow_mut();
        if stack.is_none() {
            *stack = Some(Stack::map()?);
        }
        let top = stack.as_ref().map_or(std::ptr::null_mut(), Stack::top);
        // Every signal blocked from before the clone until the child's mask is set: no handler
        // of ours may run in the child, on our memory.
        let mut masks: [libc::sigset_t; 2];
        // SAFETY: sigset_t is plain data, valid zeroed; sigfillset and pthread_sigmask only
        // write into the sets they are given.
        unsafe {
            masks = std::mem::zeroed();
            libc::sigfillset(&mut masks[0]);
            libc::pthread_sigmask(libc::SIG_SETMASK, &masks[0], &mut masks[1]);
        }
        let [_, old] = masks;
        // SAFETY: `top` is the 16-byte aligned top of a mapping this thread owns and no other
        // child uses (the thread is suspended until the child execs or exits: CLONE_VFORK);
        // `plan` outlives the child's use of it for the same reason; `child` allocates nothing,
        // cannot unwind and ends in execve or _exit.
        let pid = unsafe {
            libc::clone(
                child,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                std::ptr::from_ref(plan).cast_mut().cast(),
            )
        };
        let clone_error = io::Error::last_os_error();
        // SAFETY: restores the mask saved above.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
        if pid < 0 {
            return Err(clone_error);
        }
        match plan.failed.load(Ordering::SeqCst) {
            0 => Ok(pid),
            errno => {
                let mut status = 0;
                // SAFETY: waitpid writes the status of our child, which has ended, into
                // `status`; retried if a signal interrupts it.
                while unsafe { libc::waitpid(pid, &mut status, 0) } < 0
                    && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
                {
                }
                Err(io::Error::from_raw_os_error(errno))
            }
        }
    })
}

/// The child: runs on the parent's memory until execve, so it only calls the C library on data
/// the parent prepared, and never returns.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Plan` `start` passed, alive while the parent is suspended.
    let plan = unsafe { &*arg.cast::<Plan>() };
    // SAFETY: each call gets pointers the parent keeps alive and valid: a zeroed sigaction
    // (SIG_DFL, no flags), the program, argv and envp arrays, the directory; descriptors that
    // are open in the child (copies of the parent's). On failure the error number is stored for
    // the parent and the child ends without running any of the parent's exit code.
    unsafe {
        let default: libc::sigaction = std::mem::zeroed();
        for sig in 1..64 {
            if plan.reset & (1 << sig) != 0 {
                libc::sigaction(sig, &default, std::ptr::null_mut());
            }
        }
        let ok = libc::setpgid(0, 0) == 0
            && plan
                .fds
                .iter()
                .zip(0..)
                .all(|(&fd, target)| libc::dup2(fd, target) >= 0)
            && (plan.cwd.is_null() || libc::chdir(plan.cwd) == 0);
        if ok {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            libc::execve(plan.program, plan.argv.cast(), plan.envp.cast());
        }
        let errno = *libc::__errno_location();
        plan.failed
            .store(if errno == 0 { libc::EIO } else { errno }, Ordering::SeqCst);
        libc::_exit(127)
    }
}

/// A thread's child stack: mapped on its first spawn, with a guard page below, unmapped when the
/// thread ends.
struct Stack {
    base: *mut c_void,
    len: usize,
}

thread_local! {
    static STACK: RefCell<Option<Stack>> = const { RefCell::new(None) };
}

impl Stack {
    fn map() -> io::Result<Stack> {
        // SAFETY: sysconf has no memory effects.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or(4096);
        let len = STACK_BYTES + page;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = Stack { base, len };
        // SAFETY: the lowest page of the mapping made above; an overflow faults there instead of
        // writing below the stack.
        if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    fn top(&self) -> *mut c_void {
        // The mapping's end: page aligned, so 16-byte aligned as both ABIs want.
        self.base.wrapping_byte_add(self.len)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `Stack::map`, unmapped once, when no child runs on it.
        unsafe {
            libc::munmap(self.base, self.len);
        }
    }
}

/// The signals this process catches, bit n for signal n, and bit 0 (no signal has that number)
/// once they were scanned: on the first spawn and by [`signal_handlers_changed`].
static CAUGHT: AtomicU64 = AtomicU64::new(0);
const SCANNED: u64 = 1;

/// Scans the signal dispositions again: call after installing a signal handler (the CLI's Ctrl-C
/// and SIGTERM handlers do), so that children reset it. A handler missed by the scan would only
/// matter if a signal reached the child in the instant between its mask being cleared and its
/// exec: it would run in the child instead of the parent.
pub(crate) fn signal_handlers_changed() {
    CAUGHT.store(scan() | SCANNED, Ordering::SeqCst);
}

/// The signals a child resets, bit n for signal n: each one this process catches, and SIGPIPE
/// (which jobsplit ignores, like every Rust program, and a child must not inherit ignored).
pub(super) fn signals_to_reset() -> u64 {
    if CAUGHT.load(Ordering::SeqCst) & SCANNED == 0 {
        signal_handlers_changed();
    }
    (CAUGHT.load(Ordering::SeqCst) | 1 << libc::SIGPIPE) & !SCANNED
}

/// One bit per signal (1 to 63) whose handler is a function.
fn scan() -> u64 {
    let mut caught = 0u64;
    for sig in 1..64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: sigaction is plain data, valid zeroed; with a null new action sigaction only
        // writes the current one into `old`; an error (a signal number the C library keeps for
        // itself) leaves it unread.
        let old = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                continue;
            }
            old
        };
        if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
            caught |= 1 << sig;
        }
    }
    caught
}
