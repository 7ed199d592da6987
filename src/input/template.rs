//! Command templates: `{}` is the whole job, `{name}` a field of a record, `{#}` the job index
//! (from 0), `{%}` the slot running the job (1 to the thread count, as in GNU parallel), and on
//! a lines job list GNU parallel's path parts of the line: `{.}` without its extension, `{/}`
//! its basename, `{//}` its directory, `{/.}` its basename without extension. `{{` and `}}` are
//! literal braces. Substituted values are shell-quoted.
//!
//! The template enters the work digest as written, so a new placeholder changes no digest; what
//! `{%}` renders to depends on the run (which slot is free), like the time a job starts.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::canonical::to_canonical;
use super::format::Record;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Whole,
    Index,
    Slot,
    Path(PathPart),
    Field(String),
}

/// A part of a line read as a path, as GNU parallel's replacement strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathPart {
    /// `{.}`: the line without its extension.
    NoExtension,
    /// `{/}`: the basename.
    Basename,
    /// `{//}`: the directory.
    Dirname,
    /// `{/.}`: the basename without its extension.
    BasenameNoExtension,
}

impl PathPart {
    fn placeholder(self) -> &'static str {
        match self {
            PathPart::NoExtension => "{.}",
            PathPart::Basename => "{/}",
            PathPart::Dirname => "{//}",
            PathPart::BasenameNoExtension => "{/.}",
        }
    }

    fn of(self, line: &str) -> Cow<'_, str> {
        match self {
            PathPart::NoExtension => Cow::Borrowed(no_extension(line)),
            PathPart::Basename => Cow::Borrowed(basename(line)),
            PathPart::Dirname => Cow::Owned(dirname(line)),
            PathPart::BasenameNoExtension => Cow::Borrowed(no_extension(basename(line))),
        }
    }
}

/// GNU parallel's `s:\.[^/.]*$::`: the last `.` and what follows, unless a `/` follows.
fn no_extension(s: &str) -> &str {
    match s.rfind('.') {
        Some(p) if !s[p..].contains('/') => &s[..p],
        _ => s,
    }
}

/// GNU parallel's `s:^.*/::`.
fn basename(s: &str) -> &str {
    s.rfind('/').map_or(s, |p| &s[p + 1..])
}

