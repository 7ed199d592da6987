//! Helpers shared by the end-to-end tests of the `jobsplit` binary: a temporary study directory,
//! the built binary with a clean environment, and readers for what a run writes (results.csv,
//! log.gz, manifest.json) and for the processes a run may leave behind.
//!
//! Every test module uses it through `crate::harness`; not every module uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The three machines most tests use: unequal weights and cores, in this file order.
pub(crate) const THREE_MACHINES: &str = r#"{
  "ws1": {"weight": 1, "cores": 2},
  "ws2": [2, 1],
  "server": {"weight": 1.5, "cores": 2}
}
"#;

/// The path of the built `jobsplit` binary (cargo builds it for integration tests), or the one
/// `JOBSPLIT_TEST_BIN` names (to run a test against another build, e.g. to see it fail before
/// a fix).
pub(crate) fn bin() -> PathBuf {
    std::env::var_os("JOBSPLIT_TEST_BIN")
        .map_or_else(|| assert_cmd::cargo::cargo_bin("jobsplit"), PathBuf::from)
}

/// The variable [`Study::env_marker`] names.
const MARKER_VAR: &str = "E2E_STUDY_DIR";

/// Removes the variables that would change what the binary does behind a test's back: every
/// `JOBSPLIT_*` (machine, config, shard count) and the batch engines' (`SLURM_*`, `SGE_TASK_*`,
/// `NSLOTS`, `PBS_*`, `NCPUS`, `LSB_*`, `JOB_COMPLETION_INDEX`), so a test run inside a batch
/// job sees none.
pub(crate) fn clean_env(cmd: &mut std::process::Command) {
    const ENGINE: [&str; 5] = ["SLURM_", "SGE_TASK_", "PBS_", "LSB_", "JOBSPLIT_"];
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if ENGINE.iter().any(|p| n.starts_with(p))
            || ["JOB_COMPLETION_INDEX", "NSLOTS", "NCPUS"].contains(&n.as_ref())
        {
            cmd.env_remove(&name);
        }
    }
}

/// A study in a temporary directory (removed on drop): files written into it, the binary run
/// from it.
pub(crate) struct Study {
    dir: tempfile::TempDir,
}

impl Default for Study {
    fn default() -> Self {
        Self::new()
    }
}

