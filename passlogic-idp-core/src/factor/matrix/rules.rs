//! Administrator rules for patterns ([`PatternRules`]) and the initial-pattern generator.

use rand::seq::SliceRandom;
use rand::{CryptoRng, Rng, RngCore};

use super::grid::GridSpec;
use super::pattern::Pattern;

/// What an administrator allows as a pattern. See the
/// [module docs](crate::factor::matrix#pattern-rules) for the exact definitions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PatternRules {
    /// Fewest steps (cells, counting repeats). Default 6.
    pub min_len: usize,
    /// Most steps. Default 12.
    pub max_len: usize,
    /// Refuse patterns drawable in one stroke (each step the same cell or a king move away).
    pub forbid_single_stroke: bool,
    /// Require at least one cell in every block.
    pub require_every_block: bool,
    /// Refuse patterns whose distinct cells all lie on one straight line (any slope).
    pub forbid_straight_line: bool,
}

impl Default for PatternRules {
    /// Length 6 to 12, no optional rule switched on.
    fn default() -> Self {
        PatternRules {
            min_len: 6,
            max_len: 12,
            forbid_single_stroke: false,
            require_every_block: false,
            forbid_straight_line: false,
        }
    }
}

/// Why a pattern breaks the [`PatternRules`] (or does not fit the grid).
///
/// The `Display` texts never include cell numbers, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternRejection {
    /// Fewer steps than `min_len`.
    #[error("the pattern has {len} cells; at least {min} are required")]
    TooShort {
        /// The required minimum.
        min: usize,
        /// The pattern's length.
        len: usize,
    },
    /// More steps than `max_len`.
    #[error("the pattern has {len} cells; at most {max} are allowed")]
    TooLong {
        /// The allowed maximum.
        max: usize,
        /// The pattern's length.
        len: usize,
    },
    /// A cell number is not inside the grid.
    #[error("a pattern cell lies outside the {cells}-cell grid")]
    CellOutOfRange {
        /// The first offending cell number.
        cell: u16,
        /// The grid's cell count.
        cells: usize,
    },
    /// The pattern can be drawn in one stroke, which the rules forbid.
    #[error("the pattern can be drawn in one stroke; lift the finger at least once")]
    SingleStroke,
    /// A block holds no cell of the pattern, which the rules forbid.
    #[error("the pattern uses no cell of block {block}; every block must be used")]
    BlockUnused {
        /// The first unused block (0-based, left to right).
        block: usize,
    },
    /// All distinct cells lie on one straight line, which the rules forbid.
    #[error("the pattern is a straight line")]
    StraightLine,
}

impl PatternRules {
    /// Checks `pattern` against these rules on a grid of geometry `spec`, in the order of
    /// [`PatternRejection`]'s variants, and returns the first violation. Whether
    /// `min_len <= max_len` is the caller's business.
    pub fn check(&self, spec: &GridSpec, pattern: &Pattern) -> Result<(), PatternRejection> {
        let len = pattern.len();
        if len < self.min_len {
            return Err(PatternRejection::TooShort {
                min: self.min_len,
                len,
            });
        }
        if len > self.max_len {
            return Err(PatternRejection::TooLong {
                max: self.max_len,
                len,
            });
        }
        check_in_range(spec, pattern)?;
        if self.forbid_single_stroke && is_single_stroke(spec, pattern) {
            return Err(PatternRejection::SingleStroke);
        }
        if self.require_every_block {
            if let Some(block) = first_unused_block(spec, pattern) {
                return Err(PatternRejection::BlockUnused { block });
            }
        }
        if self.forbid_straight_line && is_straight_line(spec, pattern) {
            return Err(PatternRejection::StraightLine);
        }
        Ok(())
    }
}

/// `CellOutOfRange` for the first cell not below `spec.cells()`.
pub(crate) fn check_in_range(spec: &GridSpec, pattern: &Pattern) -> Result<(), PatternRejection> {
    let cells = spec.cells();
    match pattern.cells().iter().find(|&&c| usize::from(c) >= cells) {
        Some(&cell) => Err(PatternRejection::CellOutOfRange { cell, cells }),
        None => Ok(()),
    }
}

