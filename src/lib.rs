//! jobsplit: split a list of independent jobs across unlike machines with no server.

mod error;

pub use error::{Error, Result};
