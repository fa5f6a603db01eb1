//! Grid geometry ([`GridSpec`]), the digits shown for one sign-in ([`Grid`]) and the balanced
//! digit generator ([`generate_grid`]). The digit-spread analysis lives in the parent module docs.

use rand::seq::SliceRandom;
use rand::{CryptoRng, Rng, RngCore};

/// Smallest number of rows a valid [`GridSpec`] may have.
pub const MIN_ROWS: u8 = 2;
/// Largest number of rows a valid [`GridSpec`] may have.
pub const MAX_ROWS: u8 = 10;
/// Smallest number of columns a valid [`GridSpec`] may have.
pub const MIN_COLS: u8 = 2;
/// Largest number of columns a valid [`GridSpec`] may have.
pub const MAX_COLS: u8 = 24;

/// Grid geometry: `rows` x `cols`, cut into blocks `block_width` columns wide, side by side.
///
/// Cells are numbered row-major from 0: cell `r * cols + c` is row `r`, column `c`. Block `b`
/// holds columns `b * block_width .. (b + 1) * block_width` of every row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GridSpec {
    /// Number of rows (valid: 2..=10).
    pub rows: u8,
    /// Number of columns (valid: 2..=24).
    pub cols: u8,
    /// Width of one block in columns (valid: at least 1 and a divisor of `cols`).
    pub block_width: u8,
}

impl Default for GridSpec {
    /// The product default: 4 rows x 12 columns, three 4x4 blocks side by side.
    fn default() -> Self {
        GridSpec {
            rows: 4,
            cols: 12,
            block_width: 4,
        }
    }
}

/// Why a [`GridSpec`] or a [`Grid`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridSpecError {
    /// `rows` is outside 2..=10.
    #[error("grid rows must be between {MIN_ROWS} and {MAX_ROWS}, got {rows}")]
    RowsOutOfRange {
        /// The refused row count.
        rows: u8,
    },
    /// `cols` is outside 2..=24.
    #[error("grid columns must be between {MIN_COLS} and {MAX_COLS}, got {cols}")]
    ColsOutOfRange {
        /// The refused column count.
        cols: u8,
    },
    /// `block_width` is 0 or does not divide `cols`.
    #[error("block width {block_width} must be at least 1 and divide the column count {cols}")]
    BadBlockWidth {
        /// The refused block width.
        block_width: u8,
        /// The column count it had to divide.
        cols: u8,
    },
    /// A grid's digit list does not have one digit per cell.
    #[error("a {expected}-cell grid needs {expected} digits, got {found}")]
    WrongDigitCount {
        /// `rows * cols`.
        expected: usize,
        /// The number of digits supplied.
        found: usize,
    },
    /// A grid digit is not in 0..=9.
    #[error("grid cell {cell} holds {digit}, which is not a decimal digit")]
    NotADigit {
        /// Index of the offending cell.
        cell: usize,
        /// The offending value.
        digit: u8,
    },
}

impl GridSpec {
    /// Checks the geometry: rows 2..=10, cols 2..=24, `block_width` at least 1 and a divisor of
    /// `cols`.
    pub fn validate(&self) -> Result<(), GridSpecError> {
        if !(MIN_ROWS..=MAX_ROWS).contains(&self.rows) {
            return Err(GridSpecError::RowsOutOfRange { rows: self.rows });
        }
        if !(MIN_COLS..=MAX_COLS).contains(&self.cols) {
            return Err(GridSpecError::ColsOutOfRange { cols: self.cols });
        }
        if self.block_width == 0 || self.cols % self.block_width != 0 {
            return Err(GridSpecError::BadBlockWidth {
                block_width: self.block_width,
                cols: self.cols,
            });
        }
        Ok(())
    }

    /// Number of cells, `rows * cols`.
    pub fn cells(&self) -> usize {
        usize::from(self.rows) * usize::from(self.cols)
    }

    /// Effective block width: `block_width`, with 0 read as "one block spanning all columns".
    fn width(&self) -> usize {
        match self.block_width {
            0 => usize::from(self.cols).max(1),
            w => usize::from(w),
        }
    }

    /// Number of blocks, `cols / block_width` for a valid spec. (An invalid spec whose
    /// `block_width` does not divide `cols` counts the narrower last block too; a `block_width`
    /// of 0 is read as a single block.)
    pub fn blocks(&self) -> usize {
        usize::from(self.cols).div_ceil(self.width())
    }

    /// The block holding `cell` (0-based, left to right). Meaningful for `cell < cells()`.
    pub fn block_of(&self, cell: u16) -> usize {
        let cols = usize::from(self.cols).max(1);
        (usize::from(cell) % cols) / self.width()
    }

