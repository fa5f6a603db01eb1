//! Hardware token seeds from a CSV file.
//!
//! # Format
//!
//! UTF-8 (a leading byte order mark is tolerated), comma-separated, fields may be quoted, blank
//! lines are skipped, surrounding spaces are trimmed. The first row is the header:
//!
//! ```text
//! serial,seed,algorithm,digits,period,counter,encoding
//! HW-0001,3132333435363738393031323334353637383930,SHA1,6,,0,hex
//! HW-0002,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,SHA256,8,30,,base32
//! ```
//!
//! Columns are found by name (case-insensitive, any order); `serial`, `seed` and `encoding` are
//! required, the others may be omitted.
//!
//! | column      | meaning                                                                      |
//! |-------------|------------------------------------------------------------------------------|
//! | `serial`    | serial number printed on the token; must be unique in the file               |
//! | `seed`      | the shared secret, in the `encoding` of the row; at least 16 bytes           |
//! | `algorithm` | `SHA1`, `SHA256` or `SHA512` (also `HMAC-SHA1`, ...); empty = `SHA1`         |
//! | `digits`    | code length, `6` or `8` (`7` accepted); empty = `6`                          |
//! | `period`    | TOTP time step in seconds (1..=300): the row is a TOTP token                 |
//! | `counter`   | HOTP counter the token uses next: the row is an HOTP token                   |
//! | `encoding`  | `hex` (Base16, also `base16`) or `base32` (case-insensitive)                 |
//!
//! Every row fills exactly one of `period` and `counter`. Base32 seeds (some card tokens ship
//! them) are decoded to bytes on import, as are hex seeds: the stored form is always binary, and
//! Base16 is its canonical export ([`OtpSecret::to_hex`]). Base32 may be lower case, unpadded,
//! or grouped with spaces.
//!
//! Errors name the row (1-based; the header is row 1; the line on which a record starts) and the
//! field. The whole file is refused on the first error.

use std::collections::HashMap;

use super::{check_secret_len, ImportError, TokenKind, TokenSeed, MAX_INPUT_LEN};
use crate::factor::otp::{OtpAlgorithm, OtpSecret};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Serial,
    Seed,
    Algorithm,
    Digits,
    Period,
    Counter,
    Encoding,
}

impl Column {
    const ALL: [Column; 7] = [
        Column::Serial,
        Column::Seed,
        Column::Algorithm,
        Column::Digits,
        Column::Period,
        Column::Counter,
        Column::Encoding,
    ];

    fn name(self) -> &'static str {
        match self {
            Column::Serial => "serial",
            Column::Seed => "seed",
            Column::Algorithm => "algorithm",
            Column::Digits => "digits",
            Column::Period => "period",
            Column::Counter => "counter",
            Column::Encoding => "encoding",
        }
    }

    fn required(self) -> bool {
        matches!(self, Column::Serial | Column::Seed | Column::Encoding)
    }
}

