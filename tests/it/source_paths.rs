//! What a file of `src/` names: its code as tokens (comments, strings and characters left
//! out), every path it writes through `crate::`, `super::`, `self::` or a child module, in a
//! `use` (groups, aliases and `pub use` re-exports told apart) or in code, with the module it
//! is written in (inline `mod x { }` included) and what `#[cfg(test)]` leaves out. Read by
//! [`import_cycles`](super::import_cycles).

/// A token of code with comments and literals taken out: an identifier, `::`, or one character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Ident(String),
    Path,
    Punct(char),
}

/// The code of `text` as tokens with their line numbers: comments, strings and characters
/// left out (lifetimes kept as a `'` and their name).
pub(super) fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = text.chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    // Skips to just after `end` (a sequence), counting lines; `escapes` for `\"` in strings.
    let skip = |i: &mut usize, line: &mut usize, end: &[char], escapes: bool| {
        while *i < c.len() && !c[*i..].starts_with(end) {
            *line += usize::from(c[*i] == '\n');
            *i += if escapes && c[*i] == '\\' { 2 } else { 1 };
        }
        *i += end.len();
    };
    while i < c.len() {
        let at_word = i == 0 || !ident(c[i - 1]);
        let rest = &c[i..];
        if rest.starts_with(&['/', '/']) {
            skip(&mut i, &mut line, &['\n'], false);
            line += 1;
        } else if rest.starts_with(&['/', '*']) {
            i += 2;
            skip(&mut i, &mut line, &['*', '/'], false);
        } else if c[i] == '"' || (at_word && rest.starts_with(&['b', '"'])) {
            i += if c[i] == '"' { 1 } else { 2 };
            skip(&mut i, &mut line, &['"'], true);
        } else if at_word && (c[i] == 'r' || rest.starts_with(&['b', 'r'])) && {
            let from = i + if c[i] == 'r' { 1 } else { 2 };
            let hashes = c[from..].iter().take_while(|ch| **ch == '#').count();
            c.get(from + hashes) == Some(&'"')
        } {
            let from = i + if c[i] == 'r' { 1 } else { 2 };
            let hashes = c[from..].iter().take_while(|ch| **ch == '#').count();
            let end: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            i = from + hashes + 1;
            skip(&mut i, &mut line, &end, false);
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            i += 3;
            skip(&mut i, &mut line, &['\''], false);
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            i += 3;
        } else if ident(c[i]) {
            let start = i;
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if rest.starts_with(&[':', ':']) {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            line += usize::from(c[i] == '\n');
            if !c[i].is_whitespace() {
                out.push((Tok::Punct(c[i]), line));
            }
            i += 1;
        }
    }
    out
}

/// One path a file names: its segments as written (`super`, `wire`, `Entry`), the module it is
/// written in, its line, and whether it is re-exported (`pub use`) under `export`.
#[derive(Debug, Clone)]
pub(super) struct Named {
    pub(super) path: Vec<String>,
    pub(super) here: Vec<String>,
    pub(super) line: usize,
    pub(super) export: Option<String>,
}

fn is(t: Option<&(Tok, usize)>, want: &Tok) -> bool {
    t.is_some_and(|(t, _)| t == want)
}

fn ident_at(toks: &[(Tok, usize)], i: usize) -> Option<&str> {
    match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s),
        _ => None,
    }
}

/// The leaves of the use tree at `toks[*i..]` below `prefix`: each path with the name it
/// brings in (its last segment, `as` alias, or none for `*` and `self`).
fn use_tree(
    toks: &[(Tok, usize)],
    i: &mut usize,
    prefix: Vec<String>,
) -> Vec<(Vec<String>, usize, Option<String>)> {
    let mut path = prefix;
    let mut out = Vec::new();
    let line = toks.get(*i).map_or(0, |t| t.1);
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Path) => *i += 1,
            Some(Tok::Punct('{')) => {
                *i += 1;
                while !is(toks.get(*i), &Tok::Punct('}')) && *i < toks.len() {
                    out.extend(use_tree(toks, i, path.clone()));
                    if is(toks.get(*i), &Tok::Punct(',')) {
                        *i += 1;
                    }
                }
                *i += 1;
                return out;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push((path, line, None));
                return out;
            }
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                *i += 1;
                if is(toks.get(*i), &Tok::Path) {
                    continue;
                }
                let mut name = (s != "self").then(|| s.clone());
                if ident_at(toks, *i) == Some("as") {
                    name = ident_at(toks, *i + 1).map(str::to_owned);
                    *i += 2;
                }
                out.push((path, line, name));
                return out;
            }
            _ => return out,
        }
    }
}

