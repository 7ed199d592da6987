//! The environment of the processes a run starts, built once: this process's own with the run's
//! variables set, as `NAME=VALUE` C strings; each process adds its few own on top.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::sys::env_entry;

/// An environment built once.
pub(crate) struct Environ {
    /// Each entry with the length of its name.
    entries: Vec<(usize, CString)>,
    /// The indices of the entries named `JOBSPLIT_*`: the only ones a process's own variables
    /// may replace, so the only ones compared (the build is on every job's path).
    ours: Vec<usize>,
}

impl Environ {
    /// This process's environment with `set` set (replacing variables of the same names).
    pub(crate) fn inherit(set: &[(String, OsString)]) -> Environ {
        let mut entries: Vec<(usize, CString)> = std::env::vars_os()
            .filter(|(name, _)| !set.iter().any(|(n, _)| OsStr::new(n) == name))
            .map(|(name, value)| (name.len(), env_entry(name.as_bytes(), value.as_bytes())))
            .collect();
        entries.extend(
            set.iter()
                .map(|(name, value)| (name.len(), env_entry(name.as_bytes(), value.as_bytes()))),
        );
        let ours = (0..entries.len())
            .filter(|&i| entries[i].1.as_bytes().starts_with(PREFIX.as_bytes()))
            .collect();
        Environ { entries, ours }
    }

    /// The entries with `vars` (from [`var`], each named `JOBSPLIT_*`) on top, replacing those
    /// of the same names.
    pub(crate) fn with<'s>(&'s self, vars: &'s [(usize, CString)]) -> Vec<&'s CStr> {
        fn name((len, entry): &(usize, CString)) -> &[u8] {
            &entry.as_bytes()[..*len]
        }
        debug_assert!(vars.iter().all(|v| name(v).starts_with(PREFIX.as_bytes())));
        let replaced = |i: &usize| vars.iter().any(|v| name(v) == name(&self.entries[*i]));
        let mut envp: Vec<&CStr> = Vec::with_capacity(self.entries.len() + vars.len());
        envp.extend(self.entries.iter().map(|(_, e)| e.as_c_str()));
        // Taken out from the back, so the indices before stay right.
        for &i in self.ours.iter().rev().filter(|i| replaced(i)) {
            envp.remove(i);
        }
        envp.extend(vars.iter().map(|(_, entry)| entry.as_c_str()));
        envp
    }
}

/// The prefix of every variable jobsplit sets.
const PREFIX: &str = "JOBSPLIT_";

/// One variable for [`Environ::with`].
pub(crate) fn var(name: &str, value: impl AsRef<OsStr>) -> (usize, CString) {
    (
        name.len(),
        env_entry(name.as_bytes(), value.as_ref().as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_on_top_replace_those_below() {
        let env = Environ::inherit(&[
            ("JOBSPLIT_T_A".to_owned(), "1".into()),
            ("JOBSPLIT_T_B".to_owned(), "2".into()),
        ]);
        let vars = [var("JOBSPLIT_T_B", "3"), var("JOBSPLIT_T_C", "x\0y")];
        let envp: Vec<&str> = env
            .with(&vars)
            .iter()
            .filter_map(|e| e.to_str().ok())
            .filter(|e| e.starts_with("JOBSPLIT_T_"))
            .collect();
        assert_eq!(envp, ["JOBSPLIT_T_A=1", "JOBSPLIT_T_B=3", "JOBSPLIT_T_C=x"]);
    }
}
