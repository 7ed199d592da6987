//! The transport: the system's OpenSSH client, one multiplexed connection per host.
//!
//! The command line is the user's (`--ssh`, `JOBSPLIT_SSH`, `[ship] ssh`, default `ssh`), so
//! their `~/.ssh/config`, agent, `ProxyJump`, known hosts and Kerberos work unchanged. jobsplit
//! adds its options after the user's words (ssh keeps the first value it sees of an option, so
//! a user's own `-o ConnectTimeout=2` wins): `BatchMode=yes` (never a password prompt),
//! `ConnectTimeout`, keep-alives, and `ControlMaster=auto` with a `ControlPath` in a private
//! directory (mode 0700) made for this process, whose masters persist a few seconds and are
//! ended, with the directory, when the [`Ssh`] is dropped.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Seconds ssh waits for a host to answer before giving up.
const CONNECT_TIMEOUT_S: u32 = 10;

/// Longest silence of a remote command (no byte received) before it is taken as a lost host.
const IDLE_LIMIT: Duration = Duration::from_secs(45);

/// Why a remote command gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// ssh could not reach the host (its last line of stderr says why).
    Unreachable(String),
    /// The host stopped answering in the middle of a command.
    Silent,
    /// The command ran and failed (its exit code and last line of stderr).
    Remote(i32, String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(why) => write!(f, "unreachable: {why}"),
            Failure::Silent => write!(f, "unreachable: no answer for {} s", IDLE_LIMIT.as_secs()),
            Failure::Remote(code, why) => write!(f, "failed there (exit {code}): {why}"),
        }
    }
}

/// The ssh client with its private control directory.
#[derive(Debug)]
pub(crate) struct Ssh {
    words: Vec<String>,
    control: PathBuf,
    used: Mutex<Vec<String>>,
}

impl Ssh {
    /// The ssh command line `command` (words split as `sh` would, no expansion), or `ssh`.
    ///
    /// # Errors
    /// An empty or unbalanced command line, or no private directory could be made.
    pub(crate) fn new(command: Option<&str>) -> Result<Ssh> {
        let words = match command {
            None => vec!["ssh".to_owned()],
            Some(text) => shlex::split(text)
                .filter(|w| !w.is_empty())
                .ok_or_else(|| {
                    Error::usage(format!(
                        "the ssh command `{text}` is empty or has an unbalanced quote: write it as in a shell, e.g. JOBSPLIT_SSH=\"ssh -F lab/ssh_config\""
                    ))
                })?,
        };
        Ok(Ssh {
            words,
            control: private_dir()?,
            used: Mutex::new(Vec::new()),
        })
    }

    /// The words of the ssh command line, jobsplit's options included, up to the destination.
    fn command(&self, dest: &str) -> Command {
        let mut cmd = Command::new(&self.words[0]);
        cmd.args(&self.words[1..]);
        for opt in [
            "BatchMode=yes".to_owned(),
            format!("ConnectTimeout={CONNECT_TIMEOUT_S}"),
            "ServerAliveInterval=5".to_owned(),
            "ServerAliveCountMax=3".to_owned(),
            "ControlMaster=auto".to_owned(),
            format!("ControlPath={}/%C", self.control.display()),
            "ControlPersist=10".to_owned(),
            "LogLevel=ERROR".to_owned(),
        ] {
            cmd.arg("-o").arg(opt);
        }
        // `--` ends the options: a destination starting with `-` is a host name, never a flag.
        cmd.arg("--").arg(dest);
        cmd
    }

    /// The ssh command to `dest` (a command line to run there is added by the caller), over
    /// this process's multiplexed connection; the connection is ended when the [`Ssh`] drops.
    pub(crate) fn command_for(&self, dest: &str) -> Command {
        self.note(dest);
        self.command(dest)
    }

    /// Runs the `sh` command line `script` on `dest`, feeding it `input` and handing its stdout
    /// to `read`. A host silent for too long is given up (the ssh client is killed).
    ///
    /// # Errors
    /// `Err(Failure)` when the host is unreachable, falls silent, or the command fails; an
    /// error of `read` comes back as `Remote(0, message)`.
    pub(crate) fn run<T>(
        &self,
        dest: &str,
        script: &str,
        input: &[u8],
        read: impl FnOnce(&mut dyn Read) -> std::io::Result<T>,
    ) -> std::result::Result<T, Failure> {
        self.note(dest);
        let mut child = self
            .command(dest)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::Unreachable(format!("cannot start `{}`: {e}", self.words[0])))?;
        let pid = child.id() as crate::sys::Pid;
        let progress = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let silent = Arc::new(AtomicBool::new(false));
        let watchdog = watch(pid, &progress, &done, &silent);
        let mut stdin = child.stdin.take();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            if let Some(s) = stdin.as_mut() {
                let _ = s.write_all(&input);
            }
        });
        let mut stderr = child.stderr.take().expect("piped");
        let errs = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut out = Counting {
            inner: child.stdout.take().expect("piped"),
            progress: Arc::clone(&progress),
            start: Instant::now(),
        };
        let value = read(&mut out);
        // Whatever `read` left unread is drained, so the command is not blocked writing it.
        let _ = std::io::copy(&mut out, &mut std::io::sink());
        let status = child.wait();
        done.store(true, Ordering::SeqCst);
        let _ = writer.join();
        let _ = watchdog.join();
        let err_text = errs.join().unwrap_or_default();
        let last = last_line(&err_text);
        if silent.load(Ordering::SeqCst) {
            return Err(Failure::Silent);
        }
        match status.ok().and_then(|s| s.code()) {
            Some(0) => value.map_err(|e| Failure::Remote(0, e.to_string())),
            Some(255) => Err(Failure::Unreachable(last)),
            Some(code) => Err(Failure::Remote(code, last)),
            None => Err(Failure::Unreachable("ssh was killed".to_owned())),
        }
    }

    /// Runs `script` on `dest` with no input and returns its stdout.
    ///
    /// # Errors
    /// As [`Ssh::run`].
    pub(crate) fn output(&self, dest: &str, script: &str) -> std::result::Result<Vec<u8>, Failure> {
        self.run(dest, script, &[], |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v)?;
            Ok(v)
        })
    }

    fn note(&self, dest: &str) {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        if !used.iter().any(|d| d == dest) {
            used.push(dest.to_owned());
        }
    }
}

