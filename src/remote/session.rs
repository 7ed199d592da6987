//! A long-lived `remote-serve session` per host: one ssh channel over the multiplexed
//! connection, a request a line and an answer a line, so that watch's looks and the claims it
//! makes cost a round trip each instead of an ssh process and a jobsplit start (about 0.8 s on
//! a loaded machine, a few ms this way).
//!
//! A request is `{"op": OP, "args": [...], "input": TEXT}`, one of the read-only or claiming
//! operations of `remote-serve` (`status`, `steal-look`, `steal-claim`, `restart`); its answer is
//! `{"out": TEXT}` (what the one-shot operation writes on stdout) or `{"err": MESSAGE}`. The
//! session ends at the end of its input. Nothing here decides a block: each claim is still the
//! link(2) + read-back on the owner's disk, made by the host's own jobsplit.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ssh::{Failure, Ssh};
use super::wire;
use crate::error::{Error, Result};

/// The operations a session serves.
const OPS: [&str; 4] = ["status", "steal-look", "steal-claim", "restart"];

/// How long the first answer of a new session may take (ssh may open its connection).
const FIRST_ANSWER: Duration = Duration::from_secs(15);

/// How long any later answer may take before the host counts as unreachable this time.
const ANSWER: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    op: String,
    args: Vec<String>,
    #[serde(default)]
    input: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    err: Option<String>,
}

/// What answers one operation as `remote-serve OP ARGS...` would: serve.rs hands its own
/// dispatcher to [`serve`], so which code an operation runs is decided in one place.
pub(crate) type OneShot = fn(&str, &[String], &mut dyn BufRead, &mut dyn Write) -> Result<()>;

/// The host side: answers every request line of `input` on `out`, flushed, until its end,
/// each through `one_shot`.
///
/// # Errors
/// The input is not request lines, or the answer cannot be written (the session ends).
pub(crate) fn serve(input: &mut dyn BufRead, out: &mut dyn Write, one_shot: OneShot) -> Result<()> {
    let bad = |e: std::io::Error| Error::usage(format!("remote-serve session: {e}"));
    while let Some(req) = wire::read_line::<Request>(input).map_err(bad)? {
        let answer = if OPS.contains(&req.op.as_str()) {
            let mut text = Vec::new();
            match one_shot(&req.op, &req.args, &mut req.input.as_bytes(), &mut text) {
                Ok(()) => Answer {
                    out: Some(String::from_utf8_lossy(&text).into_owned()),
                    err: None,
                },
                Err(e) => Answer {
                    out: None,
                    err: Some(e.to_string()),
                },
            }
        } else {
            Answer {
                out: None,
                err: Some(format!(
                    "remote-serve session: `{}` is not served here",
                    req.op
                )),
            }
        };
        wire::write_line(out, &answer).map_err(bad)?;
        out.flush().map_err(bad)?;
    }
    Ok(())
}

/// The launcher side: one session with one host.
#[derive(Debug)]
pub(crate) struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    /// What ssh said on stderr, for the message when the session breaks.
    stderr: Arc<Mutex<String>>,
    answered: bool,
    /// True once the session broke (ended or silent): of no further use.
    broken: bool,
}

impl Session {
    /// Starts `script` (which must exec `jobsplit remote-serve session` on the host) on `dest`.
    ///
    /// # Errors
    /// The ssh client cannot be started.
    pub(crate) fn start(
        ssh: &Ssh,
        dest: &str,
        script: &str,
    ) -> std::result::Result<Session, Failure> {
        let mut child = ssh
            .command_for(dest)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::Unreachable(format!("cannot start ssh: {e}")))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("piped");
        let said = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            *said.lock().unwrap_or_else(|e| e.into_inner()) = text;
        });
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let end = line.is_err();
                if tx.send(line).is_err() || end {
                    return;
                }
            }
        });
        Ok(Session {
            child,
            stdin,
            lines,
            stderr,
            answered: false,
            broken: false,
        })
    }

    /// Runs operation `op` with `args` and `input` there; what it wrote on stdout.
    ///
    /// # Errors
    /// `Remote` when the operation failed there (the session goes on); `Unreachable` when the
    /// session broke or gave no answer in time (or `Remote` with the exit code of a host side
    /// that ended): it is then of no further use (drop it and start another).
    pub(crate) fn call(
        &mut self,
        op: &str,
        args: &[String],
        input: &str,
    ) -> std::result::Result<String, Failure> {
        let req = Request {
            op: op.to_owned(),
            args: args.to_vec(),
            input: input.to_owned(),
        };
        if wire::write_line(&mut self.stdin, &req)
            .and_then(|()| self.stdin.flush())
            .is_err()
        {
            return Err(self.ended());
        }
        let wait = if self.answered { ANSWER } else { FIRST_ANSWER };
        let line = match self.lines.recv_timeout(wait) {
            Ok(Ok(line)) => line,
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                self.broken = true;
                return Err(Failure::Unreachable(format!(
                    "no answer in {} s",
                    wait.as_secs()
                )));
            }
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => return Err(self.ended()),
        };
        self.answered = true;
        let answer: Answer = serde_json::from_str(&line)
            .map_err(|e| Failure::Remote(0, format!("a bad session answer: {e}")))?;
        match (answer.out, answer.err) {
            (Some(out), None) => Ok(out),
            (_, err) => Err(Failure::Remote(
                1,
                err.unwrap_or_else(|| "no answer".to_owned()),
            )),
        }
    }
}

