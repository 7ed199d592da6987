//! jobsplit: split a list of independent jobs across unlike machines, with no server.
//!
//! There are two ways to use it from Rust.
//!
//! **In-process**: [`map`] runs a closure over items on a local thread pool. Each job gets a
//! [`JobContext`] with its index and its own random generator, keyed by the split-v1 job key, so
//! results never depend on the thread count or on which host ran the job; a panic or an `Err`
//! fails only that job.
//!
//! ```
//! use jobsplit::rand_core::RngCore;
//!
//! let seeds: Vec<u32> = (0..64).collect();
//! let results = jobsplit::map(&seeds, |ctx, &s| -> Result<u64, String> {
//!     let mut rng = ctx.rng();
//!     if s == 13 {
//!         return Err("unlucky".into());
//!     }
//!     Ok(rng.next_u64() % 6 + 1)
//! });
//! assert_eq!(results.len(), 64);
//! assert_eq!(results[13].as_ref().unwrap_err().message, "unlucky");
//! // The same item, index, params and seed always draw the same numbers.
//! let again = jobsplit::map(&seeds, |ctx, _| -> Result<u64, String> { Ok(ctx.rng().next_u64() % 6 + 1) });
//! assert_eq!(results[0].as_ref().unwrap(), again[0].as_ref().unwrap());
//! ```
//!
//! **Random numbers.** `ctx.rng()` is a [`JobRng`]: the job's one ChaCha20 stream, keyed by its
//! split-v1 key; its first `u64` is the job's seed, and a second `ctx.rng()` continues the stream
//! (it never repeats the numbers). A study needs no rand of its own: `use
//! jobsplit::rand_core::RngCore;` gives `next_u64`, `next_u32` and `fill_bytes`. For rand's
//! distributions (`random`, `random_range`), add either rand: `JobRng` implements the traits of
//! both rand_core 0.9 (rand 0.9: `use rand::Rng;`) and rand_core 0.10 (rand 0.10, what `cargo add
//! rand` gives today: `use rand::RngExt;`). Older rand (0.8 and before) does not fit.
//!
//! **Logs and progress in `map`.** `ctx.log` and `ctx.progress` are dropped unless
//! [`MapOptions::with_log`] and [`MapOptions::with_progress`] say where they go: a job's lines
//! arrive in one call when it ends, so a job that logs nothing costs nothing.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! let lines = Arc::new(Mutex::new(Vec::new()));
//! let sink = Arc::clone(&lines);
//! let opts = jobsplit::MapOptions::default()
//!     .with_log(move |index, job_lines| sink.lock().unwrap().push((index, job_lines.len())));
//! let results = jobsplit::map_with(&opts, &[3u32, 4], |ctx, &n| -> Result<u32, String> {
//!     ctx.log(format!("n = {n}"));
//!     Ok(n * n)
//! });
//! assert_eq!(results, vec![Ok(9), Ok(16)]);
//! assert_eq!(lines.lock().unwrap().len(), 2);
//! ```
//!
//! **Across machines**: `Splitter::new(items).main(|ctx, item| ...)` (feature `cli`, on by
//! default) turns a program into a jobsplit binary with the whole command line: every host
//! computes the same plan ([`Plan`]), runs its share with resume, progress, CSV results and
//! compressed logs, and `merge` joins the hosts' outputs.
//!
//! **The plan in-process.** [`Work`] binds a [`JobList`] (and a [`Template`], parameters and
//! seed) and computes its work digest and job keys; [`Plan::new`] over [`Machine`]s (say from
//! [`load_machines`]) gives every machine's share, exactly as `jobsplit plan` does on every host
//! (docs/split-v1.md).
//!
//! ```
//! use std::path::Path;
//! use jobsplit::{Format, JobList, Machine, Plan, Work};
//!
//! let list = JobList::from_bytes(Path::new("jobs.txt"), Format::Lines, b"a\nb\nc\n".to_vec())?;
//! let work = Work::new(list, None, Default::default(), Some("2026".into()))?;
//! let machines = vec![Machine::new("ws1", 1.0, 4)?, Machine::new("ws2", 2.0, 4)?];
//! let plan = Plan::new(work.digest(), work.len(), work.seed_bytes(), machines, &[])?;
//! assert_eq!(plan.share(0).len() + plan.share(1).len(), 3);
//! # Ok::<(), jobsplit::Error>(())
//! ```
//!
//! **Errors.** Every fallible call returns [`Error`], whose message is one line naming the
//! file, line and fix, and whose [`Error::kind`] ([`ErrorKind`]) says what kind of thing went
//! wrong, for code (and tests) that act on it rather than on the words.
//!
//! The runner, the file formats, merge and the cluster engines are not public: they are the
//! `jobsplit` command's, reached through its command line (or [`Splitter`]).
#![deny(missing_docs)]
// Without the command line (feature `cli` off), the runner's, merge's and the engines' parts
// that only the command uses are built but unused.
#![cfg_attr(not(feature = "cli"), allow(dead_code, unused_imports))]

#[cfg(feature = "cli")]
mod cli;
mod engine;
mod error;
#[cfg(test)]
mod examples_tests;
mod input;
mod merge;
mod model;
mod output;
mod paths;
mod plan;
mod remote;
mod report;
mod run;
#[cfg(feature = "cli")]
mod splitter;
mod sys;
#[doc(hidden)]
pub mod testing;
mod text;
mod work;

pub use error::{Error, ErrorKind, Result};
pub use input::{load_machines, Format, JobList, Machine, Template};
pub use plan::{Digest, EpochPlan, EpochSpan, JobKey, Plan};
pub use run::{map, map_with, JobContext, JobError, JobRng, LogFn, MapOptions, ProgressFn};
#[cfg(feature = "cli")]
pub use splitter::Splitter;
pub use work::Work;

/// The generator type behind every job's stream (rand_chacha 0.9).
pub use rand_chacha::ChaCha20Rng;
/// The generator traits `JobRng` implements (rand_core 0.9, the version rand 0.9 uses): `use
/// jobsplit::rand_core::RngCore;` draws numbers with no rand dependency of one's own.
pub use rand_core;

/// The `jobsplit` command line: what the `jobsplit` binary runs. Not API (the binary's own
/// entry point); a program of one's own uses [`Splitter`].
#[cfg(feature = "cli")]
#[doc(hidden)]
pub use cli::main as cli_main;
