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
pub(crate) struct Host {
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
            super::state_dir::STATE_DIR
        ))
    }
}

/// What to start on every host.
#[derive(Debug, Clone)]
pub(crate) struct LaunchPlan {
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
    /// The hosts' address book written as `.jobsplit-remote/peers.json` before the run
    /// starts (a `--steal-remote` study; [`super::peers`]).
    pub peers: Option<String>,
}

/// What launching one host did.
#[derive(Debug, Clone)]
pub(crate) struct Launched {
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
pub(crate) enum LaunchError {
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

/// What one probe of a host learned.
struct Probed {
    system: String,
    arch: String,
    /// The SHA-256 of the binary it holds for its architecture (`None`: none that runs).
    held: Option<String>,
    /// The payload files it lacks or holds otherwise, as that binary answered (`None`: no
    /// binary to ask).
    need: Option<Vec<String>>,
}

/// Probes the host in one round trip: its `uname -sm`, the SHA-256 of the binary it holds for
/// its architecture and, asked of that binary, which files of `inventory` it lacks.
fn probe(ssh: &Ssh, host: &Host, inventory: &[u8]) -> Result<Probed, Failure> {
    let dir = host.dir_word();
    let state = quote(super::state_dir::STATE_DIR);
    let script = format!(
        "uname -sm && B={dir}/{state}/jobsplit-$(uname -m) && if [ -x \"$B\" ] && H=$(\"$B\" remote-serve self-hash); then echo \"$H\" && exec \"$B\" remote-serve have {dir}; else echo none; fi"
    );
    let text = String::from_utf8_lossy(&ssh.run(&host.dest, &script, inventory, |r| {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        Ok(v)
    })?)
    .into_owned();
    let mut lines = text.lines();
    let uname = lines.next().unwrap_or("").trim().to_owned();
    let held = lines
        .next()
        .map(str::trim)
        .filter(|h| h.len() == 64)
        .map(str::to_owned);
    let need = held
        .as_ref()
        .and_then(|_| serde_json::from_str(lines.next()?.trim()).ok());
    let mut words = uname.split_whitespace();
    let (system, arch) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    Ok(Probed {
        system: system.to_owned(),
        arch: arch.to_owned(),
        held,
        need,
    })
}

/// Sends `binary` with plain `sh` and checks it runs and hashes to what was sent.
fn send_binary(ssh: &Ssh, host: &Host, arch: &str, binary: &Binary) -> Result<(), LaunchError> {
    let dir = host.dir_word();
    let state = quote(super::state_dir::STATE_DIR);
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

/// The inventory of the payload, as `remote-serve have` reads it.
fn inventory(payload: &Payload) -> Vec<u8> {
    let mut inventory = Vec::new();
    for e in payload.entries() {
        let _ = wire::write_line(&mut inventory, &e);
    }
    inventory
}

/// Asks the host which payload files it lacks (after a binary was sent).
fn need(ssh: &Ssh, host: &Host, arch: &str, payload: &Payload) -> Result<Vec<String>, Failure> {
    let (dir, bin) = (host.dir_word(), host.bin_word(arch));
    ssh.run(
        &host.dest,
        &format!("{bin} remote-serve have {dir}"),
        &inventory(payload),
        |r| {
            let mut text = String::new();
            r.read_to_string(&mut text)?;
            serde_json::from_str(text.trim()).map_err(std::io::Error::other)
        },
    )
}

/// The frames of the payload files `need` names, epochs files first: a host (a run following
/// its list) never sees a grown list without its epochs (docs/remote.md). Returns them, how
/// many and their bytes.
fn frames(payload: &Payload, need: &[String]) -> Result<(Vec<u8>, usize, u64), LaunchError> {
    let mut stream = Vec::new();
    let mut bytes = 0;
    let mut sent: Vec<_> = payload
        .files
        .iter()
        .filter(|f| need.contains(&f.rel))
        .collect();
    sent.sort_by_key(|f| !f.rel.ends_with(".epochs"));
    for f in &sent {
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
    Ok((stream, sent.len(), bytes))
}

/// Launches `host` in as few round trips as it needs: one probe (which also asks the binary
/// held there which payload files it lacks), the binary only when it has another, then the
/// files it lacks and the start in one command. An unchanged study is two round trips.
///
/// # Errors
/// A host that cannot be reached, a step that fails there, or no binary for its architecture.
pub(crate) fn launch(ssh: &Ssh, host: &Host, plan: &LaunchPlan) -> Result<Launched, LaunchError> {
    let probed = probe(ssh, host, &inventory(&plan.payload))?;
    let arch = probed.arch;
    if probed.system != "Linux" {
        return Err(LaunchError::Refused(format!(
            "the host runs {} {arch}; jobsplit launch ships Linux binaries only",
            probed.system
        )));
    }
    let binary = super::binary::find(&arch, &plan.binaries)
        .map_err(|e| LaunchError::Refused(e.to_string()))?;
    let binary_sent = probed.held.as_deref() != Some(binary.sha256.as_str());
    let need = match probed.need {
        // The binary that answered is the one kept: its answer stands.
        Some(need) if !binary_sent => need,
        _ => {
            if binary_sent {
                send_binary(ssh, host, &arch, &binary)?;
            }
            need(ssh, host, &arch, &plan.payload)?
        }
    };
    let (stream, files_sent, bytes_sent) = frames(&plan.payload, &need)?;
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
    let bin = host.bin_word(&arch);
    let mut start = format!("{bin} {}", join(&words));
    if let Some(text) = &plan.peers {
        let dir = host.dir.strip_prefix("~/").unwrap_or(&host.dir);
        let file = format!(
            "{}/{}/{}",
            if dir.is_empty() { "." } else { dir },
            super::state_dir::STATE_DIR,
            super::state_dir::PEERS_FILE
        );
        start = format!(
            "printf '%s' {} > {} && mv -f {} {} && {start}",
            quote(text),
            quote(&format!("{file}.tmp")),
            quote(&format!("{file}.tmp")),
            quote(&file)
        );
    }
    // The files first (`receive` answers their count on a line), then the start.
    let script = if files_sent == 0 {
        start
    } else {
        format!("{bin} remote-serve receive {} && {start}", host.dir_word())
    };
    let started: Started = ssh.run(&host.dest, &script, &stream, |r| {
        let mut text = String::new();
        r.read_to_string(&mut text)?;
        let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        serde_json::from_str(last.trim()).map_err(std::io::Error::other)
    })?;
    Ok(Launched {
        arch,
        binary_sent,
        files_sent,
        bytes_sent,
        started,
    })
}
