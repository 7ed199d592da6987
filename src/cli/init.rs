//! `jobsplit init`: a starter study a new user can edit and run at once.

use super::term::outln;
use std::path::Path;

use anyhow::{bail, Context as _, Result};

use super::args::InitArgs;

const CONFIG: &str = include_str!("../../config/jobsplit.toml");

const MACHINES: &str = r#"{
  "ws1": {"weight": 1.0, "cores": 2, "hosts": ["ws1"]},
  "ws2": {"weight": 1.5, "cores": 4},
  "server": [2.0, 8]
}
"#;

fn jobs() -> String {
    let mut s = String::from(
        "# One shell command per line. Blank lines and lines starting with # are skipped.\n\
         # Each job sees JOBSPLIT_JOB_INDEX, JOBSPLIT_SEED, JOBSPLIT_OUT and JOBSPLIT_RESULT.\n",
    );
    for i in 0..24 {
        s += &format!(
            "echo \"{{\\\"n\\\": {i}, \\\"square\\\": $(({i} * {i}))}}\" > \"$JOBSPLIT_RESULT\"\n"
        );
    }
    s
}

pub(crate) fn run(args: &InitArgs) -> Result<u8> {
    let files = [
        ("jobsplit.toml", CONFIG.to_owned()),
        ("machines.json", MACHINES.to_owned()),
        ("jobs.txt", jobs()),
    ];
    let existing: Vec<_> = files
        .iter()
        .map(|(name, _)| args.dir.join(name))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() {
        let names: Vec<_> = existing.iter().map(|p| p.display().to_string()).collect();
        bail!(crate::Error::usage(format!(
            "{} already exists: init never overwrites; choose another directory",
            names.join(", ")
        )));
    }
    std::fs::create_dir_all(&args.dir).map_err(|e| crate::Error::io(&args.dir, e))?;
    for (name, text) in &files {
        write_new(&args.dir.join(name), text)?;
    }
    outln!(
        "wrote jobsplit.toml, machines.json and jobs.txt in {}\nnext: cd {} && jobsplit plan",
        args.dir.display(),
        args.dir.display()
    );
    Ok(super::exit::OK)
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| crate::Error::io(path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| crate::Error::io(path, e))
        .with_context(|| format!("writing {}", path.display()))
}
