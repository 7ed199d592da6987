//! `status --remote`, `log --remote JOB...` and `report --remote` (docs/remote.md): a launched
//! study read from here, before any collect. `status` and `report` bring only the small files
//! they read of each host's `OUT/<machine>/` into OUT here (as `collect` brings them: verified,
//! new bytes only), then read OUT here as always; `log` reads each host's log.gz there and
//! brings back only the lines asked for. A host that cannot be reached is named in one line and
//! the others are shown (exit 5).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::{InputArgs, RemoteArgs, RemoteView};
use super::exit;
use super::log_format::JobLine;
use super::remote_study::{each_host, resolve, who, RemoteStudy};
use super::term::errln;
use crate::remote::quote::{join, quote};
use crate::remote::Host;

/// What `status` reads of a machine directory.
pub(crate) const STATUS_FILES: &[&str] = &["manifest.json", "status.json"];
/// What `report` reads of a machine directory (log.gz, for the last lines of failures, comes
/// with `collect`).
pub(crate) const REPORT_FILES: &[&str] = &["manifest.json", "status.json", "results.csv"];

/// The launched study and the hosts that `dirs` name: OUT here names every selected host,
/// `OUT/<machine>` that machine's.
fn hosts_named(view: &RemoteView, input: &InputArgs, dirs: &[PathBuf]) -> Result<RemoteStudy> {
    let mut r = resolve(&RemoteArgs {
        input: input.clone(),
        at: view.at.clone(),
    })?;
    let out = place(&r.local_out);
    if dirs.is_empty() {
        return Ok(r);
    }
    let mut wanted: Vec<String> = Vec::new();
    for d in dirs {
        let d = place(d);
        if d == out {
            return Ok(r);
        }
        match (d.parent(), d.file_name()) {
            (Some(p), Some(m)) if p == out => wanted.push(m.to_string_lossy().into_owned()),
            _ => {
                return Err(crate::Error::usage(format!(
                    "--remote: {} is not the launched study's OUT here ({}) or a machine's directory in it",
                    d.display(),
                    r.local_out.display()
                ))
                .into())
            }
        }
    }
    if let Some(m) = wanted
        .iter()
        .find(|m| !r.hosts.iter().any(|h| &&h.machine == m))
    {
        return Err(crate::Error::usage(format!(
            "--remote: no selected machine {} in the study",
            crate::text::escape(m)
        ))
        .into());
    }
    r.hosts.retain(|h| wanted.contains(&h.machine));
    Ok(r)
}

/// `path` made absolute, through its real place when it exists.
fn place(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Brings the files `names` of every named host's `OUT/<machine>/` into OUT here. Returns OUT
/// here and the exit code so far: 5 when a host could not be reached (named in one line).
pub(crate) fn fetch(
    view: &RemoteView,
    input: &InputArgs,
    dirs: &[PathBuf],
    names: &[&str],
) -> Result<(PathBuf, u8)> {
    let r = hosts_named(view, input, dirs)?;
    let results = each_host(&r.hosts, |h| {
        let local = r.local_out.join(&h.machine);
        crate::remote::collect::collect_only(&r.ssh, h, &r.out_rel, &local, names)
    });
    let mut code = exit::OK;
    for (h, result) in r.hosts.iter().zip(results) {
        match result {
            Ok(c) => {
                for p in &c.refused {
                    errln!("{}: refused here: {}", who(h), crate::text::escape(p));
                    code = exit::SOME_HOSTS_FAILED;
                }
            }
            Err(e) => {
                errln!(
                    "{}: {} (shown as last seen here)",
                    who(h),
                    crate::text::escape(&e.to_string())
                );
                code = exit::SOME_HOSTS_FAILED;
            }
        }
    }
    Ok((r.local_out.clone(), code))
}

/// The lines of `log --json` run on every named host (its `OUT/<machine>`, with `flags`),
/// in time order; a host that cannot be reached or fails is named in one line.
pub(crate) fn log_lines(
    view: &RemoteView,
    input: &InputArgs,
    dir: &Path,
    flags: &[String],
) -> Result<(Vec<JobLine>, u8)> {
    let r = hosts_named(view, input, &[dir.to_path_buf()])?;
    let results = each_host(&r.hosts, |h| host_log(&r, h, flags));
    let mut lines = Vec::new();
    let mut code = exit::OK;
    for (h, result) in r.hosts.iter().zip(results) {
        match result {
            Ok(mut l) => lines.append(&mut l),
            Err(why) => {
                errln!("{}: {}", who(h), crate::text::escape(&why));
                code = exit::SOME_HOSTS_FAILED;
            }
        }
    }
    // Fixed-width times: byte order is time order; a job's own lines keep their order.
    lines.sort_by(|a, b| a.time.cmp(&b.time));
    Ok((lines, code))
}

fn host_log(r: &RemoteStudy, h: &Host, flags: &[String]) -> Result<Vec<JobLine>, String> {
    let mdir = Path::new(&r.out_rel).join(&h.machine);
    let mut words = vec!["log".to_owned(), "--json".to_owned()];
    words.push(mdir.to_string_lossy().into_owned());
    words.extend(flags.iter().cloned());
    let script = format!(
        "cd {} && B={}/jobsplit-$(uname -m) && if [ -f {} ]; then exec \"$B\" {}; fi",
        h.dir_word(),
        quote(crate::remote::state_dir::STATE_DIR),
        quote(
            &mdir
                .join(crate::output::manifest::Manifest::FILE)
                .to_string_lossy()
        ),
        join(&words)
    );
    let text = r.ssh.output(&h.dest, &script).map_err(|e| e.to_string())?;
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).map_err(|e| format!("a bad answer: {e}")))
        .collect()
}
