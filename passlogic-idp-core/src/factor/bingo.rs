//! The bingo display: the authenticator app hides the current TOTP code in a 5x5 grid.
//!
//! The user's *bingo pattern* is an ordered list of distinct cells (0..25, numbered row by row
//! from the top left), one per code digit. The app writes the code's digits into those cells in
//! order and fills every other cell with a uniformly random digit, so a stolen or watched phone
//! shows 25 digits without saying which ones matter. The user reads their cells (what [`read`]
//! does) and types the code, which the server checks as an ordinary TOTP code
//! ([`crate::factor::otp::totp_verify`]).
//!
//! The pattern is a secret: its `Debug` output is `[redacted]` and it has no `PartialEq`.
//!
//! ```
//! use passlogic_idp_core::factor::bingo::{self, BingoPattern};
//! # use rand::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let pattern = BingoPattern::parse_csv("0,6,12,18,24,20")?;
//! let grid = bingo::render("123456", &pattern, &mut rng)?;
//! assert_eq!(bingo::read(&grid, &pattern), "123456");
//! assert_eq!(bingo::text_rows(&grid).len(), 5);
//! # Ok::<(), bingo::BingoError>(())
//! ```

use core::fmt;

use rand::Rng;

/// Number of rows and of columns of the grid.
pub const SIDE: usize = 5;

/// Number of cells of the grid.
pub const CELLS: usize = SIDE * SIDE;

/// Fewest cells a pattern may have.
pub const MIN_LEN: usize = 4;

/// Most cells a pattern may have.
pub const MAX_LEN: usize = 8;

/// Why a pattern or a rendering request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BingoError {
    /// The pattern has fewer than [`MIN_LEN`] or more than [`MAX_LEN`] cells.
    #[error("a bingo pattern needs {MIN_LEN} to {MAX_LEN} cells, not {len}")]
    Length {
        /// The number of cells given.
        len: usize,
    },
    /// A cell number is not below 25.
    #[error("cell {cell} is outside the 5x5 grid (0..25)")]
    CellOutOfRange {
        /// The offending cell number.
        cell: u8,
    },
    /// A cell appears twice.
    #[error("cell {cell} appears more than once")]
    DuplicateCell {
        /// The repeated cell number.
        cell: u8,
    },
    /// A comma-separated pattern has an entry that is not a number.
    #[error("pattern entry {entry:?} is not a cell number")]
    NotANumber {
        /// The offending entry.
        entry: String,
    },
    /// The code to hide has a different number of digits than the pattern has cells.
    #[error("the code has {code_len} digits but the pattern has {pattern_len} cells")]
    CodeLength {
        /// Digits in the code.
        code_len: usize,
        /// Cells in the pattern.
        pattern_len: usize,
    },
    /// The code to hide contains something other than the digits 0-9.
    #[error("the code may contain only the digits 0-9")]
    CodeNotDigits,
}

/// A user's bingo pattern: distinct cells of the 5x5 grid in reading order.
#[derive(Clone)]
pub struct BingoPattern(Vec<u8>);

impl fmt::Debug for BingoPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BingoPattern([redacted])")
    }
}

impl BingoPattern {
    /// Checks and wraps a pattern: 4..=8 distinct cells, each below 25.
    pub fn new(cells: Vec<u8>) -> Result<Self, BingoError> {
        if !(MIN_LEN..=MAX_LEN).contains(&cells.len()) {
            return Err(BingoError::Length { len: cells.len() });
        }
        let mut seen = [false; CELLS];
        for &cell in &cells {
            let slot = seen
                .get_mut(usize::from(cell))
                .ok_or(BingoError::CellOutOfRange { cell })?;
            if *slot {
                return Err(BingoError::DuplicateCell { cell });
            }
            *slot = true;
        }
        Ok(Self(cells))
    }

    /// Parses a comma-separated list of cell numbers such as `"0,6,12,18,24,20"`.
    pub fn parse_csv(text: &str) -> Result<Self, BingoError> {
        let cells = text
            .split(',')
            .map(|entry| {
                entry
                    .trim()
                    .parse::<u8>()
                    .map_err(|_| BingoError::NotANumber {
                        entry: entry.trim().to_string(),
                    })
            })
            .collect::<Result<Vec<u8>, _>>()?;
        Self::new(cells)
    }

    /// Formats the pattern as a comma-separated list, the inverse of [`BingoPattern::parse_csv`].
    pub fn to_csv(&self) -> String {
        self.0
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The cells in reading order.
    pub fn cells(&self) -> &[u8] {
        &self.0
    }

    /// Number of cells (equal to the number of code digits it hides).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a valid pattern has at least [`MIN_LEN`] cells.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Hides `code` in a fresh grid: its digits at the pattern's cells in order, a uniformly random
/// digit (0-9) from `rng` in every other cell. Returns the 25 cell values row by row.
pub fn render(
    code: &str,
    pattern: &BingoPattern,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<[u8; CELLS], BingoError> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BingoError::CodeNotDigits);
    }
    if code.len() != pattern.len() {
        return Err(BingoError::CodeLength {
            code_len: code.len(),
            pattern_len: pattern.len(),
        });
    }
    let mut grid = [0u8; CELLS];
    for cell in grid.iter_mut() {
        *cell = rng.gen_range(0..10);
    }
    for (&cell, digit) in pattern.0.iter().zip(code.bytes()) {
        if let Some(slot) = grid.get_mut(usize::from(cell)) {
            *slot = digit - b'0';
        }
    }
    Ok(grid)
}