    /// `(row, column)` of `cell`, both 0-based. Meaningful for `cell < cells()`; larger values
    /// give a row past the grid (saturating at 255) instead of panicking.
    pub fn row_col(&self, cell: u16) -> (u8, u8) {
        let cols = u16::from(self.cols).max(1);
        let row = u8::try_from(cell / cols).unwrap_or(u8::MAX);
        let col = u8::try_from(cell % cols).unwrap_or(u8::MAX);
        (row, col)
    }

    /// The cells of block `block`, row-major.
    pub(crate) fn block_cells(&self, block: usize) -> Vec<u16> {
        let width = self.width();
        let cols = usize::from(self.cols);
        let first = block * width;
        let last = (first + width).min(cols);
        let mut out = Vec::with_capacity(usize::from(self.rows) * width);
        for row in 0..usize::from(self.rows) {
            for col in first..last {
                // rows and cols are u8, so row * cols + col < 65536.
                out.push(u16::try_from(row * cols + col).unwrap_or(u16::MAX));
            }
        }
        out
    }
}

/// The digits shown for one sign-in, row-major.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    spec: GridSpec,
    digits: Vec<u8>,
}

impl Grid {
    /// The grid's geometry.
    pub fn spec(&self) -> &GridSpec {
        &self.spec
    }

    /// All digits (each 0..=9), row-major.
    pub fn digits(&self) -> &[u8] {
        &self.digits
    }

    /// The digit in `cell`, or `None` when the cell is outside the grid.
    pub fn digit(&self, cell: u16) -> Option<u8> {
        self.digits.get(usize::from(cell)).copied()
    }

    /// Rebuilds a grid from stored digits, checking the spec, that there is one digit per cell
    /// and that every digit is below 10.
    pub fn from_digits(spec: GridSpec, digits: Vec<u8>) -> Result<Grid, GridSpecError> {
        spec.validate()?;
        if digits.len() != spec.cells() {
            return Err(GridSpecError::WrongDigitCount {
                expected: spec.cells(),
                found: digits.len(),
            });
        }
        if let Some((cell, &digit)) = digits.iter().enumerate().find(|(_, &d)| d > 9) {
            return Err(GridSpecError::NotADigit { cell, digit });
        }
        Ok(Grid { spec, digits })
    }

    /// One string per row, blocks separated by one space, e.g. `"3817 0245 9961"` for a row of
    /// the default 4x12 grid. Used for text renderings such as RADIUS reply messages.
    pub fn text_rows(&self) -> Vec<String> {
        let cols = usize::from(self.spec.cols);
        if cols == 0 {
            return Vec::new();
        }
        let width = self.spec.width();
        self.digits
            .chunks(cols)
            .map(|row| {
                let mut line = String::with_capacity(cols + cols / width);
                for (col, digit) in row.iter().enumerate() {
                    if col > 0 && col % width == 0 {
                        line.push(' ');
                    }
                    line.push(char::from(b'0' + digit % 10));
                }
                line
            })
            .collect()
    }
}

