//! Time-of-day access windows in the tenant's local time.
//!
//! A [`Window`] is written `Mon-Fri 08:00-20:00`: a set of weekdays, a start and an end time in
//! the tenant's clock ([`TenantClock`]). The start is inclusive and the end exclusive, to the
//! minute: `08:00-20:00` admits 08:00:00 and 19:59:59 and refuses 20:00:00. `24:00` may be used
//! as an end (`00:00-24:00` is the whole day).
//!
//! A window whose end is earlier than its start crosses midnight and belongs to the day it
//! *starts* on: `Fri 22:00-06:00` admits Friday from 22:00 and Saturday until 05:59, and not
//! Friday 05:00 (that part belongs to a Thursday window). A window whose start equals its end is
//! refused as ambiguous (write `00:00-24:00` for a full day).
//!
//! Weekdays: `Mon`..`Sun` (any case, also full English names), ranges `Mon-Fri` (which may wrap,
//! `Fri-Mon`), lists `Sat,Sun`, `Mon,Wed-Fri`, and `*` for every day. A schedule is a list of
//! windows; it admits an instant when any window does, and an empty list means no restriction.
//!
//! ```
//! use passlogic_idp_core::policy::schedule::{TenantClock, Window};
//! let w: Window = "Mon-Fri 08:00-20:00".parse().unwrap();
//! let clock = TenantClock { utc_offset_minutes: 9 * 60 }; // Asia/Tokyo
//! let now = time::macros::datetime!(2026-11-26 23:30 UTC); // Friday 08:30 in Tokyo
//! assert_eq!(clock.admits(&[w], now), Some(true));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset, Weekday};

/// The tenant's clock: a fixed offset from UTC, in minutes (`540` for Japan, `-300` for New York
/// in winter).
///
/// The core takes a fixed offset and no time-zone database on purpose: it reads no files and no
/// clock (sans-IO), and its decisions must not change when the host's tz data is updated. For a
/// zone with daylight saving time, the server looks up the offset *in force at `now`* (from its
/// own tz data or the tenant's configuration) and passes that; a window `08:00-20:00` then means
/// local wall-clock time on both sides of the change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantClock {
    /// Minutes east of UTC, within ±18 hours.
    pub utc_offset_minutes: i16,
}

/// The largest offset [`TenantClock::validate`] accepts (18 hours, as ISO 8601 practice).
pub const MAX_OFFSET_MINUTES: i16 = 18 * 60;

impl TenantClock {
    /// UTC.
    pub const UTC: TenantClock = TenantClock {
        utc_offset_minutes: 0,
    };

    /// Checks the offset is within ±18 hours.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        self.offset().map(|_| ())
    }

    /// The offset, when valid.
    pub fn offset(&self) -> Result<UtcOffset, ScheduleError> {
        let m = self.utc_offset_minutes;
        if m.unsigned_abs() > MAX_OFFSET_MINUTES.unsigned_abs() {
            return Err(ScheduleError::Offset(m));
        }
        UtcOffset::from_whole_seconds(i32::from(m) * 60).map_err(|_| ScheduleError::Offset(m))
    }

    /// `now` on the tenant's clock; `None` when the offset is invalid or the date leaves the
    /// supported range.
    pub fn local(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        now.checked_to_offset(self.offset().ok()?)
    }

    /// Whether the schedule admits `now` (an empty schedule admits everything); `None` when the
    /// local time cannot be computed (callers refuse access then).
    pub fn admits(&self, windows: &[Window], now: OffsetDateTime) -> Option<bool> {
        if windows.is_empty() {
            return Some(true);
        }
        let local = self.local(now)?;
        Some(windows.iter().any(|w| w.admits_local(local)))
    }
}

/// Why a schedule or clock setting was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The text is not `<days> <HH:MM>-<HH:MM>`.
    #[error("{0:?} is not a window like \"Mon-Fri 08:00-20:00\"")]
    Syntax(String),
    /// A weekday name is not recognised.
    #[error("{0:?} is not a weekday (Mon..Sun, ranges like Mon-Fri, lists like Sat,Sun, or *)")]
    Day(String),
    /// A time is not `HH:MM` between 00:00 and 23:59 (24:00 as an end only).
    #[error("{0:?} is not a time between 00:00 and 23:59 (24:00 only as an end)")]
    Time(String),
    /// Start and end are equal.
    #[error("a window from {0} to {0} is ambiguous; write 00:00-24:00 for a full day")]
    Empty(String),
    /// The UTC offset is beyond ±18 hours.
    #[error("UTC offset of {0} minutes is beyond ±18 hours")]
    Offset(i16),
}