impl Session {
    /// Why the session ended: ssh's last word (an unreachable host), else the host side's.
    fn ended(&mut self) -> Failure {
        self.broken = true;
        let status = self.child.wait().ok().and_then(|s| s.code());
        // The stderr reader ends with the process; give it a moment to hand over its text.
        std::thread::sleep(Duration::from_millis(20));
        let text = self
            .stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let last = text
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or("the session ended")
            .to_owned();
        match status {
            Some(255) | None => Failure::Unreachable(last),
            Some(code) => Failure::Remote(code, last),
        }
    }
}

impl Drop for Session {
    /// Ends the session: its input closes (the host side ends), and the ssh client is reaped.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A session per host, started when first needed and again after one broke.
#[derive(Debug)]
pub(crate) struct Sessions {
    open: Vec<(String, Mutex<Option<Session>>)>,
}

impl Sessions {
    /// No session yet for any of `hosts`.
    pub(crate) fn new(hosts: &[super::Host]) -> Sessions {
        Sessions {
            open: hosts
                .iter()
                .map(|h| (h.machine.clone(), Mutex::new(None)))
                .collect(),
        }
    }

    /// Runs `op` with `args` and `input` on `host` (one of those given to [`Sessions::new`]),
    /// through its session; what the operation wrote. A session that broke is dropped (the
    /// next call starts another).
    ///
    /// # Errors
    /// As [`Session::call`], or `host` unknown here.
    pub(crate) fn call(
        &self,
        ssh: &Ssh,
        host: &super::Host,
        op: &str,
        args: &[String],
        input: &str,
    ) -> std::result::Result<String, Failure> {
        self.call_within(ssh, host, op, args, input, None)
    }

    /// [`Sessions::call`], but given up (`Unreachable`) if `host`'s session is still busy with
    /// another call after `wait` (`None`: waits for it).
    ///
    /// # Errors
    /// As [`Session::call`], or `host` unknown here, or its session busy.
    pub(crate) fn call_within(
        &self,
        ssh: &Ssh,
        host: &super::Host,
        op: &str,
        args: &[String],
        input: &str,
        wait: Option<Duration>,
    ) -> std::result::Result<String, Failure> {
        let Some((_, slot)) = self.open.iter().find(|(m, _)| *m == host.machine) else {
            return Err(Failure::Remote(
                0,
                format!("no session for `{}`", host.machine),
            ));
        };
        let slot = match wait {
            None => slot.lock().unwrap_or_else(|e| e.into_inner()),
            Some(wait) => {
                let deadline = std::time::Instant::now() + wait;
                loop {
                    match slot.try_lock() {
                        Ok(s) => break s,
                        Err(std::sync::TryLockError::Poisoned(e)) => break e.into_inner(),
                        Err(std::sync::TryLockError::WouldBlock)
                            if std::time::Instant::now() < deadline =>
                        {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(std::sync::TryLockError::WouldBlock) => {
                            return Err(Failure::Unreachable(
                                "its session is busy (a call that did not answer yet)".to_owned(),
                            ))
                        }
                    }
                }
            }
        };
        let mut slot = slot;
        if slot.is_none() {
            let script = format!(
                "B={}/{}/jobsplit-$(uname -m) && exec \"$B\" remote-serve session",
                host.dir_word(),
                super::quote::quote(super::state_dir::STATE_DIR),
            );
            *slot = Some(Session::start(ssh, &host.dest, &script)?);
        }
        let session = slot.as_mut().expect("just started");
        let answer = session.call(op, args, input);
        if session.broken {
            *slot = None;
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_answers_each_request_on_its_line() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().to_string_lossy().into_owned();
        let reqs = [
            Request {
                op: "steal-look".into(),
                args: vec![
                    dir.clone(),
                    "out".into(),
                    "../etc".into(),
                    "m".into(),
                    "open".into(),
                ],
                input: String::new(),
            },
            Request {
                op: "clean".into(),
                args: vec![dir],
                input: String::new(),
            },
        ];
        let mut input = Vec::new();
        for r in &reqs {
            wire::write_line(&mut input, r).unwrap();
        }
        let mut out = Vec::new();
        serve(&mut input.as_slice(), &mut out, super::super::serve).unwrap();
        let answers: Vec<Answer> = wire::read_lines(&mut out.as_slice()).unwrap();
        assert_eq!(answers.len(), 2);
        assert!(answers[0]
            .err
            .as_deref()
            .unwrap()
            .contains("not a stealing layout"));
        assert!(answers[1]
            .err
            .as_deref()
            .unwrap()
            .contains("not served here"));
        assert!(t.path().exists(), "clean is not served by a session");
    }
}