impl Study {
    /// An empty study directory.
    pub(crate) fn new() -> Study {
        Study {
            dir: tempfile::Builder::new()
                .prefix("jobsplit-e2e-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    /// A study of `jobs` (one shell command each, in `jobs.txt`) over `machines` (JSON), with a
    /// `jobsplit.toml` naming both and adding `extra_toml` (a seed, `[params]`, `[run]`...).
    pub(crate) fn with(jobs: &[String], machines: &str, extra_toml: &str) -> Study {
        let s = Study::new();
        s.setup(jobs, machines, extra_toml);
        s
    }

    /// Writes `jobs.txt`, `machines.json` and `jobsplit.toml` as [`Study::with`] does, into
    /// this study (whose path the jobs may need to know).
    pub(crate) fn setup(&self, jobs: &[String], machines: &str, extra_toml: &str) {
        self.jobs(jobs);
        self.write("machines.json", machines);
        self.write(
            "jobsplit.toml",
            format!("machines = \"machines.json\"\n{extra_toml}\n[jobs]\nfile = \"jobs.txt\"\n"),
        );
    }

    /// The study directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `path/rel`.
    pub(crate) fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `bytes` to `rel` (creating directories) and returns its path.
    pub(crate) fn write(&self, rel: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// A study directory holding `files` (relative path, contents) and nothing else.
    pub(crate) fn with_files(files: &[(&str, &[u8])]) -> Study {
        let s = Study::new();
        for (name, bytes) in files {
            s.write(name, bytes);
        }
        s
    }

    /// `jobsplit ARGS` run to the end.
    pub(crate) fn output(&self, args: &[&str]) -> Out {
        Out::of(self.cmd().args(args).output().unwrap())
    }

    /// `jobsplit plan --json ARGS`: the raw text and the parsed value; panics unless it succeeds.
    pub(crate) fn plan_json_text(&self, args: &[&str]) -> (String, serde_json::Value) {
        let out = self.output(&[&["plan", "--json"][..], args].concat());
        assert_eq!(out.code, 0, "plan --json {args:?}: {}", out.stderr);
        let value = serde_json::from_str(&out.stdout).expect("plan --json prints JSON");
        (out.stdout, value)
    }

    /// The plan digest of `jobsplit plan --json ARGS`.
    pub(crate) fn digest(&self, args: &[&str]) -> String {
        self.plan_json(args)["plan_digest"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every file and directory under the study with its bytes (directories have none).
    pub(crate) fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        files_under(self.path())
    }

    /// Writes the job list `jobs.txt`, one command a line.
    pub(crate) fn jobs(&self, jobs: &[String]) -> PathBuf {
        let mut text = jobs.join("\n");
        text.push('\n');
        self.write("jobs.txt", &text)
    }

    /// `jobsplit` run from the study directory with a clean environment, stdin empty.
    pub(crate) fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd())
    }

    /// The same as a `std::process::Command`, to spawn and signal it.
    pub(crate) fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(bin());
        clean_env(&mut cmd);
        cmd.current_dir(self.path());
        cmd.stdin(std::process::Stdio::null());
        cmd.env(MARKER_VAR, self.path());
        cmd
    }

    /// `NAME=VALUE` of a variable set for every run of this study, and so inherited by every
    /// job and whatever it starts: find them with [`procs_with_env`].
    pub(crate) fn env_marker(&self) -> String {
        format!("{MARKER_VAR}={}", self.path().display())
    }

    /// `jobsplit run --machine MACHINE --yes`, to add flags to.
    pub(crate) fn run(&self, machine: &str) -> assert_cmd::Command {
        let mut cmd = self.cmd();
        cmd.args(["run", "--machine", machine, "--yes"]);
        cmd
    }

    /// `jobsplit plan --json` parsed, with extra arguments.
    pub(crate) fn plan_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["plan", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "plan failed: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("plan --json prints JSON")
    }

    /// The default output directory, `out/`.
    pub(crate) fn out(&self) -> PathBuf {
        self.join("out")
    }

    /// `out/<machine>`.
    pub(crate) fn machine_dir(&self, machine: &str) -> PathBuf {
        self.out().join(machine)
    }

    /// `out/<machine>/results.csv`, parsed strictly.
    pub(crate) fn results(&self, machine: &str) -> Results {
        Results::read(&self.machine_dir(machine).join("results.csv"))
    }

    /// `out/<machine>/log.gz`, decompressed.
    pub(crate) fn log(&self, machine: &str) -> Vec<LogLine> {
        read_log(&self.machine_dir(machine).join("log.gz"))
    }

    /// `out/<machine>/manifest.json`.
    pub(crate) fn manifest(&self, machine: &str) -> serde_json::Value {
        read_json(&self.machine_dir(machine).join("manifest.json"))
    }
}

/// `jobsplit` with a clean environment, run from `dir`, stdin empty.
pub(crate) fn jobsplit(dir: &Path) -> assert_cmd::Command {
    let mut cmd = std::process::Command::new(bin());
    clean_env(&mut cmd);
    cmd.current_dir(dir);
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.write_stdin("");
    cmd
}

/// What a finished command gave.
#[derive(Debug)]
pub(crate) struct Out {
    /// The exit code (-1 if killed by a signal).
    pub(crate) code: i32,
    /// Standard output as text.
    pub(crate) stdout: String,
    /// Standard error as text.
    pub(crate) stderr: String,
}

impl Out {
    /// From a `std::process::Output`.
    pub(crate) fn of(o: std::process::Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: text(&o.stdout),
            stderr: text(&o.stderr),
        }
    }
}

/// Every file and directory under `dir` (recursively), by path, with its bytes (a directory
/// has none): compare two of these to prove nothing was written.
pub(crate) fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(p, target.into_os_string().into_encoded_bytes());
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A results.csv as its header and rows of column -> cell (lenient: no check of the fixed
/// columns; [`Results`] is the strict reader).
pub(crate) fn read_csv(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(data.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A multi-member gzip file, decompressed to text; panics if it is not whole.
pub(crate) fn gunzip(path: &Path) -> String {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(data.as_slice())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

/// Bytes as text, for messages.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// index -> machine name, from `plan --json`.
pub(crate) fn assignment(plan: &serde_json::Value) -> BTreeMap<u64, String> {
    let mut map = BTreeMap::new();
    for m in plan["machines"].as_array().expect("machines") {
        let name = m["name"].as_str().unwrap().to_owned();
        for i in m["jobs"].as_array().unwrap() {
            let old = map.insert(i.as_u64().unwrap(), name.clone());
            assert!(old.is_none(), "job {i} planned twice");
        }
    }
    map
}

/// A parsed results.csv.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Results {
    /// The header.
    pub(crate) headers: Vec<String>,
    /// The rows, each as wide as the header.
    pub(crate) rows: Vec<Row>,
}

/// One row of a results.csv, by column name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub(crate) BTreeMap<String, String>);

impl Row {
    /// The cell of `column` (panics if the column does not exist).
    pub(crate) fn get(&self, column: &str) -> &str {
        self.0
            .get(column)
            .unwrap_or_else(|| panic!("no column `{column}` in {:?}", self.0))
    }

    /// The cell of `column`, if the column exists.
    pub(crate) fn try_get(&self, column: &str) -> Option<&str> {
        self.0.get(column).map(String::as_str)
    }

    /// The job index.
    pub(crate) fn index(&self) -> u64 {
        self.get("index").parse().expect("an index")
    }

    /// The attempt number.
    pub(crate) fn attempt(&self) -> u32 {
        self.get("attempt").parse().expect("an attempt")
    }

    /// The status.
    pub(crate) fn status(&self) -> &str {
        self.get("status")
    }

    /// The row without the columns that change from run to run (times, durations).
    pub(crate) fn stable(&self) -> BTreeMap<String, String> {
        let mut m = self.0.clone();
        m.remove("started_at");
        m.remove("duration_s");
        m
    }
}

impl Results {
    /// Reads `path` with a strict CSV reader: every row as wide as the header, the header
    /// starting with the fixed columns. Panics with the file's text otherwise.
    pub(crate) fn read(path: &Path) -> Results {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Results::parse(&data).unwrap_or_else(|e| {
            panic!(
                "{} is not a valid results.csv ({e}):\n{}",
                path.display(),
                text(&data)
            )
        })
    }

    /// Parses results.csv bytes strictly.
    pub(crate) fn parse(data: &[u8]) -> Result<Results, String> {
        if !data.is_empty() && !data.ends_with(b"\n") {
            return Err("the file does not end with a line end".into());
        }
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(data);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| e.to_string())?
            .iter()
            .map(str::to_owned)
            .collect();
        let fixed = [
            "index",
            "key",
            "machine",
            "status",
            "exit_code",
            "attempt",
            "started_at",
            "duration_s",
            "error",
        ];
        if headers.len() < fixed.len() || headers[..fixed.len()] != fixed {
            return Err(format!("unexpected header {headers:?}"));
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| e.to_string())?;
            let row: BTreeMap<String, String> = headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_owned))
                .collect();
            rows.push(Row(row));
        }
        Ok(Results { headers, rows })
    }

