//! Agreement on how a study is balanced: the first stealing host records the layout (mode,
//! block size, plan digest) exclusively under `OUT/.jobsplit/`; every later host compares
//! before it writes anything. A static run refuses an output directory where a stealing
//! layout of its work exists, a stealing run refuses one where a static run of its plan wrote.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::claim::ClaimRecord;
use crate::error::{Error, Result};
use crate::output::manifest::Manifest;
use crate::plan::Plan;

/// The directory under `OUT` that holds every layout of a stealing study.
pub const ROOT: &str = ".jobsplit";

/// The layout file's format name.
pub const FORMAT: &str = "jobsplit-balance-v1";

/// `OUT/.jobsplit/steal-<plan16>/layout.json`: how one plan is balanced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutFile {
    /// [`FORMAT`].
    pub format: String,
    /// `steal`.
    pub mode: String,
    /// Jobs per block.
    pub block: u64,
    /// The plan's digest (64 hex digits).
    pub plan_digest: String,
    /// The work's digest (64 hex digits).
    pub work_digest: String,
    /// Jobs the plan leaves out (non-zero for a rescue plan).
    pub excluded: u64,
    /// Who wrote it first.
    pub created_by: ClaimRecord,
}

impl LayoutFile {
    /// The file name.
    pub const FILE: &'static str = "layout.json";
}

/// The directory of `plan`'s layout under `out`, relative to `out`.
pub fn relative_dir(plan: &Plan) -> PathBuf {
    Path::new(ROOT).join(format!("steal-{}", &plan.plan_digest().hex()[..16]))
}

/// Every layout recorded under `out`, with its directory.
fn layouts(out: &Path) -> Result<Vec<(PathBuf, LayoutFile)>> {
    let root = out.join(ROOT);
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for e in entries.flatten() {
        let dir = e.path();
        let file = dir.join(LayoutFile::FILE);
        if !file.is_file() {
            continue;
        }
        let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
        let layout: LayoutFile = serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(
                Some(&file),
                Some(e.line() as u64),
                format!("not a jobsplit layout ({e}): it is written by `jobsplit run --steal`; restore it"),
            )
        })?;
        found.push((dir, layout));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Checks, reading only, that a run of `plan` balanced with `steal` (the block size, or `None`
/// for a static run) may share `out` with what is there.
///
/// # Errors
/// A static run where a stealing layout of the same work is; a stealing run with another block
/// size, a stale plan beside another plan's stealing layout, or beside a static run of its plan.
pub fn check(out: &Path, plan: &Plan, steal: Option<u64>) -> Result<()> {
    check_mode(out, plan, steal, MODE)
}

/// The layout mode of `--steal` on a shared `OUT`.
pub const MODE: &str = "steal";

/// The layout mode of `--steal-remote`: no shared `OUT`, each block claimed on its owner's disk.
pub const MODE_REMOTE: &str = "steal-remote";

/// [`check`] for a stealing run in `mode` ([`MODE`] or [`MODE_REMOTE`]).
///
/// # Errors
/// As [`check`], and a layout recorded in the other stealing mode.
pub fn check_mode(out: &Path, plan: &Plan, steal: Option<u64>, mode: &str) -> Result<()> {
    let mine = out.join(relative_dir(plan));
    let work = plan.work_digest().hex();
    let plan_hex = plan.plan_digest().hex();
    for (dir, layout) in layouts(out)? {
        let file = dir.join(LayoutFile::FILE);
        let Some(block) = steal else {
            if layout.work_digest == work {
                return Err(Error::invalid(
                    Some(&file),
                    None,
                    format!(
                        "this study is balanced by stealing (blocks of {}, plan {}): a static run must not share it; pass --steal (or [run] balance = \"steal\")",
                        layout.block,
                        crate::text::short(&layout.plan_digest)
                    ),
                ));
            }
            continue;
        };
        if dir == mine {
            if layout.plan_digest != plan_hex || layout.mode != mode {
                return Err(Error::invalid(
                    Some(&file),
                    None,
                    format!(
                        "records plan {} in mode {}, but this run is plan {} in mode {mode}: pass the same balance flags (--steal or --steal-remote) to every host, or use another --out",
                        crate::text::short(&layout.plan_digest),
                        layout.mode,
                        plan.plan_digest().short()
                    ),
                ));
            }
            if layout.block != block {
                return Err(Error::invalid(
                    Some(&file),
                    None,
                    format!(
                        "the hosts of this study steal blocks of {} jobs, but this run says {block}: pass --steal-block {} (or leave [run] steal_block out on every host)",
                        layout.block, layout.block
                    ),
                ));
            }
        } else if layout.work_digest == work || (layout.excluded == 0 && plan.excluded() == 0) {
            // Two plans of one work stealing in one OUT (a stale job list or machines file, or
            // two rescue plans) would each claim the same jobs under their own claims.
            return Err(Error::invalid(
                Some(&file),
                None,
                format!(
                    "holds a stealing study of plan {}, but this plan is {}: the hosts' inputs differ (job list, config, machines or seed); give every host the same inputs, or use another --out",
                    crate::text::short(&layout.plan_digest),
                    plan.plan_digest().short()
                ),
            ));
        }
    }
    if steal.is_some() {
        refuse_static_siblings(out, &plan_hex)?;
    }
    Ok(())
}

/// Refuses a stealing run where a static run of the same plan wrote a machine directory.
fn refuse_static_siblings(out: &Path, plan_hex: &str) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let dir = e.path();
        if !dir.join(Manifest::FILE).is_file() {
            continue;
        }
        let Ok(m) = Manifest::read(&dir) else {
            continue;
        };
        if m.plan_digest == plan_hex && m.balance.is_none() {
            return Err(Error::invalid(
                Some(&dir.join(Manifest::FILE)),
                None,
                format!(
                    "machine `{}` ran this plan with the static split: a stealing run must not share its study; run without --steal, or use another --out",
                    m.machine
                ),
            ));
        }
    }
    Ok(())
}

/// Records `plan`'s layout under `out` if no host has yet (exclusively: linked into place),
/// then reads it back and compares, so two hosts starting at once agree or one is refused.
///
/// # Errors
/// The layout recorded first differs, or the directory cannot be written.
pub fn agree(out: &Path, plan: &Plan, block: u64, me: &ClaimRecord, mode: &str) -> Result<PathBuf> {
    let dir = out.join(relative_dir(plan));
    std::fs::create_dir_all(dir.join("claims")).map_err(|e| Error::io(&dir, e))?;
    let file = dir.join(LayoutFile::FILE);
    if !file.exists() {
        let layout = LayoutFile {
            format: FORMAT.to_owned(),
            mode: mode.to_owned(),
            block,
            plan_digest: plan.plan_digest().hex(),
            work_digest: plan.work_digest().hex(),
            excluded: plan.excluded(),
            created_by: me.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&layout).expect("serializing plain data");
        bytes.push(b'\n');
        link_new(&file, &bytes, &me.run)?;
    }
    check_mode(out, plan, Some(block), mode)?;
    Ok(dir)
}

/// Creates `path` holding `bytes` if it does not exist (linked from a temporary file; or
/// `O_EXCL` where links are refused). Whether this call or another created it is not said:
/// the caller reads it back.
///
/// # Errors
/// Neither way could create it and it does not exist.
pub(crate) fn link_new(path: &Path, bytes: &[u8], run: &str) -> Result<()> {
    use std::io::Write as _;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{run}.tmp"));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    if linked.is_ok() || path.exists() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut f) => f
            .write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(path, e)),
        Err(_) if path.exists() => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}
