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
pub(crate) const ROOT: &str = ".jobsplit";

/// The layout file's format name.
pub(crate) const FORMAT: &str = "jobsplit-balance-v1";

/// `OUT/.jobsplit/steal-<plan16>/layout.json`: how one plan is balanced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LayoutFile {
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
    /// Jobs the plan leaves out (non-zero for a rescue plan; of epochs 0 to `epoch`).
    pub excluded: u64,
    /// The epoch of a job list that grew this layout balances (docs/split-v1.md section 7);
    /// absent for epoch 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The plan digests D_0 .. D_(e-1) of the epochs before it, in order (absent for epoch 0):
    /// with `plan_digest` the chain of the plan of epochs 0 to e.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<String>,
    /// Who wrote it first.
    pub created_by: ClaimRecord,
}

impl LayoutFile {
    /// The file name.
    pub(crate) const FILE: &'static str = "layout.json";
}

/// The layout directory of each epoch of `plan`, relative to `out`: every epoch is balanced
/// under its own plan digest D_e (one directory for a plan that never grew).
pub(crate) fn relative_dirs(plan: &Plan) -> Vec<PathBuf> {
    plan.epochs()
        .iter()
        .map(|e| dir_of(&e.plan_digest.hex()))
        .collect()
}

/// The layout directory of the plan (or epoch) of digest `plan_hex`, relative to `out`.
pub(crate) fn dir_of(plan_hex: &str) -> PathBuf {
    Path::new(ROOT).join(format!("steal-{}", &plan_hex[..16.min(plan_hex.len())]))
}

/// The layout directory of the first epoch of the study whose layout is in `dir` (`dir`
/// itself for epoch 0, or when its layout does not read): where a `--steal-remote` study keeps
/// what holds for every epoch, its fences and the launcher's lease.
pub(crate) fn first_dir(dir: &Path) -> PathBuf {
    let layout = super::claim::read_claim_like::<LayoutFile>(&dir.join(LayoutFile::FILE));
    let out = dir.parent().and_then(Path::parent);
    match (layout.as_ref().and_then(|l| l.earlier.first()), out) {
        (Some(d0), Some(out)) => out.join(dir_of(d0)),
        _ => dir.to_path_buf(),
    }
}

/// The plan digests D_0 .. D_last of `plan`'s epochs.
fn chain(plan: &Plan) -> Vec<String> {
    plan.epochs().iter().map(|e| e.plan_digest.hex()).collect()
}

/// How a recorded layout stands to a plan.
#[derive(Debug, PartialEq, Eq)]
enum Kin {
    /// It balances epoch e of the plan.
    Epoch(usize),
    /// It balances a later epoch of the plan's study (a host that saw the list grow further).
    Later,
    /// Another plan.
    Other,
}

fn kin(layout: &LayoutFile, chain: &[String]) -> Kin {
    let e = layout.earlier.len();
    if e < chain.len() && layout.earlier[..] == chain[..e] && layout.plan_digest == chain[e] {
        Kin::Epoch(e)
    } else if e >= chain.len() && layout.earlier[..chain.len()] == chain[..] {
        Kin::Later
    } else {
        Kin::Other
    }
}

