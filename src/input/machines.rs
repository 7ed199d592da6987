//! The machines file: a JSON object of machine name -> `[weight, cores]` or
//! `{"weight": w, "cores": c, "hosts": [...], "ssh": "[user@]host", "dir": "path"}`, in file
//! order. `hosts`, `ssh` and `dir` say where the machine is, not what it runs: they are not part
//! of the plan.

use std::fmt;
use std::path::Path;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Number, Value};

use crate::error::{Error, Result};

/// The largest weight accepted; keeps the share arithmetic far from 128-bit overflow.
pub(crate) const MAX_WEIGHT: f64 = 1e6;
/// The largest core count accepted.
pub(crate) const MAX_CORES: u64 = 1 << 20;

/// One machine of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// Its name: the key in the machines file, and its output directory's name.
    pub name: String,
    /// The weight as written in the file (relative speed of one core).
    pub weight: Number,
    /// `floor(weight * 1e6 + 0.5)`, the integer the plan uses.
    pub weight_micro: u64,
    /// The number of cores (parallel job slots) it contributes.
    pub cores: u64,
    /// Host names that select this machine automatically (not part of the plan).
    pub hosts: Vec<String>,
    /// Where `jobsplit launch` reaches it: an ssh destination, `[user@]host` (not part of the
    /// plan).
    pub ssh: Option<String>,
    /// Its study directory there (absolute, or relative to the remote home; not part of the
    /// plan).
    pub dir: Option<String>,
}

impl Machine {
    /// A machine from a weight and a core count, checked as the machines file is.
    ///
    /// # Errors
    /// If the name, weight or cores are out of range.
    pub fn new(name: &str, weight: f64, cores: u64) -> Result<Machine> {
        let number = Number::from_f64(weight).ok_or_else(|| {
            Error::machines(
                None,
                None,
                format!("machine `{name}`: weight must be a finite number"),
            )
        })?;
        check_name(name).map_err(|m| Error::machines(None, None, m))?;
        build(name, &number, cores, Place::default()).map_err(|m| Error::machines(None, None, m))
    }

    /// The weight as a float.
    pub fn weight_f64(&self) -> f64 {
        self.weight.as_f64().unwrap_or(0.0)
    }

    /// weight_micro x cores, its claim on the jobs.
    pub fn capacity(&self) -> u128 {
        u128::from(self.weight_micro) * u128::from(self.cores)
    }

    /// True if `hostname` (or its first label) names this machine.
    pub(crate) fn matches_host(&self, hostname: &str) -> bool {
        let short = hostname.split('.').next().unwrap_or(hostname);
        self.hosts
            .iter()
            .chain(std::iter::once(&self.name))
            .any(|h| h == hostname || h == short)
    }
}

/// Reads the machines file at `path`.
///
/// # Errors
/// A missing file, bad JSON, a value that is not an object, an empty object, a duplicate name,
/// a weight that is not a finite number in (0, 1e6], a core count that is not an integer in
/// 1..=2^20, an unknown key: each names the file, the line and the machine.
pub fn load_machines(path: &Path) -> Result<Vec<Machine>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_machines(path, &text)
}

/// Parses machines file text; `path` names it in messages.
///
/// # Errors
/// As [`load_machines`].
pub fn parse_machines(path: &Path, text: &str) -> Result<Vec<Machine>> {
    let entries = Entries::parse(text).map_err(|e| {
        let line = (e.line() > 0).then_some(e.line() as u64);
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        Error::machines(
            Some(path),
            line,
            format!(
                "{message}: the machines file is a JSON object such as {{\"ws1\": {{\"weight\": 1, \"cores\": 8}}}}"
            ),
        )
    })?;
    if entries.0.is_empty() {
        return Err(Error::machines(
            Some(path),
            None,
            "no machines: add at least one, e.g. {\"ws1\": {\"weight\": 1, \"cores\": 8}}",
        ));
    }
    let mut machines: Vec<Machine> = Vec::with_capacity(entries.0.len());
    for (name, value) in entries.0 {
        let line = line_of_key(text, &name);
        let fail =
            |msg: String| Error::machines(Some(path), line, format!("machine `{name}`: {msg}"));
        if machines.iter().any(|m| m.name == name) {
            return Err(fail(
                "the name appears twice: give each machine its own name".into(),
            ));
        }
        check_name(&name).map_err(|m| Error::machines(Some(path), line, m))?;
        let (weight, cores, place) = fields(&value).map_err(fail)?;
        machines.push(
            build(&name, &weight, cores, place)
                .map_err(|m| Error::machines(Some(path), line, m))?,
        );
    }
    Ok(machines)
}

fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.chars().any(char::is_control)
    {
        return Err(format!(
            "machine name `{}` cannot be a directory name: use letters, digits, `-`, `_` or `.`",
            name.escape_default()
        ));
    }
    Ok(())
}

/// Where a machine is: not part of the plan.
#[derive(Debug, Default)]
struct Place {
    hosts: Vec<String>,
    ssh: Option<String>,
    dir: Option<String>,
}

/// The keys of a machine's object.
const KEYS: [&str; 5] = ["weight", "cores", "hosts", "ssh", "dir"];

fn fields(value: &Value) -> std::result::Result<(Number, u64, Place), String> {
    let shape = "write [weight, cores] or {\"weight\": w, \"cores\": c}";
    let empty = serde_json::Map::new();
    let (weight, cores, map) = match value {
        Value::Array(items) if items.len() == 2 => (&items[0], &items[1], &empty),
        Value::Array(items) => {
            return Err(format!("the list has {} items: {shape}", items.len()));
        }
        Value::Object(map) => {
            if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
                let hint = match key.to_ascii_lowercase().as_str() {
                    k if k.starts_with("w") || k == "speed" => " (did you mean `weight`?)",
                    k if k.starts_with("c") || k == "threads" || k == "cpus" => {
                        " (did you mean `cores`?)"
                    }
                    k if k.starts_with("h") => " (did you mean `hosts`?)",
                    k if k.starts_with("s") => " (did you mean `ssh`?)",
                    k if k.starts_with("d") => " (did you mean `dir`?)",
                    _ => "",
                };
                return Err(format!(
                    "unknown key `{key}`{hint}: the keys are weight, cores, hosts, ssh and dir"
                ));
            }
            let get = |k: &str| {
                map.get(k)
                    .ok_or_else(|| format!("`{k}` is missing: {shape}"))
            };
            (get("weight")?, get("cores")?, map)
        }
        _ => {
            return Err(format!(
                "the value is neither a list nor an object: {shape}"
            ))
        }
    };
    let Value::Number(weight) = weight else {
        return Err(format!("weight must be a number, not {weight}"));
    };
    let cores = match cores {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("cores must be a whole number of at least 1, not {n}"))?,
        other => return Err(format!("cores must be a whole number, not {other}")),
    };
    let hosts = match map.get("hosts") {
        None => Vec::new(),
        Some(Value::Array(hs)) => hs
            .iter()
            .map(|h| {
                h.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("hosts must be a list of strings, found {h}"))
            })
            .collect::<std::result::Result<_, _>>()?,
        Some(other) => return Err(format!("hosts must be a list of host names, not {other}")),
    };
    let text = |key: &str, what: &str| match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && !s.contains(['\0', '\n', '\r']) => {
            Ok(Some(s.clone()))
        }
        Some(other) => Err(format!("{key} must be {what}, not {other}")),
    };
    let ssh = text("ssh", "an ssh destination such as \"user@host\"")?;
    if ssh.as_deref().is_some_and(|s| s.starts_with('-')) {
        return Err("ssh must be a destination such as \"user@host\", not an option".to_owned());
    }
    let dir = text(
        "dir",
        "a directory on the host (absolute, or relative to its home)",
    )?;
    Ok((weight.clone(), cores, Place { hosts, ssh, dir }))
}

fn build(
    name: &str,
    weight: &Number,
    cores: u64,
    place: Place,
) -> std::result::Result<Machine, String> {
    let w = weight.as_f64().unwrap_or(f64::NAN);
    if !(w.is_finite() && w > 0.0 && w <= MAX_WEIGHT) {
        return Err(format!(
            "machine `{name}`: weight must be a number above 0 and at most {MAX_WEIGHT:e}, not {weight}"
        ));
    }
    let weight_micro = (w * 1e6 + 0.5).floor() as u64;
    if weight_micro < 1 {
        return Err(format!(
            "machine `{name}`: weight {weight} rounds to 0 millionths: use a weight of at least 0.0000005"
        ));
    }
    if !(1..=MAX_CORES).contains(&cores) {
        return Err(format!(
            "machine `{name}`: cores must be a whole number from 1 to {MAX_CORES}, not {cores}"
        ));
    }
    Ok(Machine {
        name: name.to_owned(),
        weight: weight.clone(),
        weight_micro,
        cores,
        hosts: place.hosts,
        ssh: place.ssh,
        dir: place.dir,
    })
}

