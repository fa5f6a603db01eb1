//! The stored secret ([`MatrixSecret`]: pattern plus optional additional phrase), the expected
//! answer for a grid, and answer normalisation.

use core::fmt;

use super::grid::Grid;
use super::pattern::Pattern;
use super::rules::{check_in_range, PatternRejection};

/// Where the user's additional phrase goes relative to the grid digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PhrasePosition {
    /// Phrase first, then the digits (the default).
    #[default]
    Before,
    /// Digits first, then the phrase.
    After,
    /// After the k-th digit (`Inside(0)` is the same as `Before`; `k` past the last digit is
    /// clamped to the digit count, i.e. the same as `After`).
    Inside(usize),
}

/// What the server stores sealed for each user: the pattern and the optional phrase.
///
/// `Debug` is redacted. Persist it with [`MatrixSecret::to_bytes`] inside a sealed blob
/// ([`crate::seal::seal`]), never in plain text.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct MatrixSecret {
    /// The cells the user reads, in order.
    pub pattern: Pattern,
    /// The additional phrase (letters and symbols), if the policy uses one.
    pub phrase: Option<String>,
}

impl fmt::Debug for MatrixSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatrixSecret")
            .field("pattern", &self.pattern)
            .field("phrase", &self.phrase.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// Prints `[redacted]` in place of a secret value.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why [`MatrixSecret::from_bytes`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    /// The input ends before the structure does.
    #[error("matrix secret is truncated")]
    Truncated,
    /// The first byte names a format version this code does not know.
    #[error("unknown matrix secret format version {0}")]
    UnknownVersion(u8),
    /// The phrase flag is neither 0 nor 1.
    #[error("matrix secret has an invalid phrase flag")]
    BadFlag,
    /// The phrase is not UTF-8.
    #[error("matrix secret phrase is not UTF-8")]
    BadUtf8,
    /// Bytes follow the end of the structure.
    #[error("matrix secret has trailing bytes")]
    TrailingBytes,
}

/// Current version byte of the [`MatrixSecret`] byte format.
const SECRET_FORMAT_V1: u8 = 1;

impl MatrixSecret {
    /// Compact binary form, version 1:
    ///
    /// ```text
    /// 0x01 | cell count (u32 BE) | cells (u16 BE each) | 0x00                      (no phrase)
    /// 0x01 | cell count (u32 BE) | cells (u16 BE each) | 0x01 | len (u32 BE) | UTF-8 phrase
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let cells = self.pattern.cells();
        let phrase_len = self.phrase.as_ref().map_or(0, |p| 4 + p.len());
        let mut out = Vec::with_capacity(1 + 4 + 2 * cells.len() + 1 + phrase_len);
        out.push(SECRET_FORMAT_V1);
        out.extend_from_slice(&len_u32(cells.len()).to_be_bytes());
        for cell in cells {
            out.extend_from_slice(&cell.to_be_bytes());
        }
        match &self.phrase {
            None => out.push(0),
            Some(phrase) => {
                out.push(1);
                out.extend_from_slice(&len_u32(phrase.len()).to_be_bytes());
                out.extend_from_slice(phrase.as_bytes());
            }
        }
        out
    }

    /// Parses the form written by [`MatrixSecret::to_bytes`]; any deviation is an error.
    pub fn from_bytes(b: &[u8]) -> Result<MatrixSecret, SecretFormatError> {
        let mut r = Reader(b);
        let version = r.take(1)?[0];
        if version != SECRET_FORMAT_V1 {
            return Err(SecretFormatError::UnknownVersion(version));
        }
        let count = r.u32()? as usize;
        // Check the length before allocating, so a forged count cannot exhaust memory.
        let raw = r.take(count.checked_mul(2).ok_or(SecretFormatError::Truncated)?)?;
        let cells = raw
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let phrase = match r.take(1)?[0] {
            0 => None,
            1 => {
                let len = r.u32()? as usize;
                let bytes = r.take(len)?;
                Some(String::from_utf8(bytes.to_vec()).map_err(|_| SecretFormatError::BadUtf8)?)
            }
            _ => return Err(SecretFormatError::BadFlag),
        };
        if !r.0.is_empty() {
            return Err(SecretFormatError::TrailingBytes);
        }
        Ok(MatrixSecret {
            pattern: Pattern::new(cells),
            phrase,
        })
    }
}

