//! Text from files and flags made safe to print on a terminal.
//!
//! Machine names, job values, digests and paths come from files anyone may have written: printed
//! raw, an escape sequence in them could rewrite the screen, hide a line or fake a prompt, and a
//! line break would split one message into two. Everything the binary prints that came from an
//! input goes through [`escape`] (results.csv keeps values verbatim: it is data, not display).

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character (Unicode Cc: C0, DEL, C1) and every bidirectional
/// override or isolate written as a Rust escape (`\n`, `\t`, `\u{1b}`, `\u{202e}`), so that it
/// prints as one line of visible characters. Text with none is returned as is.
///
/// # Examples
///
/// ```ignore
/// assert_eq!(escape("ws1"), "ws1");
/// assert_eq!(escape("\x1b[31mred\n"), "\\u{1b}[31mred\\n");
/// ```
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The widest a table's name column is padded to: a longer name overflows its column (and a
/// padding width above 65535 would make `format!` panic).
pub(crate) const MAX_COLUMN: usize = 64;

/// The first 8 characters of a digest, for display. A digest read from a file may hold
/// anything: this never cuts a character in two (byte slicing `&d[..8]` would panic).
pub(crate) fn short(digest: &str) -> &str {
    match digest.char_indices().nth(8) {
        Some((at, _)) => &digest[..at],
        None => digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape("ws1 é 名前"), Cow::Borrowed("ws1 é 名前")));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("\x1b[2Jx"), "\\u{1b}[2Jx");
        assert_eq!(escape("a\nb\r\t\0"), "a\\nb\\r\\t\\u{0}");
        assert_eq!(escape("\u{9b}31m\u{7f}"), "\\u{9b}31m\\u{7f}");
        assert_eq!(escape("evil\u{202e}txt"), "evil\\u{202e}txt");
    }

    #[test]
    fn short_never_splits_a_character() {
        assert_eq!(short("5ef0f4ef550fbf23"), "5ef0f4ef");
        assert_eq!(short("abc"), "abc");
        assert_eq!(short(&"é".repeat(32)), "é".repeat(8));
        assert_eq!(short("abcdefgé"), "abcdefgé");
        assert_eq!(short(""), "");
    }
}