const DAY_NAMES: [(&str, &str); 7] = [
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
];
const DAY_LABELS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const ALL_DAYS: u8 = 0b111_1111;

fn day_index(w: Weekday) -> u8 {
    w.number_days_from_monday()
}

fn parse_day(s: &str) -> Option<u8> {
    let l = s.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|(short, long)| l == *short || l == *long)
        .and_then(|i| u8::try_from(i).ok())
}

/// A set of weekdays, Monday = bit 0.
fn parse_days(s: &str) -> Result<u8, ScheduleError> {
    let err = || ScheduleError::Day(s.to_owned());
    if s.trim() == "*" {
        return Ok(ALL_DAYS);
    }
    let mut set = 0u8;
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let a = parse_day(a).ok_or_else(err)?;
                let b = parse_day(b).ok_or_else(err)?;
                let mut d = a;
                loop {
                    set |= 1 << d;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => set |= 1 << parse_day(part).ok_or_else(err)?,
        }
    }
    Ok(set)
}

fn format_days(set: u8) -> String {
    if set & ALL_DAYS == ALL_DAYS {
        return "*".to_owned();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut d = 0usize;
    while d < 7 {
        if set & (1 << d) == 0 {
            d += 1;
            continue;
        }
        let start = d;
        while d + 1 < 7 && set & (1 << (d + 1)) != 0 {
            d += 1;
        }
        parts.push(match d - start {
            0 => DAY_LABELS[start].to_owned(),
            1 => format!("{},{}", DAY_LABELS[start], DAY_LABELS[d]),
            _ => format!("{}-{}", DAY_LABELS[start], DAY_LABELS[d]),
        });
        d += 1;
    }
    parts.join(",")
}

/// Minutes since midnight, `HH:MM`.
fn parse_time(s: &str, allow_24: bool) -> Result<u16, ScheduleError> {
    let err = || ScheduleError::Time(s.to_owned());
    let (h, m) = s.split_once(':').ok_or_else(err)?;
    let two_digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
    if !(h.len() == 1 || two_digits(h)) || !h.bytes().all(|b| b.is_ascii_digit()) || !two_digits(m)
    {
        return Err(err());
    }
    let h: u16 = h.parse().map_err(|_| err())?;
    let m: u16 = m.parse().map_err(|_| err())?;
    match (h, m) {
        (24, 0) if allow_24 => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(err()),
    }
}

fn format_time(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

/// One weekly time window (`Mon-Fri 08:00-20:00`); see the [module documentation](self).
///
/// Serialised as its text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Window {
    days: u8,
    /// Minutes since midnight, 0..=1439.
    start: u16,
    /// Minutes since midnight, 0..=1440, != start.
    end: u16,
}

impl Window {
    /// A window from weekdays, start and end in minutes since midnight.
    pub fn new(
        days: &[Weekday],
        start_minute: u16,
        end_minute: u16,
    ) -> Result<Window, ScheduleError> {
        if start_minute >= 24 * 60 {
            return Err(ScheduleError::Time(format_time(start_minute)));
        }
        if end_minute > 24 * 60 {
            return Err(ScheduleError::Time(format_time(end_minute)));
        }
        if start_minute == end_minute {
            return Err(ScheduleError::Empty(format_time(start_minute)));
        }
        if days.is_empty() {
            return Err(ScheduleError::Day(String::new()));
        }
        let days = days.iter().fold(0u8, |s, d| s | (1 << day_index(*d)));
        Ok(Window {
            days,
            start: start_minute,
            end: end_minute,
        })
    }

    /// Whether the window passes midnight (`22:00-06:00`).
    pub fn crosses_midnight(&self) -> bool {
        self.end < self.start
    }

    /// Whether a local date-time (already on the tenant's clock) falls in the window.
    pub fn admits_local(&self, local: OffsetDateTime) -> bool {
        let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        let today = self.days & (1 << day_index(local.weekday())) != 0;
        if self.crosses_midnight() {
            let yesterday = self.days & (1 << day_index(local.weekday().previous())) != 0;
            (today && minute >= self.start) || (yesterday && minute < self.end)
        } else {
            today && self.start <= minute && minute < self.end
        }
    }
}

impl FromStr for Window {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Window, ScheduleError> {
        let syntax = || ScheduleError::Syntax(s.to_owned());
        let (days, times) = s
            .trim()
            .rsplit_once(char::is_whitespace)
            .ok_or_else(syntax)?;
        let (a, b) = times.split_once('-').ok_or_else(syntax)?;
        let days = parse_days(days.trim())?;
        let start = parse_time(a, false)?;
        let end = parse_time(b, true)?;
        if start == end {
            return Err(ScheduleError::Empty(format_time(start)));
        }
        Ok(Window { days, start, end })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}-{}",
            format_days(self.days),
            format_time(self.start),
            format_time(self.end)
        )
    }
}