/// The 1-based line where `"name"` first appears as a key, for messages.
fn line_of_key(text: &str, name: &str) -> Option<u64> {
    let quoted = serde_json::to_string(name).ok()?;
    let at = text
        .find(&format!("{quoted}:"))
        .or_else(|| text.find(&quoted))?;
    Some(text[..at].matches('\n').count() as u64 + 1)
}

/// The top-level object's entries in file order, duplicates kept (serde_json's map would fold
/// them silently).
struct Entries(Vec<(String, Value)>);

impl Entries {
    fn parse(text: &str) -> serde_json::Result<Entries> {
        let mut de = serde_json::Deserializer::from_str(text);
        let entries = (&mut de).deserialize_map(EntriesVisitor)?;
        de.end()?;
        Ok(entries)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of machine names")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Entries, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.push((k, v));
        }
        Ok(Entries(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Machine>> {
        parse_machines(Path::new("machines.json"), text)
    }

    fn err(text: &str) -> String {
        let e = parse(text).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Machines, "{e}");
        e.to_string()
    }

    #[test]
    fn both_forms_in_file_order() {
        let m = parse(r#"{"b": [2.5, 4], "a": {"weight": 1, "cores": 8, "hosts": ["a.lab"]}}"#)
            .unwrap();
        assert_eq!(m[0].name, "b");
        assert_eq!(m[0].weight_micro, 2_500_000);
        assert_eq!(m[1].cores, 8);
        assert_eq!(m[1].hosts, vec!["a.lab"]);
        assert!(m[1].matches_host("a.lab.example.org") || m[1].matches_host("a"));
        assert_eq!(m[0].weight.to_string(), "2.5");
        assert_eq!(m[1].weight.to_string(), "1");
    }

    #[test]
    fn rejects_bad_machines_with_the_line() {
        assert!(
            err("[1, 2]").starts_with("machines.json:1: invalid type"),
            "{}",
            err("[1,2]")
        );
        assert!(
            err("{\n\"a\": [0, 1]\n}").starts_with("machines.json:2: machine `a`: weight must be")
        );
        assert!(err(r#"{"a": [-1, 1]}"#).contains("weight must be"));
        assert!(err(r#"{"a": [1, 0]}"#).contains("cores must be a whole number from 1"));
        assert!(err(r#"{"a": [1, 2.5]}"#)
            .contains("cores must be a whole number of at least 1, not 2.5"));
        assert!(err("{\"a\": [1, 1],\n \"a\": [2, 2]}")
            .starts_with("machines.json:1: machine `a`: the name appears twice"));
        assert!(err(r#"{"a": [NaN, 1]}"#).starts_with("machines.json:1: "));
        assert!(err(r#"{"a": {"wieght": 1, "cores": 1}}"#).contains("did you mean `weight`?"));
        assert!(err("{}").contains("no machines"));
        assert!(err(r#"{"../x": [1, 1]}"#).contains("cannot be a directory name"));
        assert!(err(r#"{"a": [1e-9, 1]}"#).contains("rounds to 0"));
        assert!(
            err(r#"{"a": {"weight": 1, "cores": 1, "ssh": "-oProxyCommand=x"}}"#)
                .contains("not an option")
        );
        assert!(err(r#"{"a": {"weight": 1, "cores": 1, "ssh": 3}}"#).contains("ssh must be"));
        assert!(err(r#"{"a": {"weight": 1, "cores": 1, "sssh": "h"}}"#).contains("`ssh`?"));
    }

    #[test]
    fn where_a_machine_is_leaves_the_plan_alone() {
        let m =
            parse(r#"{"a": {"weight": 1, "cores": 2, "ssh": "me@h 1", "dir": "/s p"}}"#).unwrap();
        assert_eq!(m[0].ssh.as_deref(), Some("me@h 1"));
        assert_eq!(m[0].dir.as_deref(), Some("/s p"));
        let plain = parse(r#"{"a": [1, 2]}"#).unwrap();
        let digest = |m: &[Machine]| {
            crate::plan::plan_digest(&crate::plan::Digest([0; 32]), m, b"", &[]).hex()
        };
        assert_eq!(digest(&m), digest(&plain));
    }
}
