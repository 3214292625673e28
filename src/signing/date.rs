//! Times as the signature and the metadata service write them, computed from
//! `SystemTime` with the civil-from-days algorithm (no calendar crate needed).

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::{SignError, SignErrorKind};

/// An `X-Sdk-Date`, `YYYYMMDDTHHMMSSZ`, held on the stack: every signature
/// writes one, and it never outlives the call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SdkDate([u8; 16]);

impl SdkDate {
    /// `text` if it is of the form `YYYYMMDDTHHMMSSZ`.
    pub(crate) fn parse(text: &str) -> Option<SdkDate> {
        if !is_sdk_date(text) {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(text.as_bytes());
        Some(SdkDate(bytes))
    }

    /// The date as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits, `T` and `Z` are ever written: always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::ops::Deref for SdkDate {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for SdkDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl PartialEq<&str> for SdkDate {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// `time` as `X-Sdk-Date` writes it: `YYYYMMDDTHHMMSSZ`, in UTC.
pub(crate) fn sdk_date(time: SystemTime) -> Result<SdkDate, SignError> {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SignError::new(SignErrorKind::ClockBeforeEpoch))?
        .as_secs();
    // 253402300800 is 10000-01-01T00:00:00Z: past it the year needs a fifth digit.
    if secs >= 253_402_300_800 {
        return Err(SignError::new(SignErrorKind::ClockOutOfRange));
    }
    // Signatures made within the same second write the same date: the
    // last one written on this thread is kept.
    thread_local! {
        static LAST: Cell<(u64, SdkDate)> = const { Cell::new((u64::MAX, SdkDate(*b"00000000T000000Z"))) };
    }
    if let Ok((last_secs, last)) = LAST.try_with(Cell::get) {
        if last_secs == secs {
            return Ok(last);
        }
    }
    let date = write_sdk_date(secs);
    // A thread being torn down has no cache: nothing to keep then.
    let _ = LAST.try_with(|cell| cell.set((secs, date)));
    Ok(date)
}

/// `secs` since 1970 (before year 10000) as `YYYYMMDDTHHMMSSZ`.
fn write_sdk_date(secs: u64) -> SdkDate {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    // Digits written in place, not with `format!`: this runs on every signature.
    let mut out = *b"00000000T000000Z";
    put_digits(&mut out[0..4], year as u64);
    put_digits(&mut out[4..6], u64::from(month));
    put_digits(&mut out[6..8], u64::from(day));
    put_digits(&mut out[9..11], rest / 3600);
    put_digits(&mut out[11..13], rest / 60 % 60);
    put_digits(&mut out[13..15], rest % 60);
    SdkDate(out)
}

/// Writes `value` into `out` in decimal, zero-padded to `out`'s length.
fn put_digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Whether `date` is of the form `YYYYMMDDTHHMMSSZ`.
pub(crate) fn is_sdk_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
}

/// The time an RFC 3339 timestamp names, as the metadata service writes
/// `expires_at` (`2026-12-01T20:00:00.000000Z`, or with an offset); `None` if it
/// is not one.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        for (i, c) in fraction.bytes().take(len).enumerate() {
            if i < 9 {
                nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
            }
        }
        rest = &fraction[len..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let b = rest.as_bytes();
            if b.len() != 6 || b[3] != b':' || ![1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
            {
                return None;
            }
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `civil_from_days`: the date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Howard Hinnant's `days_from_civil`: the days from 1970-01-01 to the date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn sdk_dates_of_known_instants() {
        assert_eq!(sdk_date(at(0)).unwrap(), "19700101T000000Z");
        // The Python vectors' date.
        assert_eq!(sdk_date(at(1_591_583_940)).unwrap(), "20200608T023900Z");
        // A leap day.
        assert_eq!(sdk_date(at(951_782_400)).unwrap(), "20000229T000000Z");
        assert_eq!(sdk_date(at(253_402_300_799)).unwrap(), "99991231T235959Z");
    }

    #[test]
    fn the_date_kept_from_the_last_signature_is_only_reused_within_its_second() {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        for secs in [
            1_591_583_940,
            1_591_583_940,
            1_591_583_941,
            1_591_583_940,
            0,
            86_400,
        ] {
            assert_eq!(sdk_date(at(secs)).unwrap(), write_sdk_date(secs), "{secs}");
        }
        // Within a second, the fraction does not matter.
        let early = sdk_date(at(1_591_583_940)).unwrap();
        let late = sdk_date(at(1_591_583_940) + Duration::from_millis(999)).unwrap();
        assert_eq!(early, late);
        assert_eq!(early, "20200608T023900Z");
    }

    #[test]
    fn a_clock_before_1970_or_past_9999_is_an_error_not_a_panic() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert!(
            sdk_date(before)
                .unwrap_err()
                .to_string()
                .contains("before 1970")
        );
        assert!(sdk_date(at(253_402_300_800)).is_err());
    }

    #[test]
    fn rfc3339_forms_the_metadata_service_writes() {
        let want = Some(at(1_796_155_200));
        assert_eq!(parse_rfc3339("2026-12-01T20:00:00.000000Z"), want);
        assert_eq!(parse_rfc3339("2026-12-01T20:00:00Z"), want);
        assert_eq!(parse_rfc3339("2026-12-02T04:00:00+08:00"), want);
        for bad in [
            "",
            "2026-12-01",
            "2026-13-01T20:00:00Z",
            "2026-02-30T20:00:00Z",
            "2026-12-01T20:00:00",
            "2026-12-01T20:00:00.Z",
            "2026-12-01T20:00:00+0800",
            "+026-12-01T20:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn sdk_date_and_rfc3339_agree(secs in 0u64..253_402_300_800) {
            let date = sdk_date(at(secs)).unwrap();
            prop_assert!(is_sdk_date(&date));
            let rfc = format!(
                "{}-{}-{}T{}:{}:{}Z",
                &date[0..4], &date[4..6], &date[6..8], &date[9..11], &date[11..13], &date[13..15]
            );
            prop_assert_eq!(parse_rfc3339(&rfc), Some(at(secs)));
        }

        #[test]
        fn parse_rfc3339_never_panics(text in "\\PC{0,40}") {
            let _ = parse_rfc3339(&text);
        }

        #[test]
        fn parse_rfc3339_never_panics_on_near_misses(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2}|.{0,3})"
        ) {
            let _ = parse_rfc3339(&text);
        }
    }
}
