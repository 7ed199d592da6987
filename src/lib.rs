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
//! use rand_core::RngCore;
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
pub mod run;
#[cfg(feature = "cli")]
mod splitter;
mod sys;
mod text;
mod work;

pub use run::{map, map_with, JobContext, JobError, MapOptions};
#[cfg(feature = "cli")]
pub use splitter::Splitter;
pub use work::Work;

pub use error::{Error, Result};