/// Draws a fresh grid with the balanced digit spread described in the
/// [module docs](crate::factor::matrix#digit-spread).
///
/// Inside every block of `n` cells each digit appears `n / 10` times; the remaining `n % 10`
/// cells get distinct extra digits, chosen among the digits least frequent in the grid so far
/// (ties broken uniformly at random), and the block is then shuffled (Fisher-Yates).
///
/// Validate the spec first ([`GridSpec::validate`]); an invalid spec still yields
/// `rows * cols` digits without panicking (a narrower last block when `block_width` does not
/// divide `cols`, one block when `block_width` is 0), but [`Grid::from_digits`] would refuse it.
pub fn generate_grid(spec: &GridSpec, rng: &mut (impl RngCore + CryptoRng)) -> Grid {
    let mut digits = vec![0u8; spec.cells()];
    let mut counts = [0usize; 10];
    for block in 0..spec.blocks() {
        let cells = spec.block_cells(block);
        let n = cells.len();
        let mut block_digits: Vec<u8> = Vec::with_capacity(n);
        for _ in 0..n / 10 {
            block_digits.extend(0u8..10);
        }
        let mut taken = [false; 10];
        for _ in 0..n % 10 {
            let lowest = (0..10)
                .filter(|&d| !taken[d])
                .map(|d| counts[d])
                .min()
                .unwrap_or(0);
            let ties: Vec<usize> = (0..10)
                .filter(|&d| !taken[d] && counts[d] == lowest)
                .collect();
            // `ties` is never empty: fewer than 10 extras are drawn, so a digit is left.
            let pick = ties[rng.gen_range(0..ties.len())];
            taken[pick] = true;
            // `pick < 10`, so the cast is exact.
            block_digits.push(pick as u8);
        }
        block_digits.shuffle(rng);
        for (&cell, &digit) in cells.iter().zip(&block_digits) {
            counts[usize::from(digit)] += 1;
            if let Some(slot) = digits.get_mut(usize::from(cell)) {
                *slot = digit;
            }
        }
    }
    Grid {
        spec: *spec,
        digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn block_counts(grid: &Grid, block: usize) -> [usize; 10] {
        let mut c = [0usize; 10];
        for cell in grid.spec().block_cells(block) {
            c[usize::from(grid.digit(cell).unwrap())] += 1;
        }
        c
    }

    #[test]
    fn default_spec_geometry() {
        let s = GridSpec::default();
        assert_eq!((s.rows, s.cols, s.block_width), (4, 12, 4));
        assert!(s.validate().is_ok());
        assert_eq!(s.cells(), 48);
        assert_eq!(s.blocks(), 3);
        assert_eq!(s.block_of(0), 0);
        assert_eq!(s.block_of(3), 0);
        assert_eq!(s.block_of(4), 1);
        assert_eq!(s.block_of(11), 2);
        assert_eq!(s.block_of(12), 0);
        assert_eq!(s.block_of(47), 2);
        assert_eq!(s.row_col(0), (0, 0));
        assert_eq!(s.row_col(13), (1, 1));
        assert_eq!(s.row_col(47), (3, 11));
        assert_eq!(
            s.block_cells(1),
            vec![4, 5, 6, 7, 16, 17, 18, 19, 28, 29, 30, 31, 40, 41, 42, 43]
        );
    }

    #[test]
    fn invalid_specs_rejected() {
        let bad = [
            (
                GridSpec {
                    rows: 1,
                    cols: 12,
                    block_width: 4,
                },
                GridSpecError::RowsOutOfRange { rows: 1 },
            ),
            (
                GridSpec {
                    rows: 11,
                    cols: 12,
                    block_width: 4,
                },
                GridSpecError::RowsOutOfRange { rows: 11 },
            ),
            (
                GridSpec {
                    rows: 0,
                    cols: 12,
                    block_width: 4,
                },
                GridSpecError::RowsOutOfRange { rows: 0 },
            ),
            (
                GridSpec {
                    rows: 4,
                    cols: 1,
                    block_width: 1,
                },
                GridSpecError::ColsOutOfRange { cols: 1 },
            ),
            (
                GridSpec {
                    rows: 4,
                    cols: 25,
                    block_width: 5,
                },
                GridSpecError::ColsOutOfRange { cols: 25 },
            ),
            (
                GridSpec {
                    rows: 4,
                    cols: 12,
                    block_width: 0,
                },
                GridSpecError::BadBlockWidth {
                    block_width: 0,
                    cols: 12,
                },
            ),
            (
                GridSpec {
                    rows: 4,
                    cols: 12,
                    block_width: 5,
                },
                GridSpecError::BadBlockWidth {
                    block_width: 5,
                    cols: 12,
                },
            ),
            (
                GridSpec {
                    rows: 4,
                    cols: 12,
                    block_width: 13,
                },
                GridSpecError::BadBlockWidth {
                    block_width: 13,
                    cols: 12,
                },
            ),
        ];
        for (spec, err) in bad {
            assert_eq!(spec.validate(), Err(err), "{spec:?}");
        }
        for spec in [
            GridSpec {
                rows: 2,
                cols: 2,
                block_width: 1,
            },
            GridSpec {
                rows: 10,
                cols: 24,
                block_width: 24,
            },
            GridSpec {
                rows: 5,
                cols: 10,
                block_width: 5,
            },
        ] {
            assert!(spec.validate().is_ok(), "{spec:?}");
        }
    }

    #[test]
    fn invalid_spec_generation_does_not_panic() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for spec in [
            GridSpec {
                rows: 4,
                cols: 12,
                block_width: 0,
            },
            GridSpec {
                rows: 4,
                cols: 12,
                block_width: 5,
            },
            GridSpec {
                rows: 0,
                cols: 0,
                block_width: 0,
            },
            GridSpec {
                rows: 255,
                cols: 255,
                block_width: 7,
            },
        ] {
            let g = generate_grid(&spec, &mut rng);
            assert_eq!(g.digits().len(), spec.cells());
            assert!(g.digits().iter().all(|&d| d < 10));
            let _ = g.text_rows();
        }
    }

    #[test]
    fn default_grid_statistics() {
        let mut rng = ChaCha20Rng::seed_from_u64(2024);
        let spec = GridSpec::default();
        for _ in 0..2000 {
            let g = generate_grid(&spec, &mut rng);
            assert_eq!(g.digits().len(), 48);
            let mut total = [0usize; 10];
            for b in 0..3 {
                let c = block_counts(&g, b);
                for d in 0..10 {
                    assert!(
                        (1..=2).contains(&c[d]),
                        "digit {d} {} times in block {b}",
                        c[d]
                    );
                    total[d] += c[d];
                }
            }
            for (d, &t) in total.iter().enumerate() {
                assert!((3..=6).contains(&t), "digit {d} {t} times");
                // The balancing makes it tighter still: 4 or 5 times.
                assert!((4..=5).contains(&t), "digit {d} {t} times");
            }
            assert_eq!(total.iter().filter(|&&t| t == 5).count(), 8);
        }
    }

    #[test]
    fn per_cell_digits_roughly_uniform() {
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        let spec = GridSpec::default();
        let runs = 5000;
        let mut freq = vec![[0usize; 10]; spec.cells()];
        for _ in 0..runs {
            let g = generate_grid(&spec, &mut rng);
            for (cell, &d) in g.digits().iter().enumerate() {
                freq[cell][usize::from(d)] += 1;
            }
        }
        for (cell, f) in freq.iter().enumerate() {
            for (d, &n) in f.iter().enumerate() {
                let share = n as f64 / runs as f64;
                assert!(
                    (share - 0.1).abs() <= 0.03,
                    "cell {cell} digit {d} share {share}"
                );
            }
        }
    }

    #[test]
    fn nine_cell_blocks_hold_distinct_digits() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let spec = GridSpec {
            rows: 3,
            cols: 9,
            block_width: 3,
        };
        spec.validate().unwrap();
        assert_eq!(spec.blocks(), 3);
        for _ in 0..500 {
            let g = generate_grid(&spec, &mut rng);
            let mut total = [0usize; 10];
            for b in 0..3 {
                let c = block_counts(&g, b);
                assert!(c.iter().all(|&n| n <= 1), "{c:?}");
                assert_eq!(c.iter().sum::<usize>(), 9);
                for d in 0..10 {
                    total[d] += c[d];
                }
            }
            // 27 cells, balanced: every digit 2 or 3 times.
            assert!(total.iter().all(|&t| (2..=3).contains(&t)), "{total:?}");
        }
    }

    #[test]
    fn other_specs_work() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let spec = GridSpec {
            rows: 5,
            cols: 10,
            block_width: 5,
        };
        for _ in 0..200 {
            let g = generate_grid(&spec, &mut rng);
            assert!(Grid::from_digits(spec, g.digits().to_vec()).is_ok());
            let mut total = [0usize; 10];
            for b in 0..2 {
                let c = block_counts(&g, b);
                assert!(c.iter().all(|&n| (2..=3).contains(&n)), "{c:?}");
                for d in 0..10 {
                    total[d] += c[d];
                }
            }
            assert!(total.iter().all(|&t| t == 5), "{total:?}");
            assert_eq!(g.text_rows().len(), 5);
            assert!(g
                .text_rows()
                .iter()
                .all(|r| r.len() == 11 && r.as_bytes()[5] == b' '));
        }
        let spec = GridSpec {
            rows: 2,
            cols: 2,
            block_width: 1,
        };
        for _ in 0..200 {
            let g = generate_grid(&spec, &mut rng);
            assert_eq!(g.digits().len(), 4);
            assert_ne!(g.digits()[0], g.digits()[2]);
            assert_ne!(g.digits()[1], g.digits()[3]);
            // Block 1 prefers the two digits block 0 did not use.
            let mut all = g.digits().to_vec();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 4);
            let rows = g.text_rows();
            assert_eq!(rows.len(), 2);
            assert!(rows.iter().all(|r| r.len() == 3 && r.as_bytes()[1] == b' '));
        }
    }

    #[test]
    fn from_digits_and_text_rows() {
        let spec = GridSpec::default();
        let digits: Vec<u8> = (0..48).map(|i| (i * 7 % 10) as u8).collect();
        let g = Grid::from_digits(spec, digits.clone()).unwrap();
        assert_eq!(g.digit(0), Some(0));
        assert_eq!(g.digit(1), Some(7));
        assert_eq!(g.digit(48), None);
        assert_eq!(g.text_rows()[0], "0741 8529 6307");
        assert_eq!(g.text_rows().len(), 4);
        assert_eq!(
            Grid::from_digits(spec, digits[..47].to_vec()),
            Err(GridSpecError::WrongDigitCount {
                expected: 48,
                found: 47
            })
        );
        let mut bad = digits.clone();
        bad[5] = 10;
        assert_eq!(
            Grid::from_digits(spec, bad),
            Err(GridSpecError::NotADigit { cell: 5, digit: 10 })
        );
        let bad_spec = GridSpec {
            rows: 4,
            cols: 12,
            block_width: 5,
        };
        assert!(Grid::from_digits(bad_spec, digits).is_err());
    }

    #[test]
    fn generation_is_deterministic_for_a_seed() {
        let spec = GridSpec::default();
        let a = generate_grid(&spec, &mut ChaCha20Rng::seed_from_u64(5));
        let b = generate_grid(&spec, &mut ChaCha20Rng::seed_from_u64(5));
        assert_eq!(a, b);
    }
}
