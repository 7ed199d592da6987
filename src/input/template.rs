//! Command templates: `{}` is the whole job, `{name}` a field of a record, `{#}` the job index;
//! `{{` and `}}` are literal braces. Substituted values are shell-quoted.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::canonical::to_canonical;
use super::jobs::Record;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Whole,
    Index,
    Field(String),
}

/// A parsed command template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl FromStr for Template {
    type Err = Error;

    fn from_str(source: &str) -> Result<Template> {
        let bad = |what: &str| {
            Error::usage(format!(
                "command template `{}`: {what} (write `{{{{` or `}}}}` for a literal brace)",
                crate::text::escape(source)
            ))
        };
        if source.contains('\0') {
            return Err(Error::usage(format!(
                "command template `{}` holds a NUL byte, which no shell command can carry: remove it",
                crate::text::escape(source)
            )));
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(bad("a `}` closes nothing")),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') => return Err(bad("a `{` inside a placeholder")),
                            Some(c) => name.push(c),
                            None => return Err(bad("a `{` is never closed")),
                        }
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(match name.as_str() {
                        "" => Part::Whole,
                        "#" => Part::Index,
                        _ => Part::Field(name),
                    });
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Template {
    /// The template as written (it enters the work digest as is).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True if the template puts in the whole job (`{}`).
    pub fn uses_whole(&self) -> bool {
        self.parts.contains(&Part::Whole)
    }

    /// The record fields the template names, in order of appearance.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The first field the template names that `record` lacks, if any.
    pub fn missing_field<'t>(&'t self, record: &Record<'_>) -> Option<&'t str> {
        self.fields().find(|name| match record {
            Record::Json(Value::Object(map)) => !map.contains_key(*name),
            _ => true,
        })
    }

    /// The shell command for job `index` whose record is `record`.
    ///
    /// # Errors
    /// If the template names a field the record lacks, or a value holds a NUL byte, which no
    /// shell command can carry.
    pub fn render(&self, index: u64, record: &Record<'_>) -> Result<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Index => out.push_str(&index.to_string()),
                Part::Whole => out.push_str(&quote(&whole(record))?),
                Part::Field(name) => {
                    let value = match record {
                        Record::Json(Value::Object(map)) => map.get(name),
                        _ => None,
                    }
                    .ok_or_else(|| {
                        let name = crate::text::escape(name);
                        Error::usage(format!(
                            "job {index}: the command template names `{{{name}}}` but the record has no field `{name}`"
                        ))
                    })?;
                    out.push_str(&quote(&scalar(value))?);
                }
            }
        }
        Ok(out)
    }
}

fn whole<'a>(record: &'a Record<'_>) -> Cow<'a, str> {
    match record {
        Record::Line(s) => Cow::Borrowed(s),
        Record::Json(v) => Cow::Owned(String::from_utf8(to_canonical(v)).expect("JSON is UTF-8")),
    }
}

fn scalar(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(String::from_utf8(to_canonical(other)).expect("JSON is UTF-8")),
    }
}

fn quote(s: &str) -> Result<Cow<'_, str>> {
    shlex::try_quote(s).map_err(|_| {
        Error::usage("a job value holds a NUL byte, which a shell command cannot carry")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_placeholders_quoted() {
        let t: Template = "echo {} {#} {{x}}".parse().unwrap();
        assert_eq!(
            t.render(3, &Record::Line("it's here")).unwrap(),
            r#"echo "it's here" 3 {x}"#
        );
        let t: Template = "run --a {a} --n {n}".parse().unwrap();
        let r = Record::Json(json!({"a": "x y", "n": 5}));
        assert_eq!(t.render(0, &r).unwrap(), "run --a 'x y' --n 5");
        assert_eq!(t.fields().collect::<Vec<_>>(), vec!["a", "n"]);
    }

    #[test]
    fn missing_field_is_named() {
        let t: Template = "run {a} {b}".parse().unwrap();
        let r = Record::Json(json!({"a": 1}));
        assert_eq!(t.missing_field(&r), Some("b"));
        assert!(t
            .render(7, &r)
            .unwrap_err()
            .to_string()
            .contains("no field `b`"));
    }

    #[test]
    fn messages_are_one_line_whatever_the_names_hold() {
        let t: Template = "run {\n}".parse().unwrap();
        let e = t
            .render(0, &Record::Json(json!({})))
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\n') && e.contains("`{\\n}`"), "{e}");
        let e = "a\n{".parse::<Template>().unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn malformed_templates_are_errors() {
        for bad in ["echo {", "echo }", "echo {a{b}}", "echo \0"] {
            assert!(bad.parse::<Template>().is_err(), "{bad}");
        }
    }
}
