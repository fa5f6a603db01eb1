//! Matrix (grid) one-time password: the product's signature knowledge factor.
//!
//! The sign-in page shows a grid of random digits (by default three 4x4 blocks side by side,
//! 4 rows x 12 columns). The user remembers a *pattern*: which cells, in which order. Reading
//! the digits in those cells (plus an optional fixed *additional phrase* before, after or inside
//! them) gives a one-time password that changes at every sign-in.
//!
//! ```
//! use passlogic_idp_core::factor::matrix::{self, GridSpec, MatrixSecret, Pattern, PhrasePosition};
//! # use rand::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let now = time::OffsetDateTime::UNIX_EPOCH;
//! let secret = MatrixSecret { pattern: Pattern::parse_csv("0,5,10,13,30,47")?, phrase: None };
//!
//! let challenge = matrix::start(&GridSpec::default(), &mut rng, now, matrix::DEFAULT_TTL);
//! // Show `challenge.grid.text_rows()` (or an HTML table); store `challenge` for this attempt.
//! let typed = matrix::expected_answer(&challenge.grid, &secret, PhrasePosition::Before)?;
//! assert!(matrix::finish(challenge, &secret, PhrasePosition::Before, &typed, now).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pieces:
//! - [`GridSpec`], [`Grid`], [`generate_grid`]: geometry and the balanced digit generator;
//! - [`Pattern`], [`PatternRules`], [`generate_initial_pattern`]: the secret and the
//!   administrator's rules;
//! - [`MatrixSecret`], [`PhrasePosition`], [`expected_answer`], [`normalize_answer`]: what is
//!   stored (sealed, see [`crate::seal`]) and what the user must type;
//! - [`start`], [`finish`], [`finish_unknown`]: one sign-in attempt;
//! - [`render_notice`], [`parse_notice`]: the initial-pattern notice for new users.
//!
//! # Digit spread
//!
//! A uniformly random grid is a poor choice: each digit of a 48-cell grid appears only once
//! with probability 48 x 0.1 x 0.9^47 = 3.4 %, and some digit appears exactly once in about
//! 30 % of uniform 4x12 grids. An observer who sees one sign-in (grid and typed answer) then
//! knows the exact cell behind every pattern position that typed such a unique digit.
//!
//! [`generate_grid`] therefore balances the digits. Inside every block of `n` cells each digit
//! 0-9 appears `n / 10` times, and the remaining `n % 10` cells get *distinct* extra digits,
//! preferring the digits whose count in the whole grid so far is lowest (ties broken uniformly
//! at random with the caller's rng); then the block's cells are shuffled uniformly
//! (Fisher-Yates). By symmetry every cell still shows every digit with probability exactly 1/10.
//!
//! For the default 4x12 grid (three blocks of 16 cells) this means:
//! - every digit appears in every block, once or twice: 3 to 6 times in the grid by the block
//!   rule alone, 4.8 times on average, so no digit is ever unique in the grid;
//! - with the grid-wide balancing it is tighter still: eight digits appear exactly 5 times and
//!   two digits exactly 4 times in every grid;
//! - so one observed sign-in narrows each pattern position to at least 3 cells (in fact 4 or 5,
//!   about 4.8 on average) out of 48, i.e. it leaks about log2(48 / 4.8) = 3.3 bits per
//!   position, never more than log2(48 / 3) = 4 bits (with the balancing at most
//!   log2(48 / 4) = 3.6 bits), instead of up to the full log2(48) = 5.6 bits when a digit is
//!   unique.
//!
//! This only slows an observer down: each further observation intersects the candidate sets
//! again, and two or three observed sign-ins still pin a pattern on any practical grid. Treat
//! the factor as something-you-know, throttle guesses like a 6-digit PIN (a blind guess
//! succeeds with probability about 10^-len), and make the user change the pattern after any
//! suspected exposure.
//!
//! # Pattern rules
//!
//! [`PatternRules::check`] applies, in this order (the first violation is returned):
//! - **length**: `min_len <= len <= max_len` (default 6 to 12), counting repeated cells;
//! - **range**: every cell is inside the grid;
//! - **single stroke** (`forbid_single_stroke`): a pattern is single-stroke when every
//!   consecutive pair of cells is the same cell or 8-neighbours (a king move), i.e. it can be
//!   drawn without lifting the finger; such patterns are refused. A one-cell pattern is
//!   single-stroke;
//! - **every block** (`require_every_block`): each block holds at least one cell of the
//!   pattern;
//! - **straight line** (`forbid_straight_line`): refused when all *distinct* cells are
//!   collinear, at any slope (rows, columns, diagonals, knight-move slopes, ...), tested with
//!   the cross product on (row, column); one distinct cell counts as a line, and so do any
//!   two.
//!
//! Patterns may go in any direction, skip around and reuse cells. [`generate_initial_pattern`]
//! draws *distinct* cells satisfying the rules.
//!
//! # Initial-pattern notice
//!
//! New users receive their initial pattern as text (a published format):
//!
//! ```text
//! *4** 2*** 1**3
//! **** **** ****
//! **** **** ****
//! **** **** ****
//! ```
//!
//! - one character per cell: `*` for an unused cell, otherwise the step number: `1`-`9` for
//!   steps 1-9, then `A`-`Z` for steps 10-35;
//! - one line per grid row, blocks separated by ONE space; lines joined with `\n`, no trailing
//!   newline;
//! - because one character holds one step, a notice only carries patterns with distinct cells
//!   and at most 35 steps ([`render_notice`] refuses others; initial patterns are always
//!   distinct);
//! - the parser ([`parse_notice`]) also accepts lowercase letters, ignores leading and trailing
//!   whitespace on each line and blank lines, treats the spaces between blocks as optional,
//!   requires exactly `rows` lines of exactly `cols` cells, and refuses unknown characters,
//!   duplicate steps and gaps (steps must be exactly 1..=n).
//!
//! The example above reads: step 1 is row 0, column 8; step 2 is column 4; step 3 is column
//! 11; step 4 is column 1.
//!
//! # Answers
//!
//! [`finish`] compares the normalised typed answer (outer whitespace trimmed, full-width ASCII
//! as typed by Japanese IMEs mapped to ASCII; see [`normalize_answer`]) with the expected
//! answer in constant time, and reports expiry ([`MatrixFailure::Expired`]) or a wrong answer.
//! Single use of a challenge is the caller's store's job. For unknown user IDs call
//! [`finish_unknown`], which does the same work and fails the same way.

mod challenge;
mod grid;
mod notice;
mod pattern;
mod phrase;
mod rules;

pub use challenge::{finish, finish_unknown, start, MatrixChallenge, MatrixFailure, DEFAULT_TTL};
pub use grid::{
    generate_grid, Grid, GridSpec, GridSpecError, MAX_COLS, MAX_ROWS, MIN_COLS, MIN_ROWS,
};
pub use notice::{parse_notice, render_notice, NoticeError, NOTICE_MAX_STEPS};
pub use pattern::{Pattern, PatternParseError};
pub use phrase::{
    expected_answer, normalize_answer, MatrixSecret, PhrasePosition, SecretFormatError,
};
pub use rules::{generate_initial_pattern, PatternRejection, PatternRules};