/// Every consecutive pair is the same cell or a king move apart.
fn is_single_stroke(spec: &GridSpec, pattern: &Pattern) -> bool {
    pattern.cells().windows(2).all(|pair| {
        let (r0, c0) = spec.row_col(pair[0]);
        let (r1, c1) = spec.row_col(pair[1]);
        r0.abs_diff(r1) <= 1 && c0.abs_diff(c1) <= 1
    })
}

/// The first block holding no cell of the pattern.
fn first_unused_block(spec: &GridSpec, pattern: &Pattern) -> Option<usize> {
    let mut used = vec![false; spec.blocks()];
    for &cell in pattern.cells() {
        if let Some(slot) = used.get_mut(spec.block_of(cell)) {
            *slot = true;
        }
    }
    used.iter().position(|&u| !u)
}

/// All distinct cells collinear (cross product zero); 0 or 1 distinct cells count as a line.
fn is_straight_line(spec: &GridSpec, pattern: &Pattern) -> bool {
    let points: Vec<(i32, i32)> = pattern
        .cells()
        .iter()
        .map(|&c| {
            let (r, c) = spec.row_col(c);
            (i32::from(r), i32::from(c))
        })
        .collect();
    let Some(&p0) = points.first() else {
        return true;
    };
    let Some(&p1) = points.iter().find(|&&p| p != p0) else {
        return true;
    };
    let (dr, dc) = (p1.0 - p0.0, p1.1 - p0.1);
    points
        .iter()
        .all(|&(r, c)| dr * (c - p0.1) - dc * (r - p0.0) == 0)
}

/// Attempts per sampling strategy before giving up.
const TRIES: usize = 1000;

/// Draws an initial pattern for a new user: distinct cells, length
/// `max(rules.min_len, 1)` clamped to `rules.max_len` and to the grid's cell count, satisfying
/// every rule.
///
/// Rejection sampling: uniformly random sequences of distinct cells are drawn until one passes
/// [`PatternRules::check`] (so the result is uniform over the allowed distinct patterns of that
/// length); if `require_every_block` makes that unlikely (many blocks, few cells), candidates
/// are then built with one cell from each block. Each strategy is tried at most 1000 times, so
/// the function always terminates; for the default rules and for all three optional rules on
/// with the default grid it succeeds at once in practice. Rules that no distinct pattern can meet
/// (e.g. `max_len` 2 with `forbid_straight_line`, fewer steps than blocks with
/// `require_every_block`, `min_len` above the cell count) yield the last candidate, which fails
/// `check`: callers with unusual rules should check the result.
pub fn generate_initial_pattern(
    spec: &GridSpec,
    rules: &PatternRules,
    rng: &mut (impl RngCore + CryptoRng),
) -> Pattern {
    let cells = spec.cells();
    let len = rules.min_len.max(1).min(rules.max_len).min(cells);
    let mut candidate = Pattern::new(Vec::new());
    for attempt in 0..2 * TRIES {
        let covering = attempt >= TRIES && rules.require_every_block;
        if attempt >= TRIES && !covering {
            break;
        }
        let drawn = if covering {
            sample_covering(spec, len, rng)
        } else {
            sample_distinct(cells, len, rng)
        };
        candidate = Pattern::new(drawn);
        match rules.check(spec, &candidate) {
            Ok(()) => return candidate,
            // Length and range problems do not go away by drawing again.
            Err(
                PatternRejection::TooShort { .. }
                | PatternRejection::TooLong { .. }
                | PatternRejection::CellOutOfRange { .. },
            ) => return candidate,
            Err(_) => {}
        }
    }
    candidate
}

/// `len` distinct cells out of `0..cells`, in uniformly random order (partial Fisher-Yates).
fn sample_distinct(cells: usize, len: usize, rng: &mut (impl RngCore + CryptoRng)) -> Vec<u16> {
    let mut pool: Vec<u16> = (0..cells)
        .map(|c| u16::try_from(c).unwrap_or(u16::MAX))
        .collect();
    let len = len.min(pool.len());
    for i in 0..len {
        let j = rng.gen_range(i..pool.len());
        pool.swap(i, j);
    }
    pool.truncate(len);
    pool
}

