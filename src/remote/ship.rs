//! Launching one host: bootstrap the binary with plain `sh` (`uname -sm`, `cat > tmp && mv`),
//! verify it with itself, send the payload files it lacks, and start its share detached.

use std::path::PathBuf;

use super::binary::Binary;
use super::host_run::Started;
use super::payload::Payload;
use super::quote::{join, quote};
use super::ssh::{Failure, Ssh};
use super::wire::{self, Frame, Op};

/// A machine of the study and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Its name in the machines file.
    pub machine: String,
    /// The ssh destination, `[user@]host`.
    pub dest: String,
    /// The study directory there (absolute, or relative to the remote home).
    pub dir: String,
}

impl Host {
    /// The study directory as a quoted `sh` word (`~/` means the home, where ssh starts).
    pub(crate) fn dir_word(&self) -> String {
        let dir = self.dir.strip_prefix("~/").unwrap_or(&self.dir);
        quote(if dir.is_empty() { "." } else { dir })
    }

    /// The shipped binary for `arch`, as a quoted `sh` word.
    pub(crate) fn bin_word(&self, arch: &str) -> String {
        let dir = self.dir.strip_prefix("~/").unwrap_or(&self.dir);
        quote(&format!(
            "{dir}/{}/jobsplit-{arch}",
            super::serve::STATE_DIR
        ))
    }
}

/// What to start on every host.
#[derive(Debug, Clone)]
pub struct LaunchPlan {
    /// The output directory relative to the study directory (or absolute).
    pub out: String,
    /// The plan digest the run must have.
    pub digest: String,
    /// The payload.
    pub payload: Payload,
    /// `jobsplit` arguments of the run (`run --machine M ...` without the machine).
    pub run_args: Vec<String>,
    /// Start even where the share is done (`--fresh`, `--rerun`).
    pub force: bool,
    /// Binaries given with `--binary`.
    pub binaries: Vec<PathBuf>,
}

/// What launching one host did.
#[derive(Debug, Clone)]
pub struct Launched {
    /// `uname -m` there.
    pub arch: String,
    /// True when the binary was sent (it was missing or another).
    pub binary_sent: bool,
    /// Payload files sent, and their bytes.
    pub files_sent: usize,
    /// Their bytes.
    pub bytes_sent: u64,
    /// What the host's run is now.
    pub started: Started,
}

/// Why launching a host stopped.
#[derive(Debug, Clone)]
pub enum LaunchError {
    /// The host could not be reached or failed a step.
    Host(Failure),
    /// Nothing fits the host (no binary for its architecture...): one line.
    Refused(String),
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::Host(failure) => failure.fmt(f),
            LaunchError::Refused(why) => f.write_str(why),
        }
    }
}

impl From<Failure> for LaunchError {
    fn from(f: Failure) -> Self {
        LaunchError::Host(f)
    }
}

/// Probes the host: its `uname -sm` and the SHA-256 of the binary it holds for its
/// architecture (`None` when it has none that runs).
pub(crate) fn probe(ssh: &Ssh, host: &Host) -> Result<(String, String, Option<String>), Failure> {
    let dir = host.dir_word();
    let state = quote(super::serve::STATE_DIR);
    let script = format!(
        "uname -sm && B={dir}/{state}/jobsplit-$(uname -m) && if [ -x \"$B\" ]; then \"$B\" remote-serve self-hash || echo none; else echo none; fi"
    );
    let text = String::from_utf8_lossy(&ssh.output(&host.dest, &script)?).into_owned();
    let mut lines = text.lines();
    let uname = lines.next().unwrap_or("").trim().to_owned();
    let hash = lines.next().map(str::trim).filter(|h| h.len() == 64);
    let mut words = uname.split_whitespace();
    let (system, arch) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    Ok((system.to_owned(), arch.to_owned(), hash.map(str::to_owned)))
}

/// Sends `binary` with plain `sh` and checks it runs and hashes to what was sent.
fn send_binary(ssh: &Ssh, host: &Host, arch: &str, binary: &Binary) -> Result<(), LaunchError> {
    let dir = host.dir_word();
    let state = quote(super::serve::STATE_DIR);
    let bin = host.bin_word(arch);
    let script = format!(
        "mkdir -p {dir}/{state} && T={dir}/{state}/.upload.$$ && cat > \"$T\" && chmod 755 \"$T\" && mv -f \"$T\" {bin} && {bin} remote-serve self-hash"
    );
    let out = ssh.run(&host.dest, &script, &binary.bytes, |r| {
        let mut s = String::new();
        r.read_to_string(&mut s)?;
        Ok(s)
    })?;
    if out.trim() != binary.sha256 {
        return Err(LaunchError::Refused(format!(
            "the binary sent does not verify there (SHA-256 {} after sending {}): launch again",
            crate::text::short(out.trim()),
            crate::text::short(&binary.sha256)
        )));
    }
    Ok(())
}

