//! Not API: the internals the crate's own integration tests (tests/it) reach, re-exported in
//! one place so that everything else stays private. Hidden from the docs; it changes with the
//! tests, with no notice and no semver promise. A library user has the crate root.

pub use crate::engine::{detect, Shard, SHARD_COUNT_ENV};
pub use crate::input::{load_growing, parse_machines, to_canonical, Config, Grow, Record};
pub use crate::merge::{load_rescue, merge, status, MergeOptions, Summary};
pub use crate::model::{RunState, Status, Stream, Tally};
pub use crate::output::log::{read_lines, LogReader, LogWriter};
pub use crate::output::manifest::Manifest;
pub use crate::output::results::{
    column_name, ColumnKind, ResultRow, ResultsReader, ResultsWriter,
};
pub use crate::output::rfc3339;
pub use crate::plan::{bounded, keystream, JobKeyer, ALGORITHM};
pub use crate::run::{
    item_bytes, Attempt, Cancel, Control, Executor, Exit, JobSpec, Resume, RunOptions, Runner,
};
