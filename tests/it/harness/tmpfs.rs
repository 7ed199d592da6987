//! A tmpfs mounted for one case (a full disk on demand).

use std::path::Path;

use super::text;

/// A tmpfs mounted for one case, unmounted when dropped.
pub(crate) struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it), or says why it cannot.
    pub(crate) fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::Builder::new()
            .prefix("jobsplit-disk-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount: {}", text(&out.stderr).trim_end()));
        }
        Ok(Tmpfs { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes still free.
    pub(crate) fn free(&self) -> u64 {
        let c = std::ffi::CString::new(self.path().as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: statvfs fills the struct it is given; the path is a valid C string.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
        assert_eq!(r, 0, "statvfs {}", self.path().display());
        st.f_bavail * st.f_frsize
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let umount = |args: &[&str]| {
            std::process::Command::new("umount")
                .args(args)
                .arg(self.dir.path())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !umount(&[]) {
            umount(&["-l"]);
        }
    }
}