/// Sends the payload files the host lacks; returns how many and their bytes.
fn send_payload(
    ssh: &Ssh,
    host: &Host,
    arch: &str,
    payload: &Payload,
) -> Result<(usize, u64), LaunchError> {
    let (dir, bin) = (host.dir_word(), host.bin_word(arch));
    let mut inventory = Vec::new();
    for e in payload.entries() {
        let _ = wire::write_line(&mut inventory, &e);
    }
    let need: Vec<String> = ssh.run(
        &host.dest,
        &format!("{bin} remote-serve have {dir}"),
        &inventory,
        |r| {
            let mut text = String::new();
            r.read_to_string(&mut text)?;
            serde_json::from_str(text.trim()).map_err(std::io::Error::other)
        },
    )?;
    if need.is_empty() {
        return Ok((0, 0));
    }
    let mut stream = Vec::new();
    let mut bytes = 0;
    // Epochs files first: a host (a run following its list) never sees a grown list without
    // its epochs (docs/remote.md).
    let mut sent: Vec<_> = payload
        .files
        .iter()
        .filter(|f| need.contains(&f.rel))
        .collect();
    sent.sort_by_key(|f| !f.rel.ends_with(".epochs"));
    for f in sent {
        let data = std::fs::read(&f.path)
            .map_err(|e| LaunchError::Refused(format!("{}: {e}", f.path.display())))?;
        let frame = Frame {
            path: f.rel.clone(),
            op: Op::Whole,
            offset: 0,
            len: data.len() as u64,
            mtime: 0,
            exec: f.exec,
        };
        let _ = wire::write_line(&mut stream, &frame);
        stream.extend_from_slice(&data);
        let _ = wire::write_trailer(&mut stream, &wire::sha256_bytes(&data));
        bytes += data.len() as u64;
    }
    ssh.run(
        &host.dest,
        &format!("{bin} remote-serve receive {dir}"),
        &stream,
        |r| std::io::copy(r, &mut std::io::sink()),
    )?;
    Ok((need.len(), bytes))
}

/// Launches `host`: binary, payload, start.
///
/// # Errors
/// A host that cannot be reached, a step that fails there, or no binary for its architecture.
pub fn launch(ssh: &Ssh, host: &Host, plan: &LaunchPlan) -> Result<Launched, LaunchError> {
    let (system, arch, held) = probe(ssh, host)?;
    if system != "Linux" {
        return Err(LaunchError::Refused(format!(
            "the host runs {system} {arch}; jobsplit launch ships Linux binaries only"
        )));
    }
    let binary = super::binary::find(&arch, &plan.binaries)
        .map_err(|e| LaunchError::Refused(e.to_string()))?;
    let binary_sent = held.as_deref() != Some(binary.sha256.as_str());
    if binary_sent {
        send_binary(ssh, host, &arch, &binary)?;
    }
    let (files_sent, bytes_sent) = send_payload(ssh, host, &arch, &plan.payload)?;
    let mut words: Vec<String> = vec![
        "remote-serve".into(),
        "start".into(),
        host.dir.strip_prefix("~/").unwrap_or(&host.dir).to_owned(),
        plan.out.clone(),
        host.machine.clone(),
        plan.digest.clone(),
        plan.payload.digest.clone(),
        if plan.force { "1" } else { "0" }.into(),
        "run".into(),
        "--machine".into(),
        host.machine.clone(),
        "--yes".into(),
        "--expect-digest".into(),
        plan.digest.clone(),
    ];
    words.extend(plan.run_args.iter().cloned());
    let script = format!("{} {}", host.bin_word(&arch), join(&words));
    let started: Started = ssh.run(&host.dest, &script, &[], |r| {
        let mut text = String::new();
        r.read_to_string(&mut text)?;
        serde_json::from_str(text.trim()).map_err(std::io::Error::other)
    })?;
    Ok(Launched {
        arch,
        binary_sent,
        files_sent,
        bytes_sent,
        started,
    })
}
