//! The columns after the fixed ones: the job's inputs, the command as run, then its results,
//! under one naming rule that keeps the three apart, and the one order every writer of
//! results.csv (a run's, merge's) puts them in.
//!
//! - A job's inputs: `input_<field>` for each top-level field of a CSV record or a JSON object,
//!   `input` for a line of a lines list (or a JSON value that is not an object).
//! - `command`: the shell command the attempt ran.
//! - A result field keeps its name, except a name that is a fixed column, `command`, `input`,
//!   or starts with `input_` or `result_`: that one gets `result_` in front
//!   ([`column_name`]), and [`field_name`] gives it back.

/// The prefix that keeps a result field from taking a reserved column's name.
const RESULT_PREFIX: &str = "result_";
/// The prefix of an input field's column.
const INPUT_PREFIX: &str = "input_";
/// The column of a lines list's line (or a JSON value that is not an object).
pub(crate) const INPUT: &str = "input";
/// The column of the command as run.
pub(crate) const COMMAND: &str = "command";

/// What a column after the fixed ones holds; also the order of the groups in a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColumnKind {
    /// One of the job's inputs (`input`, `input_<field>`).
    Input,
    /// The command as run.
    Command,
    /// A result field.
    Result,
}

impl ColumnKind {
    /// The kind of the column named `column`.
    pub fn of(column: &str) -> ColumnKind {
        if column == INPUT || column.starts_with(INPUT_PREFIX) {
            ColumnKind::Input
        } else if column == COMMAND {
            ColumnKind::Command
        } else {
            ColumnKind::Result
        }
    }
}

/// The column of the input field `field` (a CSV column or a JSON object's key).
pub(crate) fn input_column(field: &str) -> String {
    format!("{INPUT_PREFIX}{field}")
}

/// A result field's column name. A field named like a fixed column, `command` or `input`, or
/// starting with `input_` or `result_`, gets `result_` in front (`index` -> `result_index`,
/// `input_x` -> `result_input_x`, `result_index` -> `result_result_index`); any other keeps its
/// name. No two fields share a column and no field takes a fixed or input column: removing one
/// `result_` from a prefixed column gives its field back (`field_name`).
pub fn column_name(field: &str) -> String {
    let reserved = super::FIXED.contains(&field)
        || field.starts_with(RESULT_PREFIX)
        || ColumnKind::of(field) != ColumnKind::Result;
    if reserved {
        format!("{RESULT_PREFIX}{field}")
    } else {
        field.to_owned()
    }
}

/// The result field a result column holds: the inverse of [`column_name`].
#[cfg(test)]
pub(crate) fn field_name(column: &str) -> &str {
    column.strip_prefix(RESULT_PREFIX).unwrap_or(column)
}

/// Adds `column` to `columns` (the columns after the fixed ones) at the end of its kind's group,
/// so inputs come first, then `command`, then results, each group in the order first seen.
/// Nothing moves relative to anything else. Returns false if it was there already.
pub(crate) fn insert_column(columns: &mut Vec<String>, column: &str) -> bool {
    if columns.iter().any(|c| c == column) {
        return false;
    }
    let kind = ColumnKind::of(column);
    let at = columns
        .iter()
        .rposition(|c| ColumnKind::of(c) <= kind)
        .map_or(0, |p| p + 1);
    columns.insert(at, column.to_owned());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::results::FIXED;

    #[test]
    fn column_names_never_collide_and_read_back() {
        let fields = [
            "index",
            "result_index",
            "result_result_index",
            "status",
            "result",
            "result_",
            "",
            "loss",
            "command",
            "input",
            "input_x",
            "inputs",
        ];
        let columns: Vec<String> = fields.iter().map(|f| column_name(f)).collect();
        for (i, c) in columns.iter().enumerate() {
            assert!(!FIXED.contains(&c.as_str()), "{c}");
            assert_eq!(ColumnKind::of(c), ColumnKind::Result, "{c}");
            assert_eq!(field_name(c), fields[i]);
            assert!(!columns[..i].contains(c), "{c} twice");
        }
    }

    #[test]
    fn groups_keep_their_order_whatever_comes_first() {
        let mut columns = Vec::new();
        for c in ["loss", "command", "input_b", "acc", "input_a", "input_b"] {
            insert_column(&mut columns, c);
        }
        assert_eq!(columns, ["input_b", "input_a", "command", "loss", "acc"]);
        // An old file whose header had a result before the inputs keeps it (nothing moves).
        let mut old = vec!["loss".to_owned(), "input_a".to_owned()];
        insert_column(&mut old, "input_b");
        assert_eq!(old, ["loss", "input_a", "input_b"]);
    }
}
