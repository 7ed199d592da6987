//! jobsplit: split a list of independent jobs across unlike machines with no server.
#![deny(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod engine;
mod error;
pub mod input;
pub mod merge;
pub mod output;
pub mod plan;
pub mod run;
#[cfg(feature = "cli")]
mod splitter;
mod work;

pub use run::{map, map_with, JobContext, JobError, MapOptions};
#[cfg(feature = "cli")]
pub use splitter::Splitter;
pub use work::Work;

pub use error::{Error, Result};
