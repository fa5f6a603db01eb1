//! The user's secret pattern: an ordered list of cells.

use core::fmt;

/// A user's secret: ordered cells (row-major indexes from 0); cells may repeat.
///
/// `Debug` prints only the length (`Pattern([redacted; 6 cells])`) and the type has no
/// `PartialEq`, so a pattern cannot leak through logs or be compared in variable time by
/// accident. Serialized (serde) as a plain list of cell numbers; store it only sealed
/// (see [`crate::seal`]).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Pattern(Vec<u16>);

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern([redacted; {} cells])", self.0.len())
    }
}

/// Why [`Pattern::parse_csv`] refused its input. Carries positions, never cell values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternParseError {
    /// The input holds no cell at all (empty or only whitespace).
    #[error("the pattern is empty")]
    Empty,
    /// An item of the list is not a cell number (not decimal digits, empty, or above 65535).
    #[error("item {position} of the pattern is not a cell number")]
    BadItem {
        /// 0-based index of the offending comma-separated item.
        position: usize,
    },
}

impl Pattern {
    /// Wraps a list of cells. No check here: see [`PatternRules::check`](super::PatternRules::check).
    pub fn new(cells: Vec<u16>) -> Pattern {
        Pattern(cells)
    }

    /// The cells, in the order they are read.
    pub fn cells(&self) -> &[u16] {
        &self.0
    }

    /// Number of steps (cells, counting repeats).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the pattern has no cell.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses a comma-separated list of cell numbers such as `"0,5,10"` or `" 0 , 5 ,10 "`.
    ///
    /// Whitespace around each number is allowed; each item must be plain decimal digits (no
    /// sign) fitting in `u16`. Empty input, empty items (`"1,,2"`, trailing comma) and anything
    /// else are rejected.
    pub fn parse_csv(s: &str) -> Result<Pattern, PatternParseError> {
        if s.trim().is_empty() {
            return Err(PatternParseError::Empty);
        }
        let mut cells = Vec::new();
        for (position, item) in s.split(',').enumerate() {
            let item = item.trim();
            if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PatternParseError::BadItem { position });
            }
            let cell = item
                .parse::<u16>()
                .map_err(|_| PatternParseError::BadItem { position })?;
            cells.push(cell);
        }
        Ok(Pattern(cells))
    }

    /// The comma-separated form read by [`Pattern::parse_csv`], without spaces: `"0,5,10"`.
    pub fn to_csv(&self) -> String {
        let mut out = String::with_capacity(self.0.len() * 3);
        for (i, cell) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&cell.to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip() {
        let p = Pattern::parse_csv("0,5,10").unwrap();
        assert_eq!(p.cells(), &[0, 5, 10]);
        assert_eq!(p.to_csv(), "0,5,10");
        assert_eq!(p.len(), 3);
        assert!(!p.is_empty());
        let p = Pattern::parse_csv("  7 , 7,\t47 ,65535").unwrap();
        assert_eq!(p.cells(), &[7, 7, 47, 65535]);
        assert_eq!(Pattern::parse_csv(&p.to_csv()).unwrap().cells(), p.cells());
        assert_eq!(Pattern::parse_csv("3").unwrap().cells(), &[3]);
        assert!(Pattern::new(vec![]).is_empty());
        assert_eq!(Pattern::new(vec![]).to_csv(), "");
    }

    #[test]
    fn csv_rejections() {
        assert_eq!(Pattern::parse_csv("").err(), Some(PatternParseError::Empty));
        assert_eq!(
            Pattern::parse_csv("   ").err(),
            Some(PatternParseError::Empty)
        );
        let bad = [
            ("1,,2", 1),
            ("1,2,", 2),
            (",1", 0),
            ("a", 0),
            ("1,x", 1),
            ("1;2", 0),
            ("1 2", 0),
            ("-1", 0),
            ("+1", 0),
            ("1.5", 0),
            ("65536", 0),
            ("0,99999999999999999999", 1),
            ("１", 0),
        ];
        for (input, position) in bad {
            assert_eq!(
                Pattern::parse_csv(input).err(),
                Some(PatternParseError::BadItem { position }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn debug_is_redacted() {
        let p = Pattern::new(vec![12, 34, 45]);
        let s = format!("{p:?}");
        assert_eq!(s, "Pattern([redacted; 3 cells])");
        assert!(!s.contains("12") && !s.contains("34"));
    }
}
