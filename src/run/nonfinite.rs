//! NaN and infinities in results. JSON has no spelling for them, but Python's `json` module
//! (its default), JavaScript's JSON5, Jackson and others write the bare tokens `NaN`,
//! `Infinity` and `-Infinity`. jobsplit reads a result (a `$JOBSPLIT_RESULT` file, a worker's
//! answer) as JSON with exactly this extension, from any writer, and writes such a value to
//! results.csv as `NaN`, `Inf` or `-Inf` (the forms pandas, R, Julia and numpy all read as
//! floats); inside a nested value (an array, an object) as the bare token, as Python writes it.
//! docs/workers.md specifies it.

use serde_json::Value;

/// Stands for a non-finite number inside a parsed value: a string no writer produces (it starts
/// with a NUL character), followed by the cell spelling.
const MARK: &str = "\u{0}jobsplit:nonfinite:";

/// The tokens read, and the cell spelling each becomes.
const TOKENS: [(&[u8], &str); 3] = [
    (b"-Infinity", "-Inf"),
    (b"Infinity", "Inf"),
    (b"NaN", "NaN"),
];

/// Parses JSON that may hold the bare tokens `NaN`, `Infinity` and `-Infinity` where a number
/// may stand.
///
/// # Errors
/// The parser's error when the text is not JSON even with the tokens.
pub(crate) fn parse(bytes: &[u8]) -> serde_json::Result<Value> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(e) => {
            let marked = mark_tokens(bytes);
            if marked.len() == bytes.len() {
                return Err(e);
            }
            serde_json::from_slice(&marked).map_err(|_| e)
        }
    }
}

/// Replaces each bare token outside strings with the string `MARK` + its cell spelling.
fn mark_tokens(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    'bytes: while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            for (token, cell) in TOKENS {
                if bytes[i..].starts_with(token) {
                    out.extend_from_slice(b"\"\\u0000");
                    out.extend_from_slice(&MARK.as_bytes()[1..]);
                    out.extend_from_slice(cell.as_bytes());
                    out.push(b'"');
                    i += token.len();
                    continue 'bytes;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// The cell spelling of a top-level value if it stands for a non-finite number.
pub(crate) fn cell(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => s.strip_prefix(MARK),
        _ => None,
    }
}

/// Compact JSON of a nested value, with non-finite numbers written as the bare tokens.
pub(crate) fn compact(value: &Value) -> String {
    let text = value.to_string();
    if !text.contains("\\u0000jobsplit:nonfinite:") {
        return text;
    }
    let mut out = text;
    for (token, cell) in TOKENS {
        let marked = format!("\"\\u0000{}{cell}\"", &MARK[1..]);
        out = out.replace(&marked, std::str::from_utf8(token).unwrap_or("NaN"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fields_of;

    fn cells(json: &str) -> Vec<(String, String)> {
        fields_of(&parse(json.as_bytes()).unwrap())
    }

    #[test]
    fn bare_tokens_become_cells_and_strings_stay_strings() {
        let got = cells(
            r#"{"a": NaN, "b": Infinity, "c": -Infinity, "d": "NaN", "e": [1, NaN, -Infinity], "f": "x\"NaN"}"#,
        );
        let want = [
            ("a", "NaN"),
            ("b", "Inf"),
            ("c", "-Inf"),
            ("d", "NaN"),
            ("e", "[1,NaN,-Infinity]"),
            ("f", "x\"NaN"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn plain_json_is_untouched_and_garbage_still_fails() {
        assert_eq!(cells(r#"{"x": 1.5}"#), [("x".to_owned(), "1.5".to_owned())]);
        assert!(parse(b"{\"x\": nan}").is_err());
        assert!(parse(b"{\"x\": NaNa}").is_err());
        assert!(parse(b"not json").is_err());
    }
}