impl Drop for Ssh {
    /// Ends every master connection this process opened (all at once) and removes the control
    /// directory.
    fn drop(&mut self) {
        let used = std::mem::take(&mut *self.used.lock().unwrap_or_else(|e| e.into_inner()));
        if user_persists(&self.words) {
            // The user's own ControlPersist (and ControlPath: theirs win) keeps masters for
            // the next command: theirs to end.
            return;
        }
        let mut exits = Vec::new();
        for dest in used {
            let mut cmd = Command::new(&self.words[0]);
            cmd.args(&self.words[1..])
                .arg("-o")
                .arg(format!("ControlPath={}/%C", self.control.display()))
                .args(["-O", "exit", "--", &dest])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            exits.extend(cmd.spawn());
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for mut child in exits {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.control);
    }
}

/// True when the user's ssh words set both `ControlPath` and `ControlPersist` (`-o
/// ControlPersist=60`, `-oControlPath=...`): their masters outlive a command, so that the next
/// one (a watch, a collect) reuses the connection instead of opening one.
fn user_persists(words: &[String]) -> bool {
    let set = |name: &str| words.iter().any(|w| w.to_ascii_lowercase().contains(name));
    set("controlpersist") && set("controlpath")
}

/// Kills ssh (`pid`) once no byte has come for [`IDLE_LIMIT`].
fn watch(
    pid: crate::sys::Pid,
    progress: &Arc<AtomicU64>,
    done: &Arc<AtomicBool>,
    silent: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let (progress, done, silent) = (Arc::clone(progress), Arc::clone(done), Arc::clone(silent));
    std::thread::spawn(move || {
        let start = Instant::now();
        while !done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
            let last = Duration::from_millis(progress.load(Ordering::SeqCst));
            if start.elapsed().saturating_sub(last) > IDLE_LIMIT && !done.load(Ordering::SeqCst) {
                silent.store(true, Ordering::SeqCst);
                crate::sys::signal_process(pid, crate::sys::Signal::Kill);
                return;
            }
        }
    })
}

/// A reader that records when it last received bytes (ms since `start`).
struct Counting<R> {
    inner: R,
    progress: Arc<AtomicU64>,
    start: Instant,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.progress.store(ms, Ordering::SeqCst);
        Ok(n)
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_owned()
}

/// A fresh directory only this user can enter, for the control sockets. Under /tmp unless
/// `TMPDIR` is short enough for a socket path (108 bytes).
fn private_dir() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let tmp = std::env::temp_dir();
    let base = if tmp.as_os_str().len() <= 40 {
        tmp
    } else {
        PathBuf::from("/tmp")
    };
    let mut last = None;
    for _ in 0..16 {
        let dir = base.join(format!("jobsplit-ssh-{:016x}", rand_suffix()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
    Err(Error::io(
        base,
        last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AlreadyExists)),
    ))
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The control directory (for tests).
#[cfg(test)]
impl Ssh {
    fn control(&self) -> &std::path::Path {
        &self.control
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_own_persistent_masters_are_left_alone() {
        let words = |t: &str| shlex::split(t).unwrap();
        assert!(user_persists(&words(
            "ssh -o ControlPath=~/.ssh/j-%C -oControlPersist=60"
        )));
        assert!(!user_persists(&words("ssh -o ControlPersist=60")));
        assert!(!user_persists(&words("ssh -F lab/ssh_config")));
    }
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_control_directory_is_private_and_removed() {
        let ssh = Ssh::new(Some("ssh -F 'my config'")).unwrap();
        let dir = ssh.control().to_path_buf();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(ssh.words, ["ssh", "-F", "my config"]);
        drop(ssh);
        assert!(!dir.exists());
    }

    #[test]
    fn a_bad_command_line_is_refused() {
        assert!(Ssh::new(Some("ssh 'open")).is_err());
        assert!(Ssh::new(Some("  ")).is_err());
    }

    #[test]
    fn a_missing_client_is_unreachable_not_a_panic() {
        let ssh = Ssh::new(Some("/nonexistent/ssh")).unwrap();
        assert!(matches!(
            ssh.output("host", "true"),
            Err(Failure::Unreachable(_))
        ));
    }
}
