//! The initial-pattern notice: a text picture of a pattern, handed to a new user (letter,
//! e-mail, admin console) and parsed back. The notation is described in the
//! [module docs](crate::factor::matrix#initial-pattern-notice).

use super::grid::{GridSpec, GridSpecError};
use super::pattern::Pattern;

/// Longest pattern a notice can carry: steps 1-9 and A-Z.
pub const NOTICE_MAX_STEPS: usize = 35;

/// Why a notice could not be rendered or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// The grid geometry itself is invalid.
    #[error("invalid grid: {0}")]
    InvalidSpec(GridSpecError),
    /// The pattern visits a cell twice; a notice has one character per cell.
    #[error("a notice cannot show a pattern that visits a cell twice")]
    RepeatedCell,
    /// The pattern has more than 35 steps.
    #[error("a notice can show at most {NOTICE_MAX_STEPS} steps, the pattern has {len}")]
    TooLong {
        /// The pattern's length.
        len: usize,
    },
    /// A pattern cell is not in the grid.
    #[error("a pattern cell lies outside the {cells}-cell grid")]
    CellOutOfRange {
        /// The first offending cell.
        cell: u16,
        /// The grid's cell count.
        cells: usize,
    },
    /// The text has a different number of (non-blank) lines than the grid has rows.
    #[error("the notice has {found} rows, the grid has {expected}")]
    WrongRowCount {
        /// The grid's row count.
        expected: usize,
        /// Non-blank lines found.
        found: usize,
    },
    /// A line has a different number of cell characters than the grid has columns.
    #[error("row {row} of the notice has {found} cells, the grid has {expected} columns")]
    WrongRowLength {
        /// 0-based row.
        row: usize,
        /// The grid's column count.
        expected: usize,
        /// Cell characters found.
        found: usize,
    },
    /// A character that is neither `*`, `1`-`9`, `A`-`Z`/`a`-`z` nor a space.
    #[error("row {row} of the notice holds an unknown character {ch:?}")]
    UnknownCharacter {
        /// 0-based row.
        row: usize,
        /// The character.
        ch: char,
    },
    /// The same step number appears in two cells.
    #[error("step {step} appears more than once")]
    DuplicateStep {
        /// The repeated step number (1-based).
        step: usize,
    },
    /// Step numbers skip one: steps must be exactly 1..=n.
    #[error("step {step} is missing")]
    MissingStep {
        /// The first missing step number (1-based).
        step: usize,
    },
}

/// The character for step `step` (1-based): `1`-`9`, then `A`-`Z`.
fn step_char(step: usize) -> Option<char> {
    match step {
        1..=9 => char::from_digit(u32::try_from(step).ok()?, 10),
        10..=35 => char::from_u32(u32::from(b'A') + u32::try_from(step - 10).ok()?),
        _ => None,
    }
}

/// The step number of a notice character (`*` is `Some(None)`), or `None` if unknown.
fn char_step(ch: char) -> Option<Option<usize>> {
    match ch {
        '*' => Some(None),
        '1'..='9' => Some(Some(usize::from(ch as u8 - b'0'))),
        'A'..='Z' => Some(Some(usize::from(ch as u8 - b'A') + 10)),
        'a'..='z' => Some(Some(usize::from(ch as u8 - b'a') + 10)),
        _ => None,
    }
}

/// Renders `pattern` in the notice notation: one line per row, one character per cell (`*` or
/// the step), one space between blocks, lines joined with `\n`, no trailing newline.
///
/// Refuses an invalid spec, a pattern longer than 35 steps, a cell outside the grid and a cell
/// visited twice (checked in that order).
pub fn render_notice(spec: &GridSpec, pattern: &Pattern) -> Result<String, NoticeError> {
    spec.validate().map_err(NoticeError::InvalidSpec)?;
    if pattern.len() > NOTICE_MAX_STEPS {
        return Err(NoticeError::TooLong { len: pattern.len() });
    }
    let cells = spec.cells();
    let mut picture = vec!['*'; cells];
    if let Some(&cell) = pattern.cells().iter().find(|&&c| usize::from(c) >= cells) {
        return Err(NoticeError::CellOutOfRange { cell, cells });
    }
    for (i, &cell) in pattern.cells().iter().enumerate() {
        let slot = picture
            .get_mut(usize::from(cell))
            .ok_or(NoticeError::CellOutOfRange { cell, cells })?;
        if *slot != '*' {
            return Err(NoticeError::RepeatedCell);
        }
        *slot = step_char(i + 1).ok_or(NoticeError::TooLong { len: pattern.len() })?;
    }
    let cols = usize::from(spec.cols);
    let width = usize::from(spec.block_width);
    let lines: Vec<String> = picture
        .chunks(cols)
        .map(|row| {
            let mut line = String::with_capacity(cols + cols / width);
            for (col, &ch) in row.iter().enumerate() {
                if col > 0 && col % width == 0 {
                    line.push(' ');
                }
                line.push(ch);
            }
            line
        })
        .collect();
    Ok(lines.join("\n"))
}