/// Lengths above `u32::MAX` cannot occur for a pattern or phrase of sane size; saturate rather
/// than panic (the result then fails to parse instead of parsing wrongly).
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SecretFormatError> {
        if self.0.len() < n {
            return Err(SecretFormatError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, SecretFormatError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The answer the user must type for `grid`: the digits in the pattern's cells, in order, with
/// the phrase (if any) placed as `position` says.
///
/// Returns [`PatternRejection::CellOutOfRange`] when a pattern cell is not in the grid (e.g.
/// the policy shrank the grid after the user chose the pattern).
pub fn expected_answer(
    grid: &Grid,
    secret: &MatrixSecret,
    position: PhrasePosition,
) -> Result<String, PatternRejection> {
    check_in_range(grid.spec(), &secret.pattern)?;
    let mut digits = String::with_capacity(secret.pattern.len());
    for &cell in secret.pattern.cells() {
        let digit = grid.digit(cell).ok_or(PatternRejection::CellOutOfRange {
            cell,
            cells: grid.digits().len(),
        })?;
        digits.push(char::from(b'0' + digit % 10));
    }
    let Some(phrase) = secret.phrase.as_deref() else {
        return Ok(digits);
    };
    // `digits` is ASCII, so any index up to its length is a char boundary.
    let split = match position {
        PhrasePosition::Before => 0,
        PhrasePosition::After => digits.len(),
        PhrasePosition::Inside(k) => k.min(digits.len()),
    };
    let mut out = String::with_capacity(digits.len() + phrase.len());
    out.push_str(&digits[..split]);
    out.push_str(phrase);
    out.push_str(&digits[split..]);
    Ok(out)
}

/// Normalises a typed answer before comparison: maps full-width ASCII (U+FF01..=U+FF5E, which
/// Japanese IMEs produce for digits and letters) to ASCII and the ideographic space U+3000 to
/// a space, then trims outer whitespace. Inner spaces are kept, since phrases may contain them.
pub fn normalize_answer(answer: &str) -> String {
    answer
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factor::matrix::GridSpec;

    fn grid() -> Grid {
        let digits: Vec<u8> = (0..48).map(|i| (i * 7 % 10) as u8).collect();
        Grid::from_digits(GridSpec::default(), digits).unwrap()
    }

    fn secret(cells: &[u16], phrase: Option<&str>) -> MatrixSecret {
        MatrixSecret {
            pattern: Pattern::new(cells.to_vec()),
            phrase: phrase.map(str::to_owned),
        }
    }

    #[test]
    fn phrase_placements() {
        let g = grid();
        // cells 0..6 -> 0 7 4 1 8 5
        let s = secret(&[0, 1, 2, 3, 4, 5], Some("ab#"));
        let at = |p| expected_answer(&g, &s, p).unwrap();
        assert_eq!(at(PhrasePosition::Before), "ab#074185");
        assert_eq!(at(PhrasePosition::After), "074185ab#");
        assert_eq!(at(PhrasePosition::Inside(0)), "ab#074185");
        assert_eq!(at(PhrasePosition::Inside(3)), "074ab#185");
        assert_eq!(at(PhrasePosition::Inside(6)), "074185ab#");
        assert_eq!(at(PhrasePosition::Inside(99)), "074185ab#");
        assert_eq!(at(PhrasePosition::default()), "ab#074185");
        let none = secret(&[0, 1, 2, 3, 4, 5], None);
        assert_eq!(
            expected_answer(&g, &none, PhrasePosition::Inside(3)).unwrap(),
            "074185"
        );
        // Repeated cells read the same digit again.
        let rep = secret(&[1, 1, 47], None);
        assert_eq!(
            expected_answer(&g, &rep, PhrasePosition::After).unwrap(),
            "779"
        );
    }

    #[test]
    fn out_of_range_pattern() {
        let g = grid();
        assert_eq!(
            expected_answer(&g, &secret(&[0, 48], None), PhrasePosition::Before),
            Err(PatternRejection::CellOutOfRange {
                cell: 48,
                cells: 48
            })
        );
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize_answer("  074185 \t"), "074185");
        assert_eq!(normalize_answer("０７４１８５"), "074185");
        assert_eq!(normalize_answer("\u{3000}ａｂ＃０７４\u{3000}"), "ab#074");
        assert_eq!(normalize_answer("my phrase 12"), "my phrase 12");
        assert_eq!(normalize_answer("ｍｙ\u{3000}ｐｈｒａｓｅ"), "my phrase");
        assert_eq!(normalize_answer("～！"), "~!");
        assert_eq!(normalize_answer("日本"), "日本");
        assert_eq!(normalize_answer(""), "");
    }

    #[test]
    fn secret_bytes_round_trip() {
        for s in [
            secret(&[0, 5, 10, 47, 65535], Some("pass phrase ✓")),
            secret(&[3, 3, 3], None),
            secret(&[], Some("")),
            secret(&[], None),
        ] {
            let b = s.to_bytes();
            let back = MatrixSecret::from_bytes(&b).unwrap();
            assert_eq!(back.pattern.cells(), s.pattern.cells());
            assert_eq!(back.phrase, s.phrase);
        }
        assert_eq!(
            secret(&[1, 258], Some("x")).to_bytes(),
            vec![1, 0, 0, 0, 2, 0, 1, 1, 2, 1, 0, 0, 0, 1, b'x']
        );
    }

    #[test]
    fn secret_bytes_rejections() {
        let good = secret(&[1, 2], Some("xy")).to_bytes();
        for n in 0..good.len() {
            assert_eq!(
                MatrixSecret::from_bytes(&good[..n]).err(),
                Some(SecretFormatError::Truncated),
                "{n}"
            );
        }
        let mut extra = good.clone();
        extra.push(0);
        assert_eq!(
            MatrixSecret::from_bytes(&extra).err(),
            Some(SecretFormatError::TrailingBytes)
        );
        let mut v = good.clone();
        v[0] = 2;
        assert_eq!(
            MatrixSecret::from_bytes(&v).err(),
            Some(SecretFormatError::UnknownVersion(2))
        );
        let mut f = good.clone();
        f[9] = 7;
        assert_eq!(
            MatrixSecret::from_bytes(&f).err(),
            Some(SecretFormatError::BadFlag)
        );
        let mut u = good.clone();
        u[14] = 0xff;
        assert_eq!(
            MatrixSecret::from_bytes(&u).err(),
            Some(SecretFormatError::BadUtf8)
        );
        // A huge count must not allocate or panic.
        assert_eq!(
            MatrixSecret::from_bytes(&[1, 0xff, 0xff, 0xff, 0xff, 0]).err(),
            Some(SecretFormatError::Truncated)
        );
    }

    #[test]
    fn debug_is_redacted() {
        let s = format!("{:?}", secret(&[12, 34], Some("hunter2")));
        assert!(!s.contains("hunter2") && !s.contains("34"), "{s}");
        assert!(s.contains("redacted"));
        let s = format!("{:?}", secret(&[12], None));
        assert!(s.contains("None"), "{s}");
    }

    #[test]
    fn secret_serde_json_shape() {
        let s = secret(&[1, 2], Some("p"));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"pattern":[1,2],"phrase":"p"}"#);
        let back: MatrixSecret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.pattern.cells(), &[1, 2]);
    }
}
