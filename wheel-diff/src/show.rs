//! How names, values, lines, bytes, timestamps and modes are shown.

use std::fmt;

use zip::DateTime;

use crate::limits::VALUE_SHOWN;

/// A member or path name, shown as is when plain, else quoted and escaped.
pub(crate) struct Name<'a>(pub(crate) &'a str);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = !self.0.is_empty()
            && !self.0.chars().any(|c| c.is_control() || c.is_whitespace() || c == '`' || c == '"');
        if plain { f.write_str(self.0) } else { write!(f, "{:?}", self.0) }
    }
}

/// A value from a file, shown as is when plain.
pub(crate) struct Plain<'a>(pub(crate) &'a str);

impl fmt::Display for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("(empty)") } else { Name(self.0).fmt(f) }
    }
}

/// A header value: quoted, escaped, at most [`VALUE_SHOWN`] characters.
pub(crate) struct Value<'a>(pub(crate) &'a str);

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(VALUE_SHOWN) {
            Some((at, _)) => write!(f, "{:?}…", &self.0[..at]),
            None => write!(f, "{:?}", self.0),
        }
    }
}

/// A differing line: quoted and escaped, or `(end of file)`.
pub(crate) struct Shown<'a>(pub(crate) Option<&'a str>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, "{line:?}"),
            None => f.write_str("(end of file)"),
        }
    }
}

/// A byte in hex, or `end of file`.
pub(crate) struct Byte(pub(crate) Option<u8>);

impl fmt::Display for Byte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(byte) => write!(f, "0x{byte:02x}"),
            None => f.write_str("end of file"),
        }
    }
}

/// A zip timestamp, or `none` when the field holds no valid date.
pub(crate) struct Time(pub(crate) Option<DateTime>);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(time) => time.fmt(f),
            None => f.write_str("none"),
        }
    }
}

/// External attributes: the Unix mode in octal when the upper 16 bits hold
/// one, else the attributes in hex.
pub(crate) struct Mode(pub(crate) u32);

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 >> 16 {
            0 => write!(f, "attributes 0x{:08x}", self.0),
            mode => write!(f, "{mode:06o}"),
        }
    }
}