fn digit_char(value: u8) -> char {
    char::from_digit(u32::from(value), 10).unwrap_or('?')
}

/// Reads the digits at the pattern's cells in order: what the user does in their head.
/// A cell holding a value above 9 reads as `?`.
pub fn read(grid: &[u8; CELLS], pattern: &BingoPattern) -> String {
    pattern
        .0
        .iter()
        .map(|&cell| grid.get(usize::from(cell)).map_or('?', |&v| digit_char(v)))
        .collect()
}

/// The grid as five lines of five digits separated by spaces, e.g. `"3 0 7 1 9"`.
pub fn text_rows(grid: &[u8; CELLS]) -> Vec<String> {
    grid.chunks(SIDE)
        .map(|row| {
            row.iter()
                .map(|&v| digit_char(v).to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn pattern6() -> BingoPattern {
        BingoPattern::new(vec![0, 6, 12, 18, 24, 20]).expect("valid pattern")
    }

    #[test]
    fn read_of_render_is_the_code_for_many_seeds() {
        for seed in 0..500u64 {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let code = format!("{:06}", (seed * 7919) % 1_000_000);
            let grid = render(&code, &pattern6(), &mut rng).expect("render");
            assert!(grid.iter().all(|&v| v < 10));
            assert_eq!(read(&grid, &pattern6()), code, "seed {seed}");
        }
        let eight = BingoPattern::new(vec![24, 23, 22, 21, 20, 3, 2, 1]).expect("valid");
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let grid = render("01234567", &eight, &mut rng).expect("render");
        assert_eq!(read(&grid, &eight), "01234567");
    }

    #[test]
    fn other_cells_are_random_not_constant() {
        let pattern = pattern6();
        let mut counts = [[0u32; 10]; CELLS];
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let rounds = 2_000;
        for _ in 0..rounds {
            let grid = render("000000", &pattern, &mut rng).expect("render");
            for (cell, &v) in grid.iter().enumerate() {
                counts[cell][usize::from(v)] += 1;
            }
        }
        for (cell, histogram) in counts.iter().enumerate() {
            if pattern.cells().contains(&(cell as u8)) {
                assert_eq!(histogram[0], rounds, "pattern cell {cell}");
            } else {
                // Every digit shows up, none dominates (expected 200 each).
                for (digit, &n) in histogram.iter().enumerate() {
                    assert!((120..=280).contains(&n), "cell {cell} digit {digit}: {n}");
                }
            }
        }
    }

    #[test]
    fn length_mismatch_and_bad_code_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        assert_eq!(
            render("12345", &pattern6(), &mut rng),
            Err(BingoError::CodeLength {
                code_len: 5,
                pattern_len: 6
            })
        );
        assert_eq!(
            render("1234567", &pattern6(), &mut rng),
            Err(BingoError::CodeLength {
                code_len: 7,
                pattern_len: 6
            })
        );
        assert_eq!(
            render("12345a", &pattern6(), &mut rng),
            Err(BingoError::CodeNotDigits)
        );
    }

    #[test]
    fn pattern_validation() {
        assert_eq!(
            BingoPattern::new(vec![1, 2, 3]).err(),
            Some(BingoError::Length { len: 3 })
        );
        assert_eq!(
            BingoPattern::new((0..9).collect()).err(),
            Some(BingoError::Length { len: 9 })
        );
        assert_eq!(
            BingoPattern::new(vec![1, 2, 3, 25]).err(),
            Some(BingoError::CellOutOfRange { cell: 25 })
        );
        assert_eq!(
            BingoPattern::new(vec![1, 2, 3, 2]).err(),
            Some(BingoError::DuplicateCell { cell: 2 })
        );
        assert!(BingoPattern::new(vec![0, 1, 2, 24]).is_ok());
    }

    #[test]
    fn csv_round_trip() {
        let p = BingoPattern::parse_csv(" 4, 8 ,12,16,20,0 ").expect("parse");
        assert_eq!(p.cells(), &[4, 8, 12, 16, 20, 0]);
        assert_eq!(p.to_csv(), "4,8,12,16,20,0");
        let back = BingoPattern::parse_csv(&p.to_csv()).expect("parse");
        assert_eq!(back.cells(), p.cells());
        assert_eq!(
            BingoPattern::parse_csv("1,2,x,4").err(),
            Some(BingoError::NotANumber { entry: "x".into() })
        );
        assert_eq!(
            BingoPattern::parse_csv("1,2,-3,4").err(),
            Some(BingoError::NotANumber { entry: "-3".into() })
        );
    }

    #[test]
    fn text_rows_layout() {
        let mut grid = [0u8; CELLS];
        for (i, v) in grid.iter_mut().enumerate() {
            *v = (i % 10) as u8;
        }
        assert_eq!(
            text_rows(&grid),
            vec![
                "0 1 2 3 4",
                "5 6 7 8 9",
                "0 1 2 3 4",
                "5 6 7 8 9",
                "0 1 2 3 4"
            ]
        );
        grid[0] = 12;
        assert_eq!(read(&grid, &pattern6()).chars().next(), Some('?'));
    }

    #[test]
    fn pattern_debug_is_redacted() {
        let dbg = format!("{:?}", pattern6());
        assert_eq!(dbg, "BingoPattern([redacted])");
    }
}
