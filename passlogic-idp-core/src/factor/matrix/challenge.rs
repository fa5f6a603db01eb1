//! One sign-in attempt: [`start`] draws a grid, [`finish`] checks the typed answer.

use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use time::OffsetDateTime;

use super::grid::{generate_grid, Grid, GridSpec};
use super::pattern::Pattern;
use super::phrase::{expected_answer, normalize_answer, MatrixSecret, PhrasePosition};

/// One grid shown for one sign-in attempt. Single use is the caller's store's job (the server
/// deletes it atomically when an answer arrives); expiry is checked here.
///
/// Times are serialized as Unix timestamps in whole seconds; [`start`] truncates them to whole
/// seconds so a stored challenge reads back unchanged.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MatrixChallenge {
    /// The digits shown to the user.
    pub grid: Grid,
    /// When the grid was drawn.
    #[serde(with = "time::serde::timestamp")]
    pub issued_at: OffsetDateTime,
    /// The first instant at which the grid is no longer accepted.
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
}

/// How long a grid stays valid unless the policy says otherwise: 5 minutes.
pub const DEFAULT_TTL: time::Duration = time::Duration::minutes(5);

/// Draws a fresh grid for one sign-in attempt, valid from `now` for `ttl`.
///
/// `issued_at` and `expires_at` are truncated to whole seconds. A `ttl` that would overflow the
/// date range yields a challenge that is already expired.
pub fn start(
    spec: &GridSpec,
    rng: &mut (impl RngCore + CryptoRng),
    now: OffsetDateTime,
    ttl: time::Duration,
) -> MatrixChallenge {
    let issued_at = whole_seconds(now);
    let expires_at = issued_at
        .checked_add(ttl)
        .map(whole_seconds)
        .unwrap_or(issued_at);
    MatrixChallenge {
        grid: generate_grid(spec, rng),
        issued_at,
        expires_at,
    }
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Why [`finish`] refused an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixFailure {
    /// The grid's time ran out (`now >= expires_at`); show a new grid.
    #[error("the grid has expired")]
    Expired,
    /// The answer does not match (also for a pattern that does not fit the grid).
    #[error("the answer is wrong")]
    WrongAnswer,
}

/// Consumes the challenge. Constant-time comparison (subtle::ConstantTimeEq) of
/// normalize_answer(answer) vs expected_answer; expired when now >= expires_at (checked, but
/// the comparison is still computed so timing does not tell which failed). A pattern that does
/// not fit the grid is WrongAnswer.
///
/// Both sides go through [`normalize_answer`] (so a phrase containing full-width characters is
/// accepted typed either way) and are hashed with SHA-256 before the constant-time comparison,
/// so the time taken does not depend on where, or whether, the lengths differ. An empty
/// expected answer (empty pattern and no phrase) never matches. When the challenge is expired
/// the result is [`MatrixFailure::Expired`] whatever the answer.
pub fn finish(
    challenge: MatrixChallenge,
    secret: &MatrixSecret,
    position: PhrasePosition,
    answer: &str,
    now: OffsetDateTime,
) -> Result<(), MatrixFailure> {
    let expired = now >= challenge.expires_at;
    let matched = answer_matches(&challenge.grid, secret, position, answer);
    if expired {
        Err(MatrixFailure::Expired)
    } else if matched {
        Ok(())
    } else {
        Err(MatrixFailure::WrongAnswer)
    }
}

/// For unknown user IDs: performs the same work as `finish` against a throwaway secret so
/// timing and result shape match, and always fails.
///
/// Returns [`MatrixFailure::Expired`] when the challenge is expired and
/// [`MatrixFailure::WrongAnswer`] otherwise, exactly as a known user with a wrong answer would
/// get.
pub fn finish_unknown(
    challenge: MatrixChallenge,
    answer: &str,
    now: OffsetDateTime,
) -> MatrixFailure {
    let cells = challenge.grid.digits().len().min(6);
    let throwaway = MatrixSecret {
        pattern: Pattern::new((0..cells).map(|c| u16::try_from(c).unwrap_or(0)).collect()),
        phrase: None,
    };
    match finish(challenge, &throwaway, PhrasePosition::Before, answer, now) {
        Err(MatrixFailure::Expired) => MatrixFailure::Expired,
        Ok(()) | Err(MatrixFailure::WrongAnswer) => MatrixFailure::WrongAnswer,
    }
}

fn answer_matches(
    grid: &Grid,
    secret: &MatrixSecret,
    position: PhrasePosition,
    answer: &str,
) -> bool {
    let (expected, fits) = match expected_answer(grid, secret, position) {
        Ok(expected) => (normalize_answer(&expected), Choice::from(1)),
        Err(_) => (String::new(), Choice::from(0)),
    };
    let non_empty = Choice::from(u8::from(!expected.is_empty()));
    let given = answer_digest(&normalize_answer(answer));
    let wanted = answer_digest(&expected);
    (given.as_slice().ct_eq(wanted.as_slice()) & fits & non_empty).into()
}

fn answer_digest(answer: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"passlogic-matrix-answer\0");
    h.update(answer.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use time::Duration;

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
    }

    fn challenge(seed: u64) -> MatrixChallenge {
        start(
            &GridSpec::default(),
            &mut ChaCha20Rng::seed_from_u64(seed),
            t0(),
            DEFAULT_TTL,
        )
    }

    fn secret(cells: &[u16], phrase: Option<&str>) -> MatrixSecret {
        MatrixSecret {
            pattern: Pattern::new(cells.to_vec()),
            phrase: phrase.map(str::to_owned),
        }
    }

    fn digits_of(c: &MatrixChallenge, cells: &[u16]) -> String {
        cells
            .iter()
            .map(|&cell| char::from(b'0' + c.grid.digit(cell).unwrap()))
            .collect()
    }

    const CELLS: [u16; 6] = [0, 17, 34, 47, 5, 22];

    #[test]
    fn start_sets_times() {
        assert_eq!(DEFAULT_TTL, Duration::seconds(300));
        let c = challenge(1);
        assert_eq!(c.issued_at, t0());
        assert_eq!(c.expires_at, t0() + Duration::minutes(5));
        assert_eq!(c.grid.digits().len(), 48);
        let c = start(
            &GridSpec::default(),
            &mut ChaCha20Rng::seed_from_u64(1),
            t0() + Duration::milliseconds(700),
            Duration::seconds(30),
        );
        assert_eq!(c.issued_at, t0());
        assert_eq!(c.expires_at, t0() + Duration::seconds(30));
        let c = start(
            &GridSpec::default(),
            &mut ChaCha20Rng::seed_from_u64(1),
            t0(),
            Duration::MAX,
        );
        assert_eq!(c.expires_at, c.issued_at);
    }

    #[test]
    fn correct_answers_with_phrases() {
        for (position, shape) in [
            (PhrasePosition::Before, "P+D"),
            (PhrasePosition::After, "D+P"),
            (PhrasePosition::Inside(0), "P+D"),
            (PhrasePosition::Inside(3), "3"),
            (PhrasePosition::Inside(42), "D+P"),
        ] {
            let c = challenge(2);
            let d = digits_of(&c, &CELLS);
            let answer = match shape {
                "P+D" => format!("kiwi!{d}"),
                "D+P" => format!("{d}kiwi!"),
                _ => format!("{}kiwi!{}", &d[..3], &d[3..]),
            };
            let s = secret(&CELLS, Some("kiwi!"));
            assert_eq!(
                finish(c.clone(), &s, position, &answer, t0()),
                Ok(()),
                "{position:?}"
            );
            assert_eq!(
                finish(c.clone(), &s, position, &format!("  {answer}\n"), t0()),
                Ok(())
            );
            // The phrase in the wrong place fails.
            let wrong = if shape == "D+P" {
                format!("kiwi!{d}")
            } else {
                format!("{d}kiwi!")
            };
            assert_eq!(
                finish(c, &s, position, &wrong, t0()),
                Err(MatrixFailure::WrongAnswer),
                "{position:?}"
            );
        }
    }

    #[test]
    fn full_width_digits_accepted() {
        let c = challenge(3);
        let d = digits_of(&c, &CELLS);
        let wide: String = d
            .chars()
            .map(|ch| char::from_u32(u32::from(ch) + 0xFEE0).unwrap())
            .collect();
        assert_ne!(wide, d);
        let s = secret(&CELLS, None);
        assert_eq!(
            finish(c.clone(), &s, PhrasePosition::Before, &wide, t0()),
            Ok(())
        );
        assert_eq!(
            finish(
                c.clone(),
                &s,
                PhrasePosition::Before,
                &format!("\u{3000}{wide}\u{3000}"),
                t0()
            ),
            Ok(())
        );
        // Full-width phrase typed either way, against a full-width stored phrase.
        let s = secret(&CELLS, Some("ａｂ"));
        assert_eq!(
            finish(
                c.clone(),
                &s,
                PhrasePosition::After,
                &format!("{d}ab"),
                t0()
            ),
            Ok(())
        );
        assert_eq!(
            finish(c, &s, PhrasePosition::After, &format!("{wide}ａｂ"), t0()),
            Ok(())
        );
    }

    #[test]
    fn wrong_answers_rejected() {
        let c = challenge(4);
        let d = digits_of(&c, &CELLS);
        let s = secret(&CELLS, None);
        let mut off = d.clone().into_bytes();
        off[5] = b'0' + (off[5] - b'0' + 1) % 10;
        let off = String::from_utf8(off).unwrap();
        for answer in [
            "".to_owned(),
            off,
            d[..5].to_owned(),
            format!("{d}0"),
            format!("{} {}", &d[..3], &d[3..]),
            "000000".to_owned(),
        ] {
            assert_eq!(
                finish(c.clone(), &s, PhrasePosition::Before, &answer, t0()),
                Err(MatrixFailure::WrongAnswer),
                "{answer:?}"
            );
        }
        // A pattern that does not fit the grid is a wrong answer, never a panic.
        let big = secret(&[0, 1, 2, 3, 4, 200], None);
        assert_eq!(
            finish(c.clone(), &big, PhrasePosition::Before, &d, t0()),
            Err(MatrixFailure::WrongAnswer)
        );
        // An empty pattern without phrase never matches, not even the empty answer.
        assert_eq!(
            finish(c, &secret(&[], None), PhrasePosition::Before, "", t0()),
            Err(MatrixFailure::WrongAnswer)
        );
    }

    #[test]
    fn expiry_boundary() {
        let c = challenge(5);
        let d = digits_of(&c, &CELLS);
        let s = secret(&CELLS, None);
        let at = c.expires_at;
        let ok = |now| finish(c.clone(), &s, PhrasePosition::Before, &d, now);
        assert_eq!(ok(at - Duration::nanoseconds(1)), Ok(()));
        assert_eq!(ok(at), Err(MatrixFailure::Expired));
        assert_eq!(ok(at + Duration::days(1)), Err(MatrixFailure::Expired));
        assert_eq!(
            finish(c.clone(), &s, PhrasePosition::Before, "nope", at),
            Err(MatrixFailure::Expired)
        );
    }

    #[test]
    fn unknown_user_always_fails() {
        for seed in 0..50 {
            let c = challenge(seed);
            // Even the throwaway secret's own answer fails.
            let throwaway = digits_of(&c, &[0, 1, 2, 3, 4, 5]);
            for answer in [throwaway.as_str(), "123456", ""] {
                assert_eq!(
                    finish_unknown(c.clone(), answer, t0()),
                    MatrixFailure::WrongAnswer
                );
                assert_eq!(
                    finish_unknown(c.clone(), answer, c.expires_at),
                    MatrixFailure::Expired
                );
            }
        }
    }

    #[test]
    fn challenge_serde_round_trip() {
        let c = challenge(6);
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"issued_at\":1700000000"), "{json}");
        let back: MatrixChallenge = serde_json::from_str(&json).unwrap();
        assert_eq!(back.grid, c.grid);
        assert_eq!(back.issued_at, c.issued_at);
        assert_eq!(back.expires_at, c.expires_at);
    }
}
