//! Words written into sbatch scripts, checked and quoted: a value that would break an
//! `#SBATCH` line or a bash command is refused with the option it came from.

use std::path::Path;

use crate::{Error, Result};

/// Characters an `#SBATCH` value cannot hold safely (sbatch splits on spaces; `%` is a
/// file-name pattern).
fn unsafe_in_sbatch(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '%' | '#')
}

/// A one-word `#SBATCH` value such as a job name, a partition or a time.
pub(super) fn word(option: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'))
    {
        return Err(Error::usage(format!(
            "{option} {value:?}: must be one word without spaces or quotes"
        )));
    }
    Ok(())
}

/// A directory as written in an `#SBATCH` line.
pub(super) fn sbatch_path<'p>(option: &str, path: &'p Path) -> Result<&'p str> {
    let text = utf8(option, path)?;
    if text.is_empty() || text.chars().any(unsafe_in_sbatch) {
        return Err(Error::usage(format!(
            "{option} {text:?}: a directory named in an #SBATCH line cannot be empty or contain \
             spaces, quotes, %, # or backslashes; choose another directory"
        )));
    }
    Ok(text)
}

/// An extra `#SBATCH` option: `--mem=8G` or `#SBATCH --mem=8G`.
pub(super) fn extra_line(line: &str) -> Result<String> {
    let option = line
        .trim()
        .strip_prefix("#SBATCH")
        .unwrap_or(line.trim())
        .trim();
    if !option.starts_with('-') || option.contains(['\n', '\r']) {
        return Err(Error::usage(format!(
            "extra #SBATCH line {line:?}: expected one sbatch option such as --mem=8G"
        )));
    }
    Ok(option.to_owned())
}

pub(super) fn utf8<'p>(option: &str, path: &'p Path) -> Result<&'p str> {
    path.to_str().ok_or_else(|| {
        Error::usage(format!(
            "{option} {}: the path is not valid UTF-8",
            path.display()
        ))
    })
}

pub(super) fn quote_path(option: &str, path: &Path) -> Result<String> {
    quote(option, utf8(option, path)?)
}

/// `value` quoted for bash.
pub(super) fn quote(option: &str, value: &str) -> Result<String> {
    shlex::try_quote(value)
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| Error::usage(format!("{option} {value:?}: contains a NUL byte")))
}
