//! Time as the core sees it: an opaque, monotonic [`Instant`] handed in by
//! the driver. The core never reads a clock.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time, measured from an epoch the driver chooses (usually the
/// moment it started). Only differences between instants mean anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The driver's epoch.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `since_epoch` after the driver's epoch.
    pub const fn from_duration(since_epoch: Duration) -> Self {
        Instant(since_epoch)
    }

    /// The instant `ms` milliseconds after the driver's epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(Duration::from_millis(ms))
    }

    /// Time elapsed since the driver's epoch.
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates instead of overflowing: a deadline that far away never fires.
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// Turns `std::time::Instant`s into core [`Instant`]s relative to a fixed
/// epoch the caller chooses (a pure conversion: it reads no clock).
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct StdClock {
    epoch: std::time::Instant,
}

#[cfg(feature = "std")]
impl StdClock {
    /// A clock counting from `epoch` (the caller reads its own clock: the
    /// core never does).
    pub fn with_epoch(epoch: std::time::Instant) -> Self {
        StdClock { epoch }
    }

    /// A std instant as a core instant (instants before the epoch become the epoch).
    pub fn convert(&self, t: std::time::Instant) -> Instant {
        Instant(t.saturating_duration_since(self.epoch))
    }

    /// A core instant back as a std instant, for arming a runtime timer.
    /// An instant too far away for std (a deadline meant as "never") becomes
    /// one a century after the epoch: the caller wakes, finds nothing due,
    /// and waits again.
    pub fn to_std(&self, t: Instant) -> std::time::Instant {
        const FAR: core::time::Duration = core::time::Duration::from_secs(100 * 365 * 24 * 3600);
        self.epoch
            .checked_add(t.0)
            .or_else(|| self.epoch.checked_add(FAR))
            .unwrap_or(self.epoch)
    }
}

/// Year, month (1..=12) and day (1..=31) of a day count from 1970-01-01
/// in the proleptic Gregorian calendar (H. Hinnant's `civil_from_days`):
/// for writing dates as JavaScript does, in the msgpack timestamps and the
/// driver's Admin UI.
pub fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`, the inverse of [`civil_from_days`]): for reading
/// HTTP dates (the client's cookie `Expires`).
pub fn days_from_civil(year: i128, month: i128, day: i128) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        for days in [-800_000i128, -1, 0, 1, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1994, 11, 6), 9_075);
    }

    #[test]
    fn arithmetic_saturates() {
        let a = Instant::from_millis(10);
        let b = Instant::from_millis(25);
        assert_eq!(b - a, Duration::from_millis(15));
        assert_eq!(a - b, Duration::ZERO);
        let far = Instant::from_duration(Duration::MAX);
        assert_eq!(far + Duration::from_secs(1), far);
        assert_eq!(far.checked_add(Duration::from_secs(1)), None);
        assert!(a < b);
    }

    #[cfg(feature = "std")]
    #[test]
    fn std_conversion_never_overflows() {
        let clock = StdClock::with_epoch(std::time::Instant::now());
        let t = clock.convert(std::time::Instant::now());
        assert!(clock.to_std(t) >= clock.to_std(Instant::ZERO));
        // "Never" must not panic and must lie in the future.
        let never = clock.to_std(Instant::from_duration(Duration::MAX));
        assert!(never > std::time::Instant::now());
    }
}
