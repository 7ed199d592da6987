//! Declaring a machine dead in a `--steal-remote` study (`launch --rescue MERGED --dead M`,
//! docs/remote.md): the fence `fenced/M` in the original plan's stealing layout, recorded here
//! in OUT and written on every host's disk, before the rescue starts and at every later contact
//! (launch, watch, collect). A host's disk that holds it claims no block for or from M, and M's
//! own run, which reads it before each block, starts no other block.

use anyhow::Result;

use super::args::RemoteArgs;
use super::remote_study::{each_host, resolve_original, who, RemoteStudy};
use super::term::{errln, outln};
use crate::output::fence;
use crate::output::layout;
use crate::remote::quote::{join, quote};
use crate::remote::{Host, Ssh};

/// The fences of one stealing study: where they are recorded here and written on the hosts.
pub(super) struct Fencing {
    /// The original plan's layout directory (of its first epoch), relative to OUT
    /// (`.jobsplit/steal-<16 hex>`).
    layout: String,
    /// That directory here (in the local OUT).
    local: std::path::PathBuf,
    /// OUT of the original plan, relative to the study directory on every host.
    out_rel: String,
    /// Every machine of the original plan with a recorded fence or named `--dead`, and where.
    dead_hosts: Vec<Host>,
    /// The machines fenced (recorded here, and those named `--dead` once declared).
    names: Vec<String>,
}

impl Fencing {
    /// The fencing of the study `r` (resolved from `args`): `None` when nothing is fenced and
    /// nothing is to be (a static study, or one that never stole remotely, with no `--dead`).
    ///
    /// # Errors
    /// The original study of a rescue cannot be resolved.
    pub(super) fn of(args: &RemoteArgs, r: &RemoteStudy) -> Result<Option<Fencing>> {
        // A rescue acts on its own plan: the fences are in the plan it rescues.
        let original;
        let o = match &args.at.rescue {
            Some(_) => {
                original = resolve_original(args)?;
                &original
            }
            None => r,
        };
        // The fences of every epoch of a study that grew are in its first epoch's layout.
        let rel = layout::relative_dirs(&o.study.plan)[0]
            .to_string_lossy()
            .into_owned();
        let local = o.local_out.join(&rel);
        let mut names = fence::fences(&local);
        let steals = crate::output::claim::read_claim_like::<layout::LayoutFile>(
            &local.join(layout::LayoutFile::FILE),
        )
        .is_some_and(|l| l.mode == layout::MODE_REMOTE);
        if steals {
            names.extend(args.at.dead.iter().cloned());
        }
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(None);
        }
        let dead_hosts = o
            .hosts
            .iter()
            .filter(|h| names.contains(&h.machine))
            .cloned()
            .collect();
        Ok(Some(Fencing {
            layout: rel,
            local,
            out_rel: o.out_rel.clone(),
            dead_hosts,
            names,
        }))
    }

    /// Whether machine `m` is fenced.
    pub(super) fn fenced(&self, m: &str) -> bool {
        self.names.iter().any(|n| n == m)
    }

    /// Records the fences here, then writes them on every host of `hosts` and on the fenced
    /// machines' own hosts (each at once), a line per host. A host not reached learns them at
    /// its next contact.
    ///
    /// # Errors
    /// The record here cannot be written (nothing is sent then).
    pub(super) fn declare(&self, ssh: &Ssh, hosts: &[Host]) -> Result<()> {
        for n in &self.names {
            fence::fence(&self.local, n)?;
        }
        let mut all: Vec<Host> = hosts.to_vec();
        for d in &self.dead_hosts {
            if !all.iter().any(|h| h.machine == d.machine) {
                all.push(d.clone());
            }
        }
        let names = self
            .names
            .iter()
            .map(|n| crate::text::escape(n).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        for (h, result) in all.iter().zip(each_host(&all, |h| self.write_on(ssh, h))) {
            match result {
                Ok(()) => outln!("{}: fenced {names} (declared dead)", who(h)),
                Err(e) => errln!(
                    "{}: not fenced there yet ({}): every later launch, watch and collect writes the fence first",
                    who(h),
                    crate::text::escape(&e)
                ),
            }
        }
        Ok(())
    }

    /// Writes the fences on `h`'s disk (`remote-serve steal-fence`).
    pub(super) fn write_on(&self, ssh: &Ssh, h: &Host) -> Result<(), String> {
        let mut words = vec![
            "remote-serve".to_owned(),
            "steal-fence".to_owned(),
            h.dir.strip_prefix("~/").unwrap_or(&h.dir).to_owned(),
            self.out_rel.clone(),
            self.layout.clone(),
        ];
        words.extend(self.names.iter().cloned());
        // A host that never got the binary holds no run of this study: nothing to fence.
        let script = format!(
            "B={dir}/{state}/jobsplit-$(uname -m); [ -x \"$B\" ] || exit 0; exec \"$B\" {words}",
            dir = h.dir_word(),
            state = quote(crate::remote::state_dir::STATE_DIR),
            words = join(&words)
        );
        ssh.output(&h.dest, &script)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