/// Perl's `File::Basename::dirname` on Unix, which GNU parallel's `{//}` calls.
fn dirname(s: &str) -> String {
    fn fileparse(s: &str) -> (&str, &str) {
        s.rfind('/').map_or(("./", s), |p| (&s[..=p], &s[p + 1..]))
    }
    // `s{(.)/*\z}{$1}s`: trailing slashes go, the first character stays.
    fn strip(d: &str) -> &str {
        match d.trim_end_matches('/') {
            "" => &d[..d.len().min(1)],
            t => t,
        }
    }
    let (dir, base) = fileparse(s);
    let dir = strip(dir);
    if base.is_empty() {
        strip(fileparse(dir).0).to_owned()
    } else {
        dir.to_owned()
    }
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
            Error::template(
                None,
                None,
                format!(
                    "command template `{}`: {what} (write `{{{{` or `}}}}` for a literal brace)",
                    crate::text::escape(source)
                ),
            )
        };
        if source.contains('\0') {
            return Err(Error::template(None, None, format!(
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
                        "%" => Part::Slot,
                        "." => Part::Path(PathPart::NoExtension),
                        "/" => Part::Path(PathPart::Basename),
                        "//" => Part::Path(PathPart::Dirname),
                        "/." => Part::Path(PathPart::BasenameNoExtension),
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

    /// True if the template puts in the whole job (`{}`) or a path part of it (`{.}`...).
    pub(crate) fn uses_whole(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Whole | Part::Path(_)))
    }

    /// The first path placeholder (`{.}`, `{/}`, `{//}`, `{/.}`) the template uses, if any:
    /// they apply to lines, not records.
    pub(crate) fn path_placeholder(&self) -> Option<&'static str> {
        self.parts.iter().find_map(|p| match p {
            Part::Path(part) => Some(part.placeholder()),
            _ => None,
        })
    }

    /// The record fields the template names, in order of appearance.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
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

    /// The shell command for job `index` whose record is `record`, run in slot 1.
    ///
    /// # Errors
    /// If the template names a field the record lacks, or a value holds a NUL byte, which no
    /// shell command can carry.
    pub fn render(&self, index: u64, record: &Record<'_>) -> Result<String> {
        self.render_in_slot(index, 1, record)
    }

    /// The shell command for job `index` whose record is `record`, run in `slot` (1-based).
    ///
    /// # Errors
    /// As [`Template::render`]; a path placeholder on a record is an error too.
    pub(crate) fn render_in_slot(
        &self,
        index: u64,
        slot: u64,
        record: &Record<'_>,
    ) -> Result<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Index => out.push_str(&index.to_string()),
                Part::Slot => out.push_str(&slot.to_string()),
                Part::Whole => out.push_str(&quote(&whole(record))?),
                Part::Path(part) => match record {
                    Record::Line(line) => out.push_str(&quote(&part.of(line))?),
                    Record::Json(_) => {
                        return Err(Error::template(None, None, format!(
                            "job {index}: `{}` is a part of a line read as a path: it needs a lines job list",
                            part.placeholder()
                        )))
                    }
                },
                Part::Field(name) => {
                    let value = match record {
                        Record::Json(Value::Object(map)) => map.get(name),
                        _ => None,
                    }
                    .ok_or_else(|| {
                        let name = crate::text::escape(name);
                        Error::template(None, None, format!(
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
        Error::template(
            None,
            None,
            "a job value holds a NUL byte, which a shell command cannot carry",
        )
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
    fn slot_and_path_parts_as_gnu_parallel() {
        let t: Template = "echo {#} {%} {.} {/} {//} {/.}".parse().unwrap();
        assert!(t.uses_whole());
        assert_eq!(t.fields().count(), 0);
        // Expected lines from `parallel --dry-run echo {#} {%} {.} {/} {//} {/.}` (20221122),
        // with our `{#}` from 0 and slot 3.
        let cases = [
            ("a/b/c.txt", "echo 0 3 a/b/c c.txt a/b c"),
            ("c.txt", "echo 0 3 c c.txt . c"),
            ("a/b.tar.gz", "echo 0 3 a/b.tar b.tar.gz a b.tar"),
            ("/x/y", "echo 0 3 /x/y y /x y"),
            (".hidden", "echo 0 3 '' .hidden . ''"),
            ("a/.hidden", "echo 0 3 a/ .hidden a ''"),
            ("a/b/", "echo 0 3 a/b/ '' a ''"),
            (
                "sp ace/x y.z",
                "echo 0 3 'sp ace/x y' 'x y.z' 'sp ace' 'x y'",
            ),
            ("dir.d/file", "echo 0 3 dir.d/file file dir.d file"),
            ("/", "echo 0 3 / '' / ''"),
            ("", "echo 0 3 '' '' . ''"),
            ("./f.c", "echo 0 3 ./f f.c . f"),
            ("a//b", "echo 0 3 a//b b a b"),
        ];
        for (line, want) in cases {
            assert_eq!(
                t.render_in_slot(0, 3, &Record::Line(line)).unwrap(),
                want,
                "{line:?}"
            );
        }
        let e = t
            .render(0, &Record::Json(json!({})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`{.}`") && e.contains("lines job list"), "{e}");
    }

    #[test]
    fn missing_field_is_named() {
        let t: Template = "run {a} {b}".parse().unwrap();
        let r = Record::Json(json!({"a": 1}));
        assert_eq!(t.missing_field(&r), Some("b"));
        let e = t.render(7, &r).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Template);
        assert!(e.to_string().contains("no field `b`"));
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