/// Parses a notice back into a pattern.
///
/// Accepts lowercase letters, ignores leading/trailing whitespace on each line and blank lines,
/// and ignores spaces and tabs inside a line (block separators are optional). Requires exactly
/// `rows` non-blank lines of exactly `cols` cell characters each; refuses unknown characters,
/// duplicate step numbers and gaps (the steps must be exactly 1..=n; a notice of only `*`
/// parses as the empty pattern, which [`PatternRules`](super::PatternRules) then refuses).
pub fn parse_notice(spec: &GridSpec, text: &str) -> Result<Pattern, NoticeError> {
    spec.validate().map_err(NoticeError::InvalidSpec)?;
    let rows = usize::from(spec.rows);
    let cols = usize::from(spec.cols);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() != rows {
        return Err(NoticeError::WrongRowCount {
            expected: rows,
            found: lines.len(),
        });
    }
    let mut step_cell: [Option<u16>; NOTICE_MAX_STEPS + 1] = [None; NOTICE_MAX_STEPS + 1];
    for (row, line) in lines.iter().enumerate() {
        let chars: Vec<char> = line.chars().filter(|&c| c != ' ' && c != '\t').collect();
        if let Some(&ch) = chars.iter().find(|&&c| char_step(c).is_none()) {
            return Err(NoticeError::UnknownCharacter { row, ch });
        }
        if chars.len() != cols {
            return Err(NoticeError::WrongRowLength {
                row,
                expected: cols,
                found: chars.len(),
            });
        }
        for (col, &ch) in chars.iter().enumerate() {
            if let Some(Some(step)) = char_step(ch) {
                let slot = step_cell
                    .get_mut(step)
                    .ok_or(NoticeError::UnknownCharacter { row, ch })?;
                if slot.is_some() {
                    return Err(NoticeError::DuplicateStep { step });
                }
                // rows <= 10 and cols <= 24 after validation, so the cell fits in u16.
                *slot = Some(u16::try_from(row * cols + col).unwrap_or(u16::MAX));
            }
        }
    }
    let n = step_cell.iter().rposition(Option::is_some).unwrap_or(0);
    let mut cells = Vec::with_capacity(n);
    for (step, cell) in step_cell.iter().enumerate().take(n + 1).skip(1) {
        match cell {
            Some(cell) => cells.push(*cell),
            None => return Err(NoticeError::MissingStep { step }),
        }
    }
    Ok(Pattern::new(cells))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factor::matrix::{generate_initial_pattern, PatternRules};
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    const S: GridSpec = GridSpec {
        rows: 4,
        cols: 12,
        block_width: 4,
    };

    #[test]
    fn known_rendering() {
        // Steps: 1 at (0,5), 2 at (0,11), 3 at (1,0), 4 at (1,9), ..., 10 at (3,11), 11 at (0,0).
        let p = Pattern::new(vec![5, 11, 12, 21, 26, 30, 35, 40, 44, 47, 0]);
        let text = render_notice(&S, &p).unwrap();
        assert_eq!(
            text,
            "B*** *1** ***2\n3*** **** *4**\n**5* **6* ***7\n**** 8*** 9**A"
        );
        let back = parse_notice(&S, &text).unwrap();
        assert_eq!(back.cells(), p.cells());
        // The brief's example row.
        let p = Pattern::new(vec![8, 4, 11, 1]);
        let text = render_notice(&S, &p).unwrap();
        assert_eq!(text.lines().next(), Some("*4** 2*** 1**3"));
        assert_eq!(text.lines().nth(1), Some("**** **** ****"));
        assert!(!text.ends_with('\n'));
    }

    #[test]
    fn round_trips() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        for spec in [
            S,
            GridSpec {
                rows: 5,
                cols: 10,
                block_width: 5,
            },
        ] {
            for _ in 0..500 {
                let mut all: Vec<u16> = (0..spec.cells() as u16).collect();
                all.shuffle(&mut rng);
                let len = rng.gen_range(0..=NOTICE_MAX_STEPS.min(spec.cells()));
                let p = Pattern::new(all[..len].to_vec());
                let text = render_notice(&spec, &p).unwrap();
                assert_eq!(text.lines().count(), usize::from(spec.rows));
                assert_eq!(parse_notice(&spec, &text).unwrap().cells(), p.cells());
                // Lowercase, extra whitespace, blank lines and no block spaces also parse.
                let loose = format!(
                    "\n  {}  \n\n",
                    text.to_lowercase()
                        .replace(' ', "")
                        .replace('\n', " \r\n\t\n")
                );
                assert_eq!(parse_notice(&spec, &loose).unwrap().cells(), p.cells());
            }
        }
        // Generated initial patterns always fit a notice.
        for seed in 0..100 {
            let p = generate_initial_pattern(
                &S,
                &PatternRules::default(),
                &mut ChaCha20Rng::seed_from_u64(seed),
            );
            assert_eq!(
                parse_notice(&S, &render_notice(&S, &p).unwrap())
                    .unwrap()
                    .cells(),
                p.cells()
            );
        }
    }

    #[test]
    fn render_rejections() {
        assert_eq!(
            render_notice(&S, &Pattern::new(vec![1, 2, 1])),
            Err(NoticeError::RepeatedCell)
        );
        assert_eq!(
            render_notice(&S, &Pattern::new((0..36).collect())),
            Err(NoticeError::TooLong { len: 36 })
        );
        assert!(render_notice(&S, &Pattern::new((0..35).collect())).is_ok());
        assert_eq!(
            render_notice(&S, &Pattern::new(vec![0, 48])),
            Err(NoticeError::CellOutOfRange {
                cell: 48,
                cells: 48
            })
        );
        let bad = GridSpec {
            rows: 4,
            cols: 12,
            block_width: 5,
        };
        assert!(matches!(
            render_notice(&bad, &Pattern::new(vec![0])),
            Err(NoticeError::InvalidSpec(_))
        ));
        assert_eq!(
            render_notice(&S, &Pattern::new(vec![])).unwrap(),
            "**** **** ****\n**** **** ****\n**** **** ****\n**** **** ****"
        );
    }

    #[test]
    fn parse_rejections() {
        let blank = "**** **** ****\n";
        let grid = |first: &str| format!("{first}\n{blank}{blank}{blank}");
        assert_eq!(
            parse_notice(&S, "**** **** ****\n**** **** ****").err(),
            Some(NoticeError::WrongRowCount {
                expected: 4,
                found: 2
            })
        );
        assert_eq!(
            parse_notice(&S, &format!("{}{blank}", grid("*1** **** ****"))).err(),
            Some(NoticeError::WrongRowCount {
                expected: 4,
                found: 5
            })
        );
        assert_eq!(
            parse_notice(&S, &grid("*1** **** ***")).err(),
            Some(NoticeError::WrongRowLength {
                row: 0,
                expected: 12,
                found: 11
            })
        );
        assert_eq!(
            parse_notice(&S, &grid("*1** **** *****")).err(),
            Some(NoticeError::WrongRowLength {
                row: 0,
                expected: 12,
                found: 13
            })
        );
        for (row, ch) in [
            ("*1** **0* ****", '0'),
            ("*1** **.* ****", '.'),
            ("*1** **-* ****", '-'),
            ("*1** **２* ****", '２'),
        ] {
            assert_eq!(
                parse_notice(&S, &grid(row)).err(),
                Some(NoticeError::UnknownCharacter { row: 0, ch }),
                "{row}"
            );
        }
        assert_eq!(
            parse_notice(&S, &grid("*1** 2*** 1***")).err(),
            Some(NoticeError::DuplicateStep { step: 1 })
        );
        assert_eq!(
            parse_notice(&S, &grid("*a** 2*** A***")).err(),
            Some(NoticeError::DuplicateStep { step: 10 })
        );
        assert_eq!(
            parse_notice(&S, &grid("*1** 3*** ****")).err(),
            Some(NoticeError::MissingStep { step: 2 })
        );
        assert_eq!(
            parse_notice(&S, &grid("*2** 3*** ****")).err(),
            Some(NoticeError::MissingStep { step: 1 })
        );
        assert_eq!(
            parse_notice(&S, &grid("*1** 2*** Z***")).err(),
            Some(NoticeError::MissingStep { step: 3 })
        );
        assert_eq!(parse_notice(&S, &grid("**** **** ****")).unwrap().len(), 0);
        assert_eq!(
            parse_notice(&S, "").err(),
            Some(NoticeError::WrongRowCount {
                expected: 4,
                found: 0
            })
        );
        let bad = GridSpec {
            rows: 1,
            cols: 12,
            block_width: 4,
        };
        assert!(matches!(
            parse_notice(&bad, "****"),
            Err(NoticeError::InvalidSpec(_))
        ));
        // Spaces inside blocks are tolerated too (only the cell count matters).
        assert_eq!(
            parse_notice(&S, &grid("* 1 * * 2***Z***")).err(),
            Some(NoticeError::MissingStep { step: 3 })
        );
        assert_eq!(
            parse_notice(&S, &grid("*1**2*******")).unwrap().cells(),
            &[1, 4]
        );
    }
}
