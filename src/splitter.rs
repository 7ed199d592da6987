//! `Splitter`: a program's own binary, built on the library, with the whole `jobsplit` command
//! line (plan, run, merge, status) for its closures.

use std::fmt::Display;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{JobSource, Program};
use crate::input::{Format, JobList};
use crate::run::{item_bytes, Event, JobContext, LibraryExecutor, RunSummary, Runner};
use crate::Result;

/// Turns a program into a jobsplit binary whose jobs are `f(ctx, item)` for each item.
///
/// The items are the job list (each item's canonical JSON is its job bytes), so every host that
/// builds the same items computes the same plan; the command line is that of `jobsplit`:
/// `plan`, `run --machine NAME`, `merge`, `status`, with the config, machines file, resume and
/// progress of command jobs.
///
/// The items may grow between runs by appending (more items at the end, the earlier ones
/// unchanged): each growth is a new epoch of the study, as for a job list that grows
/// (docs/split-v1.md section 7), recorded by `run` in `NAME.items.epochs` in the working
/// directory; earlier items keep their keys, seeds, machines and results.
///
/// # Examples
/// ```no_run
/// use jobsplit::Splitter;
///
/// fn main() {
///     let sizes: Vec<u64> = (1..=100).collect();
///     Splitter::new(sizes).main(|ctx, &n| -> Result<serde_json::Value, String> {
///         ctx.log(format!("summing {n} numbers"));
///         Ok(serde_json::json!({"n": n, "sum": n * (n + 1) / 2}))
///     })
/// }
/// ```
///
/// The command line speaks in the program's name (its help, examples and `NAME: error:`
/// lines): the file name it was started as, or [`Splitter::name`]. It has no `init` (which
/// writes a job list and a command template for the jobsplit binary), and no `--jobs`, `--cmd`
/// or `--worker`: the program supplies and runs its own jobs.
pub struct Splitter<T> {
    items: Vec<T>,
    program: Program,
}

impl<T: Serialize + Sync> Splitter<T> {
    /// A splitter over `items`.
    pub fn new(items: Vec<T>) -> Self {
        Splitter {
            items,
            program: Program::default(),
        }
    }

    /// The name the command line uses for the program [default: the file name it was
    /// started as].
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.program.name = Some(name.into());
        self
    }

    /// The line `--help` opens with, on what the program does.
    #[must_use]
    pub fn about(mut self, about: impl Into<String>) -> Self {
        self.program.about = Some(about.into());
        self
    }

    /// The version `--version` prints (for example `env!("CARGO_PKG_VERSION")`) [default:
    /// jobsplit's].
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.program.version = Some(version.into());
        self
    }

    /// Runs the command line with `f` as the job and exits the process with its exit code
    /// (0 all ok, 1 some failed, 2 bad input, 130 interrupted).
    pub fn main<R, E, F>(self, f: F) -> !
    where
        R: Serialize,
        E: Display,
        F: Fn(&JobContext<'_>, &T) -> std::result::Result<R, E> + Sync,
    {
        let code = self.exit_code(f);
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        std::process::exit(code.into());
    }

    /// Like [`Splitter::main`], but returns the exit code for `fn main() -> ExitCode`.
    pub fn run<R, E, F>(self, f: F) -> ExitCode
    where
        R: Serialize,
        E: Display,
        F: Fn(&JobContext<'_>, &T) -> std::result::Result<R, E> + Sync,
    {
        ExitCode::from(self.exit_code(f))
    }

    fn exit_code<R, E, F>(self, f: F) -> u8
    where
        R: Serialize,
        E: Display,
        F: Fn(&JobContext<'_>, &T) -> std::result::Result<R, E> + Sync,
    {
        let source = Source {
            items: self.items,
            program: self.program,
            f,
            _r: std::marker::PhantomData,
        };
        crate::cli::main_with_code(Some(&source))
    }
}

struct Source<T, F, R, E> {
    items: Vec<T>,
    program: Program,
    f: F,
    _r: std::marker::PhantomData<fn() -> (R, E)>,
}

impl<T, F, R, E> JobSource for Source<T, F, R, E>
where
    T: Serialize + Sync,
    R: Serialize,
    E: Display,
    F: Fn(&JobContext<'_>, &T) -> std::result::Result<R, E> + Sync,
{
    fn job_list(&self) -> Result<JobList> {
        let mut data = Vec::new();
        for item in &self.items {
            data.extend_from_slice(&item_bytes(item)?);
            data.push(b'\n');
        }
        JobList::from_bytes(Path::new("<program items>"), Format::Jsonl, data)
    }

    fn program(&self) -> Program {
        self.program.clone()
    }

    fn run(&self, runner: &Runner<'_>) -> Result<RunSummary> {
        let work = runner.work();
        let progress = |index, fraction| runner.emit(&Event::JobProgress { index, fraction });
        let events = |event: &Event<'_>| runner.emit(event);
        let executor = LibraryExecutor::new(&self.items, &self.f, work.keyer(), work.params())
            .with_progress(&progress)
            .with_events(&events);
        runner.run(&executor)
    }
}