fn row_error(row: usize, field: &str, reason: impl Into<String>) -> ImportError {
    ImportError::Csv {
        row,
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn csv_error(err: &::csv::Error, fallback_row: usize) -> ImportError {
    let row = err
        .position()
        .and_then(|p| usize::try_from(p.line()).ok())
        .unwrap_or(fallback_row);
    row_error(row, "-", err.to_string())
}

/// Parses a token seed CSV file (format in the [module documentation](self)).
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<TokenSeed>, ImportError> {
    if bytes.len() > MAX_INPUT_LEN {
        return Err(ImportError::TooLarge {
            limit: MAX_INPUT_LEN,
        });
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.records();

    let header = match records.next() {
        None => return Err(ImportError::Empty),
        Some(Err(e)) => return Err(csv_error(&e, 1)),
        Some(Ok(record)) => record,
    };
    let mut index: Vec<(Column, usize)> = Vec::new();
    for (position, name) in header.iter().enumerate() {
        let column = Column::ALL
            .iter()
            .copied()
            .find(|c| c.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| row_error(1, name, "unknown column"))?;
        if index.iter().any(|(c, _)| *c == column) {
            return Err(row_error(1, column.name(), "column appears twice"));
        }
        index.push((column, position));
    }
    if let Some(missing) = Column::ALL
        .iter()
        .find(|c| c.required() && !index.iter().any(|(have, _)| have == *c))
    {
        return Err(row_error(1, missing.name(), "required column missing"));
    }

    let mut seeds = Vec::new();
    let mut first_rows: HashMap<String, usize> = HashMap::new();
    for (n, record) in records.enumerate() {
        let fallback_row = n + 2;
        let record = record.map_err(|e| csv_error(&e, fallback_row))?;
        let row = record
            .position()
            .and_then(|p| usize::try_from(p.line()).ok())
            .unwrap_or(fallback_row);
        if record.len() != header.len() {
            return Err(row_error(
                row,
                "-",
                format!(
                    "the row has {} fields, the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
        }
        let field = |column: Column| -> &str {
            index
                .iter()
                .find(|(c, _)| *c == column)
                .and_then(|(_, position)| record.get(*position))
                .unwrap_or("")
        };
        let seed = parse_row(row, &field)?;
        if let Some(&first_row) = first_rows.get(&seed.serial) {
            return Err(ImportError::DuplicateSerial {
                row,
                first_row,
                serial: seed.serial,
            });
        }
        first_rows.insert(seed.serial.clone(), row);
        seeds.push(seed);
    }
    if seeds.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(seeds)
}

fn parse_row<'a>(row: usize, field: &dyn Fn(Column) -> &'a str) -> Result<TokenSeed, ImportError> {
    let serial = field(Column::Serial);
    if serial.is_empty() {
        return Err(row_error(row, "serial", "empty"));
    }
    if serial.chars().any(char::is_control) {
        return Err(row_error(row, "serial", "contains a control character"));
    }

    let encoding = field(Column::Encoding);
    let seed_text = field(Column::Seed);
    if seed_text.is_empty() {
        return Err(row_error(row, "seed", "empty"));
    }
    let secret = match encoding.to_ascii_lowercase().as_str() {
        "hex" | "base16" => OtpSecret::from_hex(seed_text),
        "base32" => OtpSecret::from_base32(seed_text),
        "" => return Err(row_error(row, "encoding", "empty (use hex or base32)")),
        other => {
            return Err(row_error(
                row,
                "encoding",
                format!("{other:?} is neither hex nor base32"),
            ))
        }
    }
    .map_err(|e| row_error(row, "seed", e.to_string()))?;
    check_secret_len(&secret).map_err(|reason| row_error(row, "seed", reason))?;

    let algorithm = match field(Column::Algorithm) {
        "" => OtpAlgorithm::Sha1,
        name => OtpAlgorithm::from_name(name).ok_or_else(|| {
            row_error(
                row,
                "algorithm",
                format!("{name:?} is not SHA1, SHA256 or SHA512"),
            )
        })?,
    };

    let digits = match field(Column::Digits) {
        "" => 6,
        text => match text.parse::<u8>() {
            Ok(d @ 6..=8) => d,
            _ => return Err(row_error(row, "digits", format!("{text:?} is not 6 or 8"))),
        },
    };

    let kind = match (field(Column::Period), field(Column::Counter)) {
        ("", "") => {
            return Err(row_error(
                row,
                "period",
                "fill period (TOTP) or counter (HOTP)",
            ))
        }
        (period, counter) if !period.is_empty() && !counter.is_empty() => {
            return Err(row_error(
                row,
                "counter",
                "fill only one of period (TOTP) and counter (HOTP)",
            ))
        }
        (period, "") => match period.parse::<u32>() {
            Ok(p @ 1..=300) => TokenKind::Totp { period_secs: p },
            _ => {
                return Err(row_error(
                    row,
                    "period",
                    format!("{period:?} is not a number of seconds in 1..=300"),
                ))
            }
        },
        (_, counter) => match counter.parse::<u64>() {
            Ok(c) => TokenKind::Hotp { counter: c },
            Err(_) => {
                return Err(row_error(
                    row,
                    "counter",
                    format!("{counter:?} is not a non-negative integer"),
                ))
            }
        },
    };

    Ok(TokenSeed {
        serial: serial.to_string(),
        secret,
        kind,
        algorithm,
        digits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";
    const HEADER: &str = "serial,seed,algorithm,digits,period,counter,encoding\n";

    fn parse(body: &str) -> Result<Vec<TokenSeed>, ImportError> {
        parse_csv(format!("{HEADER}{body}").as_bytes())
    }

    fn csv_err(result: Result<Vec<TokenSeed>, ImportError>) -> (usize, String) {
        match result {
            Err(ImportError::Csv { row, field, .. }) => (row, field),
            other => panic!("expected a CSV error, got {other:?}"),
        }
    }

    #[test]
    fn sample_fixture_imports() {
        let bytes = include_bytes!("../../../../fixtures/tokens/sample.csv");
        let seeds = parse_csv(bytes).expect("sample.csv");
        assert_eq!(seeds.len(), 4);
        for seed in &seeds {
            assert_eq!(seed.secret.as_bytes(), RFC_SECRET, "{}", seed.serial);
        }
        assert_eq!(seeds[0].serial, "HW-HOTP-0001");
        assert!(matches!(seeds[0].kind, TokenKind::Hotp { counter: 0 }));
        assert_eq!(
            (seeds[0].algorithm, seeds[0].digits),
            (OtpAlgorithm::Sha1, 6)
        );
        assert_eq!(seeds[1].serial, "HW-TOTP-0002");
        assert!(matches!(seeds[1].kind, TokenKind::Totp { period_secs: 30 }));
        assert_eq!(seeds[2].serial, "CARD-0003");
        assert!(matches!(seeds[2].kind, TokenKind::Totp { period_secs: 60 }));
        assert_eq!(
            (seeds[2].algorithm, seeds[2].digits),
            (OtpAlgorithm::Sha256, 8)
        );
        assert_eq!(seeds[3].serial, "CARD-0004");
        assert!(matches!(seeds[3].kind, TokenKind::Hotp { counter: 42 }));
        // Base32 seeds come out as the same bytes, exported canonically as Base16.
        assert_eq!(
            seeds[2].secret.to_hex(),
            "3132333435363738393031323334353637383930"
        );
    }

    #[test]
    fn bom_and_defaults() {
        let text =
            format!("\u{feff}{HEADER}T1,3132333435363738393031323334353637383930,,,30,,HEX\n");
        let seeds = parse_csv(text.as_bytes()).expect("parse");
        assert_eq!(seeds[0].algorithm, OtpAlgorithm::Sha1);
        assert_eq!(seeds[0].digits, 6);
        assert!(matches!(seeds[0].kind, TokenKind::Totp { period_secs: 30 }));
    }

    #[test]
    fn columns_by_name_any_order_optional_ones_omitted() {
        let text =
            "Encoding, Serial ,SEED,counter\nbase32,X9,gezd gnbv gy3t qojq gezd gnbv gy3t qojq,7\n";
        let seeds = parse_csv(text.as_bytes()).expect("parse");
        assert_eq!(seeds[0].serial, "X9");
        assert_eq!(seeds[0].secret.as_bytes(), RFC_SECRET);
        assert!(matches!(seeds[0].kind, TokenKind::Hotp { counter: 7 }));
    }

    #[test]
    fn errors_name_row_and_field() {
        let good = "A,3132333435363738393031323334353637383930,SHA1,6,30,,hex\n";
        let cases: [(&str, &str); 11] = [
            ("B,zz,SHA1,6,30,,hex\n", "seed"),
            ("B,3132,SHA1,6,30,,hex\n", "seed"),
            (
                "B,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1,SHA1,6,30,,base32\n",
                "seed",
            ),
            (
                "B,3132333435363738393031323334353637383930,MD5,6,30,,hex\n",
                "algorithm",
            ),
            (
                "B,3132333435363738393031323334353637383930,SHA1,9,30,,hex\n",
                "digits",
            ),
            (
                "B,3132333435363738393031323334353637383930,SHA1,6,0,,hex\n",
                "period",
            ),
            (
                "B,3132333435363738393031323334353637383930,SHA1,6,,,hex\n",
                "period",
            ),
            (
                "B,3132333435363738393031323334353637383930,SHA1,6,30,0,hex\n",
                "counter",
            ),
            (
                "B,3132333435363738393031323334353637383930,SHA1,6,,-1,hex\n",
                "counter",
            ),
            (
                "B,3132333435363738393031323334353637383930,SHA1,6,30,,base64\n",
                "encoding",
            ),
            (
                ",3132333435363738393031323334353637383930,SHA1,6,30,,hex\n",
                "serial",
            ),
        ];
        for (bad, field) in cases {
            let (row, got) = csv_err(parse(&format!("{good}{bad}")));
            assert_eq!((row, got.as_str()), (3, field), "{bad}");
        }
        let other = good.replacen('A', "Z", 1);
        let (row, field) = csv_err(parse(&format!("{good}{other}B,1,2\n")));
        assert_eq!((row, field.as_str()), (4, "-"));
    }

    #[test]
    fn header_errors() {
        let (row, field) = csv_err(parse_csv(b"serial,seed,colour,encoding\n"));
        assert_eq!((row, field.as_str()), (1, "colour"));
        let (row, field) = csv_err(parse_csv(b"serial,seed\nA,00\n"));
        assert_eq!((row, field.as_str()), (1, "encoding"));
        let (row, field) = csv_err(parse_csv(b"serial,seed,seed,encoding\n"));
        assert_eq!((row, field.as_str()), (1, "seed"));
        assert_eq!(parse_csv(b"").err(), Some(ImportError::Empty));
        assert_eq!(parse_csv(HEADER.as_bytes()).err(), Some(ImportError::Empty));
    }

    #[test]
    fn duplicate_serials_rejected() {
        let row = "A,3132333435363738393031323334353637383930,SHA1,6,30,,hex\n";
        let other = "B,3132333435363738393031323334353637383930,SHA1,6,30,,hex\n";
        assert_eq!(
            parse(&format!("{row}{other}{row}")).err(),
            Some(ImportError::DuplicateSerial {
                row: 4,
                first_row: 2,
                serial: "A".into()
            })
        );
    }

    #[test]
    fn non_utf8_and_oversized_refused() {
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"A\xff,3132333435363738393031323334353637383930,,,30,,hex\n");
        let (row, _) = csv_err(parse_csv(&bytes));
        assert_eq!(row, 2);
        let huge = vec![b'a'; MAX_INPUT_LEN + 1];
        assert_eq!(
            parse_csv(&huge).err(),
            Some(ImportError::TooLarge {
                limit: MAX_INPUT_LEN
            })
        );
    }
}