    /// The result columns (after the fixed ones, the inputs and the command).
    pub(crate) fn result_columns(&self) -> Vec<String> {
        self.columns_of(jobsplit::testing::ColumnKind::Result)
    }

    /// The columns after the fixed ones of one kind (inputs, command, results), in order.
    pub(crate) fn columns_of(&self, kind: jobsplit::testing::ColumnKind) -> Vec<String> {
        self.headers[9..]
            .iter()
            .filter(|c| jobsplit::testing::ColumnKind::of(c) == kind)
            .cloned()
            .collect()
    }

    /// Rows of job `index`, in file order.
    pub(crate) fn of(&self, index: u64) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.index() == index).collect()
    }

    /// key -> number of ok rows.
    pub(crate) fn ok_per_key(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in &self.rows {
            if r.status() == "ok" {
                *m.entry(r.get("key").to_owned()).or_insert(0) += 1;
            }
        }
        m
    }

    /// index -> the row of its last attempt.
    pub(crate) fn last_by_index(&self) -> BTreeMap<u64, &Row> {
        let mut m = BTreeMap::new();
        for r in &self.rows {
            m.insert(r.index(), r);
        }
        m
    }
}

/// One line of a log.gz: `TIME\tJOB\tSTREAM\tTEXT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogLine {
    /// RFC 3339.
    pub(crate) time: String,
    /// The job index, or `None` for the runner's own lines (`-`).
    pub(crate) job: Option<u64>,
    /// out, err, log or event.
    pub(crate) stream: String,
    /// The text.
    pub(crate) text: String,
}

