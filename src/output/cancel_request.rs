//! Requests to cancel jobs, as files in the machine directory, so that `jobsplit cancel` works
//! from any host that sees the directory (a shared file system): no socket, no server.
//!
//! - A request is `OUT/<machine>/cancel/<id>.txt`: one job index per line (`#` lines and blank
//!   lines are ignored), put in place whole by a rename. `jobsplit cancel` names it
//!   `<unix time in ns>-<host>-<pid>`; any name ending `.txt` is read.
//! - A run reads new requests about every 200 ms and answers each with `<id>.taken`, one line
//!   per job: `<index> <answer>` ([`Answer`]).
//! - The requests stay until a run of the directory finishes its share (then it removes every
//!   request it read; the asker removes the answer it read, a run removes answers older than a
//!   minute): a run interrupted before it reached a cancelled job
//!   leaves the request for the next run, which honours it. `run --rerun` withdraws the jobs it
//!   reruns from the requests already there.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};

/// The subdirectory of a machine directory that holds the requests.
pub(crate) const CANCEL_DIR: &str = "cancel";

/// What a run did with one job of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// It was running: it is being stopped (SIGTERM, the grace period, SIGKILL) and will be
    /// recorded `cancelled`.
    Stopping,
    /// It had not started: it will not start, and is recorded `cancelled` when its turn comes.
    NotStarted,
    /// It is in this run's share but ended already (ok, or recorded earlier): nothing to stop.
    Ended,
    /// It is not in this run's share.
    NotInShare,
}

impl Answer {
    /// The word written in `<id>.taken`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Answer::Stopping => "stopping",
            Answer::NotStarted => "not-started",
            Answer::Ended => "ended",
            Answer::NotInShare => "not-in-share",
        }
    }

    fn parse(s: &str) -> Option<Answer> {
        [
            Answer::Stopping,
            Answer::NotStarted,
            Answer::Ended,
            Answer::NotInShare,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request: its id (the file name without `.txt`) and the jobs it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The file name without `.txt`.
    pub id: String,
    /// The job indices it names, in file order.
    pub jobs: Vec<u64>,
}

fn dir_of(machine_dir: &Path) -> PathBuf {
    machine_dir.join(CANCEL_DIR)
}

/// Writes a request naming `jobs` into `machine_dir` and returns its id.
///
/// # Errors
/// If `cancel/` is a link, or the directory cannot be created or written.
pub(crate) fn write_request(machine_dir: &Path, jobs: &[u64]) -> Result<String> {
    let dir = dir_of(machine_dir);
    crate::output::refuse_link(&dir)?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let ns = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let host: String = crate::sys::hostname()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let id = format!("{ns}-{host}-{}", std::process::id());
    let mut text = format!(
        "# jobsplit cancel request, {}\n",
        crate::output::rfc3339(SystemTime::now())
    );
    for j in jobs {
        text += &format!("{j}\n");
    }
    crate::output::write_atomic(&dir.join(format!("{id}.txt")), text.as_bytes())?;
    Ok(id)
}

/// The largest request read (about two million indices): a bigger file is passed over.
pub(crate) const MAX_REQUEST_BYTES: u64 = 16 << 20;

/// A file named like a request that is not read, and why (a warning names it once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PassedOver {
    /// The file.
    pub path: PathBuf,
    /// Why, as a phrase: "not a plain file", "larger than 16 MiB".
    pub why: String,
}

impl fmt::Display for PassedOver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: not read as a cancel request (remove it)",
            self.path.display(),
            self.why
        )
    }
}

/// What one look at the request directory found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The requests read, by id.
    pub requests: Vec<Request>,
    /// The files named like requests that were not read.
    pub passed_over: Vec<PassedOver>,
}

/// True when `machine_dir/cancel` is a directory itself, not a link to one (a run refuses a
/// link there; a request is never read, written or removed through one).
fn is_own_dir(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_dir())
}

/// Every request in `machine_dir`, by file name (unreadable files are passed over: a request
/// being written is renamed into place whole, so it is never read half).
pub(crate) fn read_requests(machine_dir: &Path) -> Vec<Request> {
    scan(machine_dir, &|_| false).requests
}

/// The requests in `machine_dir` whose id `known` does not know (those are not read again),
/// and the files passed over. Only plain files are read (never through a link, never a FIFO
/// or a device, which could block or never end), each up to [`MAX_REQUEST_BYTES`].
pub(crate) fn scan(machine_dir: &Path, known: &dyn Fn(&str) -> bool) -> Scan {
    let dir = dir_of(machine_dir);
    let mut scan = Scan::default();
    if !is_own_dir(&dir) {
        if std::fs::symlink_metadata(&dir).is_ok() {
            scan.passed_over.push(PassedOver {
                path: dir,
                why: "not a directory (a link, or a file)".into(),
            });
        }
        return scan;
    }
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return scan;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        let Some(id) = name.strip_suffix(".txt") else {
            continue;
        };
        if id.starts_with('.') || known(id) {
            continue;
        }
        // The entry's own type (a link is not followed): only a plain file is opened.
        if !e.file_type().is_ok_and(|t| t.is_file()) {
            scan.passed_over.push(PassedOver {
                path: e.path(),
                why: "not a plain file".into(),
            });
            continue;
        }
        match read_request(&e.path()) {
            Ok(Some(text)) => scan.requests.push(Request {
                id: id.to_owned(),
                jobs: parse_jobs(&text),
            }),
            Ok(None) => {}
            Err(why) => scan.passed_over.push(PassedOver {
                path: e.path(),
                why,
            }),
        }
    }
    scan.requests.sort_by(|a, b| a.id.cmp(&b.id));
    scan
}

