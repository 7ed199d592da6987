//! Quoting for the remote shell: every word jobsplit puts on an ssh command line goes through
//! [`quote`], so that no machine name, path or value can run a command on a host.

/// `word` as one POSIX `sh` word: in single quotes, each `'` written as `'\''`. Nothing inside
/// single quotes is special to `sh` (no `$`, backquote, `\`, `;`, glob or line break).
pub(crate) fn quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// The words quoted and joined by spaces: a command line for `sh`.
pub(crate) fn join<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `sh` makes of a quoted word: the word itself, byte for byte.
    fn through_sh(word: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote(word)))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn hostile_words_reach_the_command_unchanged() {
        for word in [
            "plain",
            "with space",
            "it's",
            "'",
            "''",
            "$(touch /tmp/jobsplit-quote-pwned)",
            "`id`",
            "a; rm -rf /tmp/x",
            "a\nb",
            "*",
            "~/x",
            "\\'\"",
            "",
        ] {
            assert_eq!(through_sh(word), word);
        }
        assert!(!std::path::Path::new("/tmp/jobsplit-quote-pwned").exists());
    }

    #[test]
    fn join_keeps_words_apart() {
        assert_eq!(join(&["a b", "c"]), "'a b' 'c'");
    }
}
