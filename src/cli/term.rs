//! Writing to the terminal without ever stopping for it: a closed pipe (`jobsplit run ... 2>&1 |
//! head -1`, an ssh session gone) loses the text, never the work. `print!` and `eprint!` panic
//! on a closed pipe; these macros drop the text instead.

/// Writes to standard output, ignoring errors (a closed pipe loses the text, nothing else).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// [`out!`] with a line end.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Writes a line to standard error, ignoring errors.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub(crate) use {errln, out, outln};
