//! What a command job is handed and what it hands back: its environment (`JOBSPLIT_*`
//! variables) and the `$JOBSPLIT_RESULT` protocol (a JSON object written to a file, else the
//! last line with `--capture last-line`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::model::Status;
use crate::run::attempt::{fields_of, Attempt, Reason};
use crate::run::executor::JobSpec;
use crate::run::supervisor::Vars;
use crate::Work;

/// The variables every job of a work gets: `JOBSPLIT_PARAMS` and one `JOBSPLIT_PARAM_<NAME>`
/// per scalar parameter.
pub(in crate::run) fn param_vars(work: &Work) -> Vec<(String, OsString)> {
    let mut env = vec![(
        "JOBSPLIT_PARAMS".to_owned(),
        OsString::from(serde_json::Value::Object(work.params().clone()).to_string()),
    )];
    for (name, value) in work.params() {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        env.push((format!("JOBSPLIT_PARAM_{}", env_name(name)), text.into()));
    }
    env
}

/// `JOBSPLIT_LAUNCH_DIR`: the directory jobsplit was started in, absolute, so that a job
/// running in its own directory (`workdir = "job"`) still finds the study's files. None if the
/// current directory is gone.
pub(in crate::run) fn launch_var() -> Option<(String, OsString)> {
    let dir = std::env::current_dir().ok()?;
    Some(("JOBSPLIT_LAUNCH_DIR".to_owned(), dir.into_os_string()))
}

/// `alpha-beta.x` -> `ALPHA_BETA_X`.
fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Where one attempt of a job is told to write its result: `tmp/result-<index>-<attempt>.json`,
/// `tmp` being the run directory's `tmp/`.
pub(super) fn result_path(tmp: &Path, job: &JobSpec) -> PathBuf {
    let mut name = String::with_capacity(40);
    let mut number = itoa::Buffer::new();
    name.push_str("result-");
    name.push_str(number.format(job.index));
    name.push('-');
    name.push_str(number.format(job.attempt));
    name.push_str(".json");
    tmp.join(name)
}

/// Removes the result files an earlier run of `dir` left (a job it was killed in), once at the
/// run's first job with the directory locked: a job's own attempt then never finds a stale one,
/// and no job pays for a removal of a file that is not there.
pub(super) fn clear_result_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir.join("tmp")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("result-") && name.ends_with(".json") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The per-job variables of `job`.
pub(super) fn job_vars(
    job: &JobSpec,
    machine: &str,
    scratch: &Path,
    result_file: &Path,
    slot: u64,
) -> Vars {
    let paths = scratch.as_os_str().len() + result_file.as_os_str().len();
    let mut vars = Vars::with_capacity(8, 256 + machine.len() + paths);
    vars.push_number("JOBSPLIT_JOB_INDEX", job.index);
    vars.push_number("JOBSPLIT_SLOT", slot);
    vars.push_bytes("JOBSPLIT_JOB_KEY", &job.key.id_bytes());
    vars.push_number("JOBSPLIT_SEED", job.key.seed());
    vars.push_number("JOBSPLIT_ATTEMPT", job.attempt);
    vars.push("JOBSPLIT_MACHINE", machine);
    vars.push("JOBSPLIT_OUT", scratch);
    vars.push("JOBSPLIT_RESULT", result_file);
    vars
}

/// Takes the job's result into `attempt`: the object in `result_file` (removed once read), else
/// `last_line` when it is captured. A successful job whose result file is not a JSON object
/// fails, saying why.
pub(super) fn take_result(result_file: &Path, last_line: Option<String>, attempt: &mut Attempt) {
    match std::fs::read(result_file) {
        Ok(bytes) => {
            let _ = std::fs::remove_file(result_file);
            match crate::run::nonfinite::parse(&bytes) {
                Ok(v @ serde_json::Value::Object(_)) => attempt.fields = fields_of(&v),
                _ if attempt.outcome != Status::Ok => {}
                parsed => {
                    let why = match parsed {
                        Ok(other) => format!("it holds {}, not an object", kind(&other)),
                        Err(e) => format!("it is not JSON ({e})"),
                    };
                    attempt.outcome = Status::Failed;
                    attempt.reason = Some(Reason::Message(format!(
                        "$JOBSPLIT_RESULT: {why}: write a JSON object such as {{\"x\": 1}}"
                    )));
                }
            }
        }
        Err(_) => {
            if let Some(line) = last_line.filter(|l| !l.is_empty()) {
                attempt.fields = vec![("result".to_owned(), line)];
            }
        }
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
