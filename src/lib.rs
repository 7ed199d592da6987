//! jobsplit: split a list of independent jobs across unlike machines with no server.
#![deny(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod engine;
mod error;
pub mod input;
pub mod plan;
mod work;

pub use work::Work;

pub use error::{Error, Result};