/// Decompresses a multi-member log.gz whole and splits its lines; panics on any gzip error or a
/// malformed line.
pub(crate) fn read_log(path: &Path) -> Vec<LogLine> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut data)
        .unwrap_or_else(|e| panic!("{} does not decompress: {e}", path.display()));
    let data = String::from_utf8(data).expect("the log is UTF-8");
    assert!(
        data.is_empty() || data.ends_with('\n'),
        "{}: the last line has no line end",
        path.display()
    );
    data.lines()
        .map(|line| {
            let mut parts = line.splitn(4, '\t');
            let mut next = || {
                parts
                    .next()
                    .unwrap_or_else(|| panic!("malformed log line {line:?}"))
            };
            let time = next().to_owned();
            let job = next();
            let job = (job != "-").then(|| job.parse().expect("a job index"));
            let stream = next().to_owned();
            let text = next().to_owned();
            LogLine {
                time,
                job,
                stream,
                text,
            }
        })
        .collect()
}

/// True if `gzip -t` accepts `path` (or gzip is not installed: then the check is skipped).
pub(crate) fn gzip_ok(path: &Path) -> bool {
    match std::process::Command::new("gzip")
        .arg("-t")
        .arg(path)
        .output()
    {
        Ok(out) => out.status.success(),
        Err(_) => {
            eprintln!("note: gzip is not installed; skipping gzip -t");
            true
        }
    }
}

/// Reads a JSON file.
pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Live (non-zombie) processes whose environment contains `needle` (e.g. a study's
/// [`Study::env_marker`]), as (pid, command line).
pub(crate) fn procs_with_env(needle: &str) -> Vec<(i32, String)> {
    procs_where(|pid| {
        std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

/// Live (non-zombie) processes whose command line contains `needle`.
pub(crate) fn procs_with_cmdline(needle: &str) -> Vec<(i32, String)> {
    procs_where(|pid| cmdline(pid).contains(needle))
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| text(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn procs_where(f: impl Fn(i32) -> bool) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me || is_zombie(pid) {
            continue;
        }
        if f(pid) {
            found.push((pid, cmdline(pid)));
        }
    }
    found
}

fn is_zombie(pid: i32) -> bool {
    // /proc/PID/stat: `pid (comm) S ...`; comm may hold spaces and parentheses.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .and_then(|p| s[p + 1..].split_whitespace().next().map(str::to_owned))
        })
        .is_none_or(|state| state == "Z" || state == "X")
}

/// Waits up to `limit` for `f` to hold, checking every 20 ms; returns whether it did.
pub(crate) fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that no live process has `needle` in its environment, allowing `limit` for stragglers
/// to be reaped; kills any it finds (so one failure does not leak into other tests).
pub(crate) fn assert_no_procs_with_env(needle: &str, limit: Duration) {
    if wait_until(limit, || procs_with_env(needle).is_empty()) {
        return;
    }
    let left = procs_with_env(needle);
    for (pid, _) in &left {
        // SAFETY: kill has no memory effects.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    panic!("processes left behind: {left:?}");
}

/// Sends `sig` to `pid`.
pub(crate) fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill has no memory effects.
    let r = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig}) failed");
}

/// Waits for a spawned child up to `limit`; kills it and panics if it does not end in time.
pub(crate) fn wait_child(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The host name, as `jobsplit` reads it.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(r, 0, "gethostname failed");
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A single-quoted shell word.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Builds an example with the cargo running this test and returns its executable.
pub(crate) fn build_example(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--example",
            name,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the example's executable")
}

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

/// An ok row of job `index` with result `fields`, at a fixed time, for tests that write
/// results.csv through the library's writer.
pub(crate) fn row(index: u64, fields: &[(&str, &str)]) -> jobsplit::testing::ResultRow {
    use std::time::{Duration, UNIX_EPOCH};
    jobsplit::testing::ResultRow {
        index,
        key: format!("{:016x}", index * 0x1111 + 7),
        machine: "m".into(),
        status: jobsplit::testing::Status::Ok,
        exit_code: Some(0),
        attempt: 1,
        started_at: UNIX_EPOCH + Duration::from_secs(1_795_000_000 + index),
        duration: Duration::from_millis(1500),
        error: None,
        inputs: Vec::new(),
        command: None,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}
