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
//! computes the same plan ([`plan::Plan`]), runs its share with resume, progress, CSV results
//! and compressed logs, and `merge` joins the hosts' outputs.
//!
//! The building blocks are public too: [`input`] (job lists, machines, config), [`Work`] (the
//! work digest and job keys), [`plan`] (split-v1), [`run`] (the runner and its executors),
//! [`output`] (results.csv, log.gz, manifests), [`merge`] and [`engine`] (Slurm, Kubernetes).
#![deny(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod engine;
mod error;
pub mod input;
pub mod merge;
pub mod model;
pub mod output;
mod paths;
pub mod plan;
pub mod remote;
pub mod report;
pub mod run;
#[cfg(feature = "cli")]
mod splitter;
mod sys;
mod text;
mod work;

pub use run::{map, map_with, JobContext, JobError, JobRng, MapOptions};
#[cfg(feature = "cli")]
pub use splitter::Splitter;
pub use work::Work;

pub use error::{Error, ErrorKind, Result};

/// The generator type behind every job's stream (rand_chacha 0.9).
pub use rand_chacha::ChaCha20Rng;
/// The generator traits `JobRng` implements (rand_core 0.9, the version rand 0.9 uses): `use
/// jobsplit::rand_core::RngCore;` draws numbers with no rand dependency of one's own.
pub use rand_core;
