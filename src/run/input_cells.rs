//! A job's inputs as results.csv cells (docs/output-format.md, *Inputs beside results*): each
//! top-level field of a CSV record or JSON object as `input_<field>` (strings as they are, other
//! values as canonical JSON, null empty), a line of a lines list (or a JSON value that is not an
//! object) as `input`.

use serde_json::Value;

use crate::input::{to_canonical, Record};
use crate::output::results::{input_column, INPUT};

/// The input cells of `record`, by column name, in the record's field order.
pub(crate) fn input_cells(record: &Record<'_>) -> Vec<(String, String)> {
    match record {
        Record::Line(line) => vec![(INPUT.to_owned(), (*line).to_owned())],
        Record::Json(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (input_column(k), text(v)))
            .collect(),
        Record::Json(other) => vec![(INPUT.to_owned(), text(other))],
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => String::from_utf8(to_canonical(other)).expect("canonical JSON is UTF-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_lines_and_other_values() {
        let cells = |v: Value| input_cells(&Record::Json(v));
        assert_eq!(
            cells(json!({"b": "x,y", "a": 2, "n": null, "deep": {"z": 1, "a": [1.5, true]}})),
            [
                ("input_b".to_owned(), "x,y".to_owned()),
                ("input_a".to_owned(), "2".to_owned()),
                ("input_n".to_owned(), String::new()),
                (
                    "input_deep".to_owned(),
                    r#"{"a":[1.5,true],"z":1}"#.to_owned()
                ),
            ]
        );
        assert_eq!(
            cells(json!([1, 2])),
            [("input".to_owned(), "[1,2]".to_owned())]
        );
        assert_eq!(
            input_cells(&Record::Line("echo 1")),
            [("input".to_owned(), "echo 1".to_owned())]
        );
    }
}
