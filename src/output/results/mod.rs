//! results.csv, one codec: the row format (`row.rs`: the fixed columns and the checks of a
//! row), the columns after them (`columns.rs`: how inputs, the command and result fields are
//! named and ordered), the bytes of a file (`data.rs`: the one gunzip path), the one reader
//! ([`ResultsReader`], holding the torn-row rule) and the writer ([`ResultsWriter`], whose
//! resume scan is that reader). `merge`, a rescue and `status` read through the same reader. docs/output-format.md is the user-facing contract.

mod columns;
mod data;
mod pending;
mod reader;
mod resume;
mod row;
mod writer;

#[cfg(test)]
pub(crate) use columns::field_name;
pub use columns::{column_name, ColumnKind};
pub(crate) use columns::{input_column, insert_column, INPUT};
pub(crate) use data::Data;
pub(crate) use pending::left_warning as pending_rows_warning;
pub use reader::ResultsReader;
pub(crate) use resume::{Decision, Existing};
pub use row::ResultRow;
pub(crate) use row::FIXED;
pub use writer::ResultsWriter;