impl fmt::Debug for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Window({self})")
    }
}

impl TryFrom<String> for Window {
    type Error = ScheduleError;
    fn try_from(s: String) -> Result<Window, ScheduleError> {
        s.parse()
    }
}

impl From<Window> for String {
    fn from(w: Window) -> String {
        w.to_string()
    }
}

/// Lists windows for an explanation: `Mon-Fri 08:00-20:00; Sat 10:00-14:00`.
pub fn describe(windows: &[Window]) -> String {
    windows
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn w(s: &str) -> Window {
        s.parse().unwrap()
    }

    #[test]
    fn window_edges_table() {
        // 2026-11-23 is a Monday; all instants here are on the UTC clock.
        let cases: &[(&str, OffsetDateTime, bool)] = &[
            ("Mon-Fri 08:00-20:00", datetime!(2026-11-23 08:00 UTC), true),
            (
                "Mon-Fri 08:00-20:00",
                datetime!(2026-11-23 07:59:59 UTC),
                false,
            ),
            (
                "Mon-Fri 08:00-20:00",
                datetime!(2026-11-23 19:59:59 UTC),
                true,
            ),
            (
                "Mon-Fri 08:00-20:00",
                datetime!(2026-11-23 20:00 UTC),
                false,
            ),
            ("Mon-Fri 08:00-20:00", datetime!(2026-11-27 12:00 UTC), true), // Fri
            (
                "Mon-Fri 08:00-20:00",
                datetime!(2026-11-28 12:00 UTC),
                false,
            ), // Sat
            (
                "Mon-Fri 08:00-20:00",
                datetime!(2026-11-29 12:00 UTC),
                false,
            ), // Sun
            // Across midnight, owned by the start day.
            ("Fri 22:00-06:00", datetime!(2026-11-27 21:59 UTC), false),
            ("Fri 22:00-06:00", datetime!(2026-11-27 22:00 UTC), true),
            ("Fri 22:00-06:00", datetime!(2026-11-27 23:59:59 UTC), true),
            ("Fri 22:00-06:00", datetime!(2026-11-28 00:00 UTC), true),
            ("Fri 22:00-06:00", datetime!(2026-11-28 05:59 UTC), true),
            ("Fri 22:00-06:00", datetime!(2026-11-28 06:00 UTC), false),
            ("Fri 22:00-06:00", datetime!(2026-11-27 05:00 UTC), false), // Fri morning
            ("Fri 22:00-06:00", datetime!(2026-11-28 22:30 UTC), false), // Sat night
            // Sunday night into Monday wraps the week.
            ("Sun 22:00-06:00", datetime!(2026-11-30 05:59 UTC), true),
            ("Sun 22:00-06:00", datetime!(2026-11-23 05:59 UTC), true),
            ("Sun 22:00-06:00", datetime!(2026-11-24 05:59 UTC), false),
            // Full day and the 24:00 end.
            ("Sat,Sun 00:00-24:00", datetime!(2026-11-28 00:00 UTC), true),
            (
                "Sat,Sun 00:00-24:00",
                datetime!(2026-11-29 23:59:59 UTC),
                true,
            ),
            (
                "Sat,Sun 00:00-24:00",
                datetime!(2026-11-30 00:00 UTC),
                false,
            ),
            ("* 09:00-17:00", datetime!(2026-11-29 09:00 UTC), true),
            ("Fri-Mon 09:00-17:00", datetime!(2026-11-30 10:00 UTC), true),
            (
                "Fri-Mon 09:00-17:00",
                datetime!(2026-11-24 10:00 UTC),
                false,
            ),
        ];
        for (win, at, want) in cases {
            assert_eq!(
                TenantClock::UTC.admits(&[w(win)], *at),
                Some(*want),
                "{win} at {at}"
            );
        }
    }

    #[test]
    fn the_same_instant_differs_by_tenant_offset() {
        // 2026-11-26 23:30 UTC: Friday 08:30 in UTC+9, Thursday 18:30 in UTC-5.
        let at = datetime!(2026-11-26 23:30 UTC);
        let morning = [w("Mon-Fri 08:00-12:00")];
        let tokyo = TenantClock {
            utc_offset_minutes: 540,
        };
        let new_york = TenantClock {
            utc_offset_minutes: -300,
        };
        assert_eq!(tokyo.admits(&morning, at), Some(true));
        assert_eq!(new_york.admits(&morning, at), Some(false));
        assert_eq!(TenantClock::UTC.admits(&morning, at), Some(false));
        // An instant given in another offset is converted, not read as wall-clock.
        let same = datetime!(2026-11-27 08:30 +09:00);
        assert_eq!(new_york.admits(&morning, same), Some(false));
        assert_eq!(tokyo.admits(&morning, same), Some(true));
    }

    #[test]
    fn empty_schedule_admits_and_bad_clock_refuses() {
        let at = datetime!(2026-11-26 23:30 UTC);
        assert_eq!(TenantClock::UTC.admits(&[], at), Some(true));
        let bad = TenantClock {
            utc_offset_minutes: 19 * 60,
        };
        assert!(bad.validate().is_err());
        assert_eq!(bad.admits(&[w("* 00:00-24:00")], at), None);
        assert!(TenantClock {
            utc_offset_minutes: i16::MIN
        }
        .validate()
        .is_err());
        assert!(TenantClock {
            utc_offset_minutes: -18 * 60
        }
        .validate()
        .is_ok());
        // The edge of the supported date range does not panic.
        let edge = time::PrimitiveDateTime::MAX.assume_utc();
        let east = TenantClock {
            utc_offset_minutes: 600,
        };
        assert_eq!(east.admits(&[w("* 00:00-24:00")], edge), None);
    }

    #[test]
    fn parse_and_display() {
        let cases = [
            ("Mon-Fri 08:00-20:00", "Mon-Fri 08:00-20:00"),
            ("mon-fri 8:00-20:00", "Mon-Fri 08:00-20:00"),
            ("Monday,Wednesday 08:00-20:00", "Mon,Wed 08:00-20:00"),
            ("Sat,Sun 00:00-24:00", "Sat,Sun 00:00-24:00"),
            ("Fri-Mon 22:00-06:00", "Mon,Fri-Sun 22:00-06:00"),
            ("Mon-Sun 00:00-24:00", "* 00:00-24:00"),
            ("* 09:30-17:45", "* 09:30-17:45"),
        ];
        for (input, shown) in cases {
            assert_eq!(w(input).to_string(), shown, "{input}");
            assert_eq!(w(shown), w(input));
        }
        let bad = [
            "",
            "Mon-Fri",
            "08:00-20:00",
            "Mon-Fri 08:00",
            "Mon-Fri 08:00-08:00",
            "Mon-Fri 24:00-06:00",
            "Mon-Fri 08:00-24:01",
            "Mon-Fri 08:60-20:00",
            "Mon-Fri 25:00-26:00",
            "Mon-Fri 8-20",
            "Mon-Fri 08:0-20:00",
            "Mon-Fri +8:00-20:00",
            "Mon-Fri 008:00-20:00",
            "Mon-Fry 08:00-20:00",
            "Mon- 08:00-20:00",
            ", 08:00-20:00",
        ];
        for s in bad {
            assert!(s.parse::<Window>().is_err(), "{s:?} must be refused");
        }
        let ws: Vec<Window> = serde_json::from_str(r#"["Mon-Fri 08:00-20:00"]"#).unwrap();
        assert_eq!(
            serde_json::to_string(&ws).unwrap(),
            r#"["Mon-Fri 08:00-20:00"]"#
        );
        assert!(serde_json::from_str::<Window>(r#""Mon 10:00-10:00""#).is_err());
        assert!(Window::new(&[Weekday::Friday], 22 * 60, 6 * 60)
            .unwrap()
            .crosses_midnight());
        assert!(Window::new(&[], 0, 60).is_err());
        assert!(Window::new(&[Weekday::Friday], 60, 60).is_err());
    }
}
