//! The MessagePack timestamp extension (type -1), which notepack.io reads
//! as a JavaScript `Date`, written as `Date#toISOString` writes it.

use alloc::format;
use alloc::string::String;

use crate::time::civil_from_days;

/// Milliseconds a JavaScript `Date` can hold either side of the epoch.
const MAX_DATE_MS: i128 = 8_640_000_000_000_000;

const MS_PER_DAY: i128 = 86_400_000;

/// The ISO string (`2026-11-25T22:39:29.000Z`) of a timestamp payload of 4,
/// 8 or 12 bytes; None for another length or a date JavaScript cannot hold
/// (an invalid Date, which `JSON.stringify` writes as null).
pub(crate) fn iso_string(payload: &[u8]) -> Option<String> {
    let (seconds, nanos) = seconds_and_nanos(payload)?;
    // notepack builds `new Date(s * 1e3 + ns / 1e6)`; Date truncates.
    let ms = seconds * 1000 + nanos / 1_000_000;
    if ms.abs() > MAX_DATE_MS {
        return None;
    }
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        let sign = if year < 0 { '-' } else { '+' };
        format!("{sign}{:06}", year.unsigned_abs())
    };
    Some(format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    ))
}

/// Seconds and nanoseconds of the three timestamp forms.
fn seconds_and_nanos(payload: &[u8]) -> Option<(i128, i128)> {
    match payload.len() {
        4 => Some((i128::from(u32::from_be_bytes(payload.try_into().ok()?)), 0)),
        8 => {
            let packed = u64::from_be_bytes(payload.try_into().ok()?);
            let seconds = packed & 0x3_ffff_ffff;
            Some((i128::from(seconds), i128::from(packed >> 34)))
        }
        12 => {
            let (nanos, seconds) = payload.split_at(4);
            let nanos = u32::from_be_bytes(nanos.try_into().ok()?);
            let seconds = i64::from_be_bytes(seconds.try_into().ok()?);
            Some((i128::from(seconds), i128::from(nanos)))
        }
        _ => None,
    }
}

/// `ms` (milliseconds since the epoch) as JavaScript's `Date#toString`
/// writes it on a server in UTC, the form of Node's `handshake.time`:
/// `Wed Nov 25 2026 22:50:30 GMT+0000 (Coordinated Universal Time)`.
pub fn js_date_string(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ms = i128::from(ms).clamp(-MAX_DATE_MS, MAX_DATE_MS);
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = usize::try_from(days.rem_euclid(7)).unwrap_or(0);
    let month_name = usize::try_from(month - 1)
        .ok()
        .and_then(|index| MONTHS.get(index))
        .unwrap_or(&"Jan");
    format!(
        "{} {month_name} {day:02} {year:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS.get(weekday).unwrap_or(&"Thu"),
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_strings_of_the_three_forms() {
        assert_eq!(
            iso_string(&[0, 0, 0, 0]).unwrap(),
            "1970-01-01T00:00:00.000Z"
        );
        // 1764110369 s after the epoch.
        let seconds = 1_764_110_369u32.to_be_bytes();
        assert_eq!(iso_string(&seconds).unwrap(), "2025-11-25T22:39:29.000Z");
        // timestamp 64: 123 ms in the upper 30 bits.
        let packed = (123_000_000u64 << 34) | 951_868_800;
        assert_eq!(
            iso_string(&packed.to_be_bytes()).unwrap(),
            "2000-03-01T00:00:00.123Z"
        );
        // timestamp 96: before the epoch, and a year beyond 9999.
        let mut before = [0u8; 12];
        before[4..].copy_from_slice(&(-86_400i64).to_be_bytes());
        assert_eq!(iso_string(&before).unwrap(), "1969-12-31T00:00:00.000Z");
        let mut far = [0u8; 12];
        far[4..].copy_from_slice(&253_402_300_800i64.to_be_bytes());
        assert_eq!(iso_string(&far).unwrap(), "+010000-01-01T00:00:00.000Z");
        let mut invalid = [0u8; 12];
        invalid[4..].copy_from_slice(&i64::MAX.to_be_bytes());
        assert_eq!(iso_string(&invalid), None);
        assert_eq!(iso_string(&[1, 2, 3]), None);
    }

    #[test]
    fn date_strings_as_javascript_writes_them() {
        // handshake.time of the captured fetch_sockets response.
        assert_eq!(
            js_date_string(1_795_647_030_813),
            "Wed Nov 25 2026 22:50:30 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(-1),
            "Wed Dec 31 1969 23:59:59 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