/// `len` distinct cells with one cell from each block first (when `len` allows), then random
/// others, shuffled.
fn sample_covering(spec: &GridSpec, len: usize, rng: &mut (impl RngCore + CryptoRng)) -> Vec<u16> {
    let blocks = spec.blocks();
    if len < blocks {
        return sample_distinct(spec.cells(), len, rng);
    }
    let mut chosen = Vec::with_capacity(len);
    for block in 0..blocks {
        let in_block = spec.block_cells(block);
        if let Some(&cell) = in_block.choose(rng) {
            chosen.push(cell);
        }
    }
    let mut rest: Vec<u16> = (0..spec.cells())
        .map(|c| u16::try_from(c).unwrap_or(u16::MAX))
        .filter(|c| !chosen.contains(c))
        .collect();
    let extra = len.saturating_sub(chosen.len()).min(rest.len());
    for i in 0..extra {
        let j = rng.gen_range(i..rest.len());
        rest.swap(i, j);
    }
    chosen.extend_from_slice(&rest[..extra]);
    chosen.shuffle(rng);
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn p(cells: &[u16]) -> Pattern {
        Pattern::new(cells.to_vec())
    }

    fn all_on() -> PatternRules {
        PatternRules {
            forbid_single_stroke: true,
            require_every_block: true,
            forbid_straight_line: true,
            ..PatternRules::default()
        }
    }

    fn only(f: impl FnOnce(&mut PatternRules)) -> PatternRules {
        let mut r = PatternRules {
            min_len: 1,
            max_len: 40,
            ..PatternRules::default()
        };
        f(&mut r);
        r
    }

    const S: GridSpec = GridSpec {
        rows: 4,
        cols: 12,
        block_width: 4,
    };

    #[test]
    fn defaults() {
        let r = PatternRules::default();
        assert_eq!((r.min_len, r.max_len), (6, 12));
        assert!(!r.forbid_single_stroke && !r.require_every_block && !r.forbid_straight_line);
    }

    #[test]
    fn length_edges() {
        let r = PatternRules::default();
        assert_eq!(
            r.check(&S, &p(&[0, 1, 2, 3, 4])),
            Err(PatternRejection::TooShort { min: 6, len: 5 })
        );
        assert_eq!(r.check(&S, &p(&[0, 1, 2, 3, 4, 5])), Ok(()));
        assert_eq!(r.check(&S, &p(&[0; 12])), Ok(()));
        assert_eq!(
            r.check(&S, &p(&[0; 13])),
            Err(PatternRejection::TooLong { max: 12, len: 13 })
        );
        assert_eq!(
            r.check(&S, &p(&[])),
            Err(PatternRejection::TooShort { min: 6, len: 0 })
        );
        // Repeated cells are allowed and counted.
        assert_eq!(r.check(&S, &p(&[5, 5, 5, 5, 5, 5])), Ok(()));
    }

    #[test]
    fn out_of_range() {
        let r = PatternRules::default();
        assert_eq!(
            r.check(&S, &p(&[0, 1, 48, 3, 99, 5])),
            Err(PatternRejection::CellOutOfRange {
                cell: 48,
                cells: 48
            })
        );
        assert_eq!(r.check(&S, &p(&[0, 1, 47, 3, 4, 5])), Ok(()));
        assert_eq!(
            r.check(&S, &p(&[0, 1, 2, 3, 4, u16::MAX])),
            Err(PatternRejection::CellOutOfRange {
                cell: u16::MAX,
                cells: 48
            })
        );
        // Order: length before range.
        assert_eq!(
            r.check(&S, &p(&[99])),
            Err(PatternRejection::TooShort { min: 6, len: 1 })
        );
        let msg = PatternRejection::CellOutOfRange {
            cell: 4242,
            cells: 48,
        }
        .to_string();
        assert!(!msg.contains("4242"));
    }

    #[test]
    fn single_stroke_rule() {
        let r = only(|r| r.forbid_single_stroke = true);
        // Horizontal, vertical, diagonal neighbours and repeats: one stroke.
        for cells in [
            &[0u16, 1, 2, 3][..],
            &[0, 12, 24, 36],
            &[0, 13, 26, 39],
            &[3, 14, 25, 36],
            &[0, 0, 1, 1, 13],
            &[5, 4, 16, 17, 5],
            &[11, 12][..1],
            &[7],
        ] {
            assert_eq!(
                r.check(&S, &p(cells)),
                Err(PatternRejection::SingleStroke),
                "{cells:?}"
            );
        }
        // A jump anywhere lifts the finger. 11 -> 12 wraps rows: not neighbours.
        for cells in [
            &[0u16, 1, 3][..],
            &[0, 24],
            &[11, 12],
            &[0, 14],
            &[0, 0, 2],
            &[0, 13, 26, 40],
        ] {
            assert_eq!(r.check(&S, &p(cells)), Ok(()), "{cells:?}");
        }
        // Off by default.
        assert_eq!(
            PatternRules::default().check(&S, &p(&[0, 1, 2, 3, 4, 5])),
            Ok(())
        );
    }

    #[test]
    fn every_block_rule() {
        let r = only(|r| r.require_every_block = true);
        assert_eq!(r.check(&S, &p(&[0, 4, 8])), Ok(()));
        assert_eq!(r.check(&S, &p(&[47, 17, 12])), Ok(()));
        assert_eq!(
            r.check(&S, &p(&[0, 1, 2, 3])),
            Err(PatternRejection::BlockUnused { block: 1 })
        );
        assert_eq!(
            r.check(&S, &p(&[0, 5, 5, 16])),
            Err(PatternRejection::BlockUnused { block: 2 })
        );
        assert_eq!(
            r.check(&S, &p(&[4, 8])),
            Err(PatternRejection::BlockUnused { block: 0 })
        );
        let spec = GridSpec {
            rows: 2,
            cols: 2,
            block_width: 1,
        };
        assert_eq!(r.check(&spec, &p(&[0, 3])), Ok(()));
        assert_eq!(
            r.check(&spec, &p(&[0, 2])),
            Err(PatternRejection::BlockUnused { block: 1 })
        );
    }

    #[test]
    fn straight_line_rule() {
        let r = only(|r| r.forbid_straight_line = true);
        for cells in [
            &[0u16, 1, 2, 3, 4, 5][..], // row
            &[2, 14, 26, 38],           // column
            &[0, 13, 26, 39],           // diagonal
            &[39, 28, 17, 6],           // anti-diagonal
            &[0, 14, 28],               // slope 1/2 ... (r, c) = (0,0) (1,2) (2,4)
            &[0, 25],                   // knight: (0,0) (2,1)
            &[0, 25, 0, 25],            // repeats do not matter
            &[1, 26, 1],                // knight slope (0,1) (2,2)
            &[9],
            &[9, 9, 9],
            &[0, 47],      // any two distinct cells
            &[3, 0, 2, 1], // unordered along a row
        ] {
            assert_eq!(
                r.check(&S, &p(cells)),
                Err(PatternRejection::StraightLine),
                "{cells:?}"
            );
        }
        // Knight-slope line over three rows on a 5x10 grid: (0,0) (2,1) (4,2).
        let spec = GridSpec {
            rows: 5,
            cols: 10,
            block_width: 5,
        };
        assert_eq!(
            r.check(&spec, &p(&[0, 21, 42])),
            Err(PatternRejection::StraightLine)
        );
        assert_eq!(r.check(&spec, &p(&[0, 21, 43])), Ok(()));
        for cells in [
            &[0u16, 1, 13][..],
            &[0, 13, 27],
            &[0, 25, 38],
            &[5, 5, 6, 18],
        ] {
            assert_eq!(r.check(&S, &p(cells)), Ok(()), "{cells:?}");
        }
    }

    #[test]
    fn order_of_checks() {
        let r = all_on();
        // Single stroke and unused block and line: single stroke reported first.
        assert_eq!(
            r.check(&S, &p(&[0, 1, 2, 3, 2, 1])),
            Err(PatternRejection::SingleStroke)
        );
        // Not one stroke, but block unused and a line: block first.
        assert_eq!(
            r.check(&S, &p(&[0, 2, 0, 2, 0, 2])),
            Err(PatternRejection::BlockUnused { block: 1 })
        );
        // Every block used, not one stroke, but a line.
        assert_eq!(
            r.check(&S, &p(&[0, 4, 8, 10, 6, 2])),
            Err(PatternRejection::StraightLine)
        );
        assert_eq!(r.check(&S, &p(&[0, 4, 8, 22, 6, 2])), Ok(()));
    }

    #[test]
    fn initial_patterns_follow_the_rules() {
        let specs = [
            S,
            GridSpec {
                rows: 5,
                cols: 10,
                block_width: 5,
            },
            GridSpec {
                rows: 3,
                cols: 9,
                block_width: 3,
            },
            GridSpec {
                rows: 10,
                cols: 24,
                block_width: 12,
            },
        ];
        for spec in specs {
            for rules in [PatternRules::default(), all_on()] {
                for seed in 0..500 {
                    let mut rng = ChaCha20Rng::seed_from_u64(seed);
                    let pat = generate_initial_pattern(&spec, &rules, &mut rng);
                    assert_eq!(
                        rules.check(&spec, &pat),
                        Ok(()),
                        "{spec:?} {rules:?} {seed}"
                    );
                    assert_eq!(pat.len(), 6);
                    let mut d = pat.cells().to_vec();
                    d.sort_unstable();
                    d.dedup();
                    assert_eq!(d.len(), pat.len(), "distinct");
                }
            }
        }
        // Twelve blocks need twelve steps: the covering sampler gets there.
        let spec = GridSpec {
            rows: 10,
            cols: 24,
            block_width: 2,
        };
        let rules = PatternRules {
            min_len: 12,
            ..all_on()
        };
        for seed in 0..50 {
            let pat =
                generate_initial_pattern(&spec, &rules, &mut ChaCha20Rng::seed_from_u64(seed));
            assert_eq!(rules.check(&spec, &pat), Ok(()));
        }
    }

    #[test]
    fn initial_pattern_length_clamping_and_impossible_rules_terminate() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let tiny = GridSpec {
            rows: 2,
            cols: 2,
            block_width: 1,
        };
        let rules = PatternRules {
            min_len: 10,
            max_len: 12,
            ..PatternRules::default()
        };
        assert_eq!(generate_initial_pattern(&tiny, &rules, &mut rng).len(), 4);
        let rules = PatternRules {
            min_len: 0,
            max_len: 12,
            ..PatternRules::default()
        };
        assert_eq!(generate_initial_pattern(&S, &rules, &mut rng).len(), 1);
        let rules = PatternRules {
            min_len: 8,
            max_len: 7,
            ..PatternRules::default()
        };
        assert_eq!(generate_initial_pattern(&S, &rules, &mut rng).len(), 7);
        // Impossible: two steps can only form a line; three steps cannot cover 24 blocks.
        let rules = PatternRules {
            min_len: 2,
            max_len: 2,
            ..all_on()
        };
        let pat = generate_initial_pattern(&S, &rules, &mut rng);
        assert!(rules.check(&S, &pat).is_err());
        let wide = GridSpec {
            rows: 2,
            cols: 24,
            block_width: 1,
        };
        let rules = PatternRules {
            min_len: 3,
            ..all_on()
        };
        let pat = generate_initial_pattern(&wide, &rules, &mut rng);
        assert_eq!(pat.len(), 3);
        assert_eq!(
            rules
                .check(&wide, &pat)
                .err()
                .map(|e| matches!(e, PatternRejection::BlockUnused { .. })),
            Some(true)
        );
    }
}