/// True when the `use` at `toks[i]` is a `pub` or `pub(...)` one.
fn is_pub(toks: &[(Tok, usize)], i: usize) -> bool {
    let mut k = i;
    if k > 0 && is(toks.get(k - 1), &Tok::Punct(')')) {
        while k > 0 && !is(toks.get(k - 1), &Tok::Punct('(')) {
            k -= 1;
        }
        k = k.saturating_sub(1);
    }
    k > 0 && ident_at(toks, k - 1) == Some("pub")
}

/// Every path the file of module `module` names, with the module (inline `mod x { }` included)
/// each is written in. `children` says which first segments are child modules of a module.
pub(super) fn named(
    module: &[String],
    text: &str,
    is_module: &dyn Fn(&[String]) -> bool,
) -> (Vec<Named>, Vec<String>) {
    let toks = tokens(text);
    // Inline modules open here: name, depth of their brace, and whether `#[cfg(test)]`.
    let mut inline: Vec<(String, usize, bool)> = Vec::new();
    let (mut depth, mut out, mut tests, mut i) = (0usize, Vec::new(), Vec::new(), 0);
    while i < toks.len() {
        let in_test = inline.iter().any(|m| m.2);
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|m| m.0.clone()))
            .collect();
        let after_path =
            i > 0 && (is(toks.get(i - 1), &Tok::Path) || is(toks.get(i - 1), &Tok::Punct('.')));
        match &toks[i].0 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|m| m.1 == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(m) if m == "mod" => match (ident_at(&toks, i + 1), toks.get(i + 2)) {
                (Some(name), Some((Tok::Punct('{'), _))) => {
                    inline.push((name.to_owned(), depth + 1, cfg_test(&toks, i)));
                }
                (Some(name), _) if cfg_test(&toks, i) => tests.push(name.to_owned()),
                _ => {}
            },
            _ if in_test => {}
            Tok::Ident(u) if u == "use" && !after_path => {
                let export = is_pub(&toks, i);
                let mut j = i + 1;
                for (path, line, name) in use_tree(&toks, &mut j, Vec::new()) {
                    let export = if export { name.clone() } else { None };
                    out.push(Named {
                        path,
                        here: here.clone(),
                        line,
                        export,
                    });
                }
                i = j;
                continue;
            }
            Tok::Ident(first) if !after_path && is(toks.get(i + 1), &Tok::Path) => {
                let child = [here.as_slice(), std::slice::from_ref(first)].concat();
                if ["crate", "super", "self"].contains(&first.as_str()) || is_module(&child) {
                    let line = toks[i].1;
                    let mut path = vec![first.clone()];
                    while is(toks.get(i + 1), &Tok::Path) {
                        match ident_at(&toks, i + 2) {
                            Some(s) => path.push(s.to_owned()),
                            None => break,
                        }
                        i += 2;
                    }
                    out.push(Named {
                        path,
                        here,
                        line,
                        export: None,
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    (out, tests)
}

/// True when the `mod` at `toks[i]` follows `#[cfg(test)]`.
fn cfg_test(toks: &[(Tok, usize)], i: usize) -> bool {
    let want = ["#", "[", "cfg", "(", "test", ")", "]"];
    i >= want.len()
        && toks[i - want.len()..i]
            .iter()
            .zip(want)
            .all(|((t, _), w)| match t {
                Tok::Ident(s) => s == w,
                Tok::Punct(c) => w.len() == 1 && w.starts_with(*c),
                Tok::Path => false,
            })
}

/// `path` written in module `here` as a path from the crate's root; `None` for a path outside
/// the crate (`std::`, a dependency).
pub(super) fn absolute(
    path: &[String],
    here: &[String],
    is_module: &dyn Fn(&[String]) -> bool,
) -> Option<Vec<String>> {
    let first = path.first()?;
    let (mut abs, rest) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (here.to_vec(), &path[1..]),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            (here[..here.len().checked_sub(ups)?].to_vec(), &path[ups..])
        }
        _ if is_module(&[here, &path[..1]].concat()) => (here.to_vec(), path),
        _ => return None,
    };
    abs.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(abs)
}