/// The block size each epoch's layout in `out` records (`None` where there is none yet, or
/// it cannot be read: [`check_mode`] says why), epoch 0 first.
pub(crate) fn recorded_blocks(out: &Path, plan: &Plan) -> Vec<Option<u64>> {
    relative_dirs(plan)
        .iter()
        .map(|d| {
            let bytes = std::fs::read(out.join(d).join(LayoutFile::FILE)).ok()?;
            serde_json::from_slice::<LayoutFile>(&bytes)
                .ok()
                .map(|l| l.block)
        })
        .collect()
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
            Error::damaged(
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

/// Checks, reading only, that a static run of `plan` may share `out` with what is there.
///
/// # Errors
/// A stealing layout of the same work, or of an epoch of its study, is there.
pub(crate) fn check(out: &Path, plan: &Plan) -> Result<()> {
    check_mode(out, plan, None, MODE)
}

/// The layout mode of `--steal` on a shared `OUT`.
pub(crate) const MODE: &str = "steal";

/// The layout mode of `--steal-remote`: no shared `OUT`, each block claimed on its owner's disk.
pub(crate) const MODE_REMOTE: &str = "steal-remote";

/// Checks, reading only, that a run of `plan` balanced with `steal` (the block size of each
/// epoch, or `None` for a static run) in `mode` ([`MODE`] or [`MODE_REMOTE`]) may share `out`
/// with what is there.
///
/// # Errors
/// A static run where a stealing layout of the same work (or of an epoch of its study) is; a
/// stealing run with another block size or mode than an epoch's layout, a stale plan beside
/// another plan's stealing layout, or beside a static run of its study.
pub(crate) fn check_mode(out: &Path, plan: &Plan, steal: Option<&[u64]>, mode: &str) -> Result<()> {
    let chain = chain(plan);
    let works: Vec<String> = plan.epochs().iter().map(|e| e.work_digest.hex()).collect();
    let mine: Vec<PathBuf> = relative_dirs(plan).iter().map(|d| out.join(d)).collect();
    for (dir, layout) in layouts(out)? {
        let file = dir.join(LayoutFile::FILE);
        let kin = kin(&layout, &chain);
        let Some(blocks) = steal else {
            if kin != Kin::Other || works.contains(&layout.work_digest) {
                return Err(Error::mismatch(
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
        if let Some(e) = mine.iter().position(|d| *d == dir) {
            if kin != Kin::Epoch(e) || layout.mode != mode {
                return Err(Error::mismatch(
                    Some(&file),
                    None,
                    format!(
                        "records plan {} in mode {}, but this run is plan {} in mode {mode}: pass the same balance flags (--steal or --steal-remote) to every host, or use another --out",
                        crate::text::short(&layout.plan_digest),
                        layout.mode,
                        crate::text::short(&chain[e])
                    ),
                ));
            }
            if layout.block != blocks[e] {
                let epoch = if chain.len() > 1 {
                    format!(" in epoch {e}")
                } else {
                    String::new()
                };
                return Err(Error::mismatch(
                    Some(&file),
                    None,
                    format!(
                        "the hosts of this study steal blocks of {} jobs{epoch}, but this run says {}: pass --steal-block {} (or leave [run] steal_block out on every host)",
                        layout.block, blocks[e], layout.block
                    ),
                ));
            }
        } else if kin == Kin::Later {
            // A host that saw the job list grow further: its later epochs are not ours yet.
        } else if works.contains(&layout.work_digest)
            || (layout.excluded == 0 && plan.excluded() == 0)
        {
            // Two plans of one work stealing in one OUT (a stale job list or machines file, or
            // two rescue plans) would each claim the same jobs under their own claims.
            return Err(Error::mismatch(
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
        refuse_static_siblings(out, &chain[0])?;
    }
    Ok(())
}

/// Refuses a stealing run where a static run of its study (the same plan of epoch 0: this
/// plan, or an earlier or later epoch of it) wrote a machine directory.
fn refuse_static_siblings(out: &Path, first_hex: &str) -> Result<()> {
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
        let first = m.epochs.first().map_or(&m.plan_digest, |e| &e.plan_digest);
        if first == first_hex && m.balance.is_none() {
            return Err(Error::mismatch(
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

/// Records the layout of each epoch of `plan` under `out` that no host has yet (exclusively:
/// linked into place), epoch 0 first, with `blocks[e]` jobs per block, then reads them back
/// and compares, so two hosts starting at once agree or one is refused.
///
/// # Errors
/// A layout recorded first differs, or the directory cannot be written.
pub(crate) fn agree(
    out: &Path,
    plan: &Plan,
    blocks: &[u64],
    me: &ClaimRecord,
    mode: &str,
) -> Result<Vec<PathBuf>> {
    let chain = chain(plan);
    let mut dirs = Vec::new();
    let mut excluded = 0;
    for (e, (epoch, rel)) in plan.epochs().iter().zip(relative_dirs(plan)).enumerate() {
        excluded += epoch.excluded;
        let dir = out.join(rel);
        std::fs::create_dir_all(dir.join("claims")).map_err(|e| Error::io(&dir, e))?;
        let file = dir.join(LayoutFile::FILE);
        if !file.exists() {
            let layout = LayoutFile {
                format: FORMAT.to_owned(),
                mode: mode.to_owned(),
                block: blocks[e],
                plan_digest: chain[e].clone(),
                work_digest: epoch.work_digest.hex(),
                excluded,
                epoch: (e > 0).then_some(e as u64),
                earlier: chain[..e].to_vec(),
                created_by: me.clone(),
            };
            let mut bytes = serde_json::to_vec_pretty(&layout).expect("serializing plain data");
            bytes.push(b'\n');
            link_new(&file, &bytes, &me.run)?;
        }
        dirs.push(dir);
    }
    check_mode(out, plan, Some(blocks), mode)?;
    Ok(dirs)
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
