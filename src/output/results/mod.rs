//! results.csv, one codec: the row format (`row.rs`: the fixed columns, how result fields are
//! named, the checks of a row), the bytes of a file (`data.rs`: the one gunzip path), the one
//! reader ([`ResultsReader`], holding the torn-row rule) and the writer ([`ResultsWriter`],
//! whose resume scan is that reader). `merge`, a rescue and
//! `status` read through the same reader. docs/output-format.md is the user-facing contract.

mod data;
mod reader;
mod row;
mod writer;

pub(crate) use data::Data;
pub use reader::{ResultsReader, Row};
pub use row::{column_name, field_name, ResultRow, FIXED};
pub use writer::{Existing, ResultsWriter};