/// The text of the request at `path`: `Ok(None)` when it is gone or unreadable (being
/// replaced), `Err(why)` when it is not a plain file or too large.
fn read_request(path: &Path) -> std::result::Result<Option<String>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let not_plain = || "not a plain file".to_owned();
    // O_NOFOLLOW: never through a link; O_NONBLOCK: opening a FIFO does not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(not_plain()),
        Err(_) => return Ok(None),
    };
    let meta = file.metadata().map_err(|_| not_plain())?;
    if !meta.file_type().is_file() {
        return Err(not_plain());
    }
    if meta.len() > MAX_REQUEST_BYTES {
        return Err(format!("larger than {} MiB", MAX_REQUEST_BYTES >> 20));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_REQUEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| not_plain())?;
    if bytes.len() as u64 > MAX_REQUEST_BYTES {
        return Err(format!("larger than {} MiB", MAX_REQUEST_BYTES >> 20));
    }
    Ok(String::from_utf8(bytes).ok())
}

/// The indices in a request's text (lines that are not a whole number are passed over).
fn parse_jobs(text: &str) -> Vec<u64> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// Writes the answer to request `id`.
///
/// # Errors
/// If the file cannot be written.
pub(crate) fn write_answer(machine_dir: &Path, id: &str, answers: &[(u64, Answer)]) -> Result<()> {
    crate::output::refuse_link(&dir_of(machine_dir))?;
    let mut text = String::new();
    for (j, a) in answers {
        text += &format!("{j} {a}\n");
    }
    crate::output::write_atomic(
        &dir_of(machine_dir).join(format!("{id}.taken")),
        text.as_bytes(),
    )
}

/// The answer to request `id`, once a run wrote one.
pub(crate) fn read_answer(machine_dir: &Path, id: &str) -> Option<Vec<(u64, Answer)>> {
    let text = std::fs::read_to_string(dir_of(machine_dir).join(format!("{id}.taken"))).ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                let (j, a) = l.split_once(' ')?;
                Some((j.parse().ok()?, Answer::parse(a)?))
            })
            .collect(),
    )
}

/// How long an answer is kept for its asker (which removes it once read).
const ANSWER_KEPT: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes requests `ids`, and their answers once their asker had time to read them (it
/// removes them itself), and the directory once empty.
pub(crate) fn remove_requests(machine_dir: &Path, ids: &[String]) {
    let dir = dir_of(machine_dir);
    if !is_own_dir(&dir) {
        return;
    }
    for id in ids {
        let _ = std::fs::remove_file(dir.join(format!("{id}.txt")));
        let answer = dir.join(format!("{id}.taken"));
        let old = std::fs::metadata(&answer)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ANSWER_KEPT);
        if old {
            let _ = std::fs::remove_file(answer);
        }
    }
    let _ = std::fs::remove_dir(&dir);
}

/// Removes the answer to request `id` once read (and the directory once empty).
pub(crate) fn remove_answer(machine_dir: &Path, id: &str) {
    let dir = dir_of(machine_dir);
    if !is_own_dir(&dir) {
        return;
    }
    let _ = std::fs::remove_file(dir.join(format!("{id}.taken")));
    let _ = std::fs::remove_dir(&dir);
}

/// Takes the jobs `withdrawn` says are to run again (`run --rerun`) out of the requests in
/// `machine_dir`: a request left naming none is removed, another is rewritten without them.
///
/// # Errors
/// If a request cannot be rewritten.
pub(crate) fn withdraw(machine_dir: &Path, withdrawn: &dyn Fn(u64) -> bool) -> Result<()> {
    let dir = dir_of(machine_dir);
    for r in read_requests(machine_dir) {
        if !r.jobs.iter().any(|&j| withdrawn(j)) {
            continue;
        }
        let kept: Vec<u64> = r.jobs.iter().copied().filter(|&j| !withdrawn(j)).collect();
        if kept.is_empty() {
            remove_requests(machine_dir, std::slice::from_ref(&r.id));
        } else {
            let mut text =
                String::from("# jobsplit cancel request (run --rerun withdrew some jobs)\n");
            for j in kept {
                text += &format!("{j}\n");
            }
            crate::output::write_atomic(&dir.join(format!("{}.txt", r.id)), text.as_bytes())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_are_withdrawn() {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path();
        assert!(read_requests(m).is_empty());
        let id = write_request(m, &[3, 17]).unwrap();
        std::fs::write(m.join("cancel/byhand.txt"), "# mine\n\n 5 \nx\n").unwrap();
        std::fs::write(m.join("cancel/.partial.txt"), "6\n").unwrap();
        let rs = read_requests(m);
        let ids: Vec<&str> = rs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, [id.as_str(), "byhand"]);
        assert_eq!(rs[0].jobs, [3, 17]);
        assert_eq!(rs[1].jobs, [5]);
        write_answer(m, &id, &[(3, Answer::Stopping), (17, Answer::NotInShare)]).unwrap();
        assert_eq!(
            read_answer(m, &id).unwrap(),
            [(3, Answer::Stopping), (17, Answer::NotInShare)]
        );
        withdraw(m, &|j| j == 5 || j == 3).unwrap();
        let rs = read_requests(m);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].jobs, [17]);
        remove_requests(m, std::slice::from_ref(&id));
        assert!(read_requests(m).is_empty());
        std::fs::remove_file(m.join("cancel/.partial.txt")).unwrap();
        remove_answer(m, &id);
        assert!(!m.join("cancel").exists());
    }
}
