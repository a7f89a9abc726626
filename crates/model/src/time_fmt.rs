//! [`Timestamp`]: an instant in UTC, to the microsecond, whose text is the
//! form the APIs print and the stores keep (`2019-06-18T12:47:33.700070`).

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");

/// What a date that cannot be printed in [`FORMAT`] prints as (none can
/// in practice: `time` keeps years within 4 digits).
const FALLBACK: &str = "1970-01-01T00:00:00.000000";

/// An instant, always UTC and truncated to the microsecond, so that two
/// timestamps compare as their texts do.
///
/// Its text (`Display`, serde, and what stores write) is fixed-width
/// `YYYY-MM-DDTHH:MM:SS.ffffff`, with no offset: sortable as a string, which
/// the stores rely on. API families that print another form (Keystone's
/// trailing `Z`, EVS jobs' milliseconds) derive it from this text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current time.
    pub fn now() -> Timestamp {
        Timestamp::from_datetime(OffsetDateTime::now_utc())
    }

    /// The instant `t`, in UTC, truncated to the microsecond.
    pub fn from_datetime(t: OffsetDateTime) -> Timestamp {
        let t = t.to_offset(UtcOffset::UTC);
        let micros = t.nanosecond() / 1_000 * 1_000;
        Timestamp(t.replace_nanosecond(micros).unwrap_or(t))
    }

    /// The instant as a `time` date (UTC).
    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    /// Parses the text form (`2019-06-18T12:47:33.700070`); `None` for
    /// anything else.
    pub fn parse(s: &str) -> Option<Timestamp> {
        PrimitiveDateTime::parse(s, FORMAT)
            .ok()
            .map(|p| Timestamp(p.assume_utc()))
    }

    /// `self + d`, clamped to the representable range (never panics).
    pub fn saturating_add(self, d: Duration) -> Timestamp {
        Timestamp::from_datetime(self.0.saturating_add(d))
    }

    /// `self - d`, clamped to the representable range (never panics).
    pub fn saturating_sub(self, d: Duration) -> Timestamp {
        Timestamp::from_datetime(self.0.saturating_sub(d))
    }
}

/// Saturating: see [`Timestamp::saturating_add`].
impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        self.saturating_add(d)
    }
}

/// Saturating: see [`Timestamp::saturating_sub`].
impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        self.saturating_sub(d)
    }
}

/// How long from `other` to `self` (negative if `other` is later).
impl Sub for Timestamp {
    type Output = Duration;
    fn sub(self, other: Timestamp) -> Duration {
        self.0 - other.0
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Timestamp::from_datetime(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(FORMAT) {
            Ok(s) => f.write_str(&s),
            Err(_) => f.write_str(FALLBACK),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl FromStr for Timestamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Timestamp::parse(s).ok_or_else(|| format!("not a timestamp: {s:?}"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_microseconds() {
        let t = Timestamp::parse("2019-06-18T12:47:33.700070").unwrap();
        assert_eq!(t.to_string(), "2019-06-18T12:47:33.700070");
        assert_eq!(
            "2019-06-18T12:47:33.700070".parse::<Timestamp>(),
            Ok(t),
            "FromStr is parse"
        );
        assert!(Timestamp::parse("2019-06-18 12:47").is_none());
        assert!(Timestamp::parse("2019-06-18T12:47:33.700070Z").is_none());
        assert!(Timestamp::parse("2019-06-18T12:47:33.7000").is_none());
    }

    #[test]
    fn serde_is_the_text() {
        let t = Timestamp::parse("2024-01-02T03:04:05.000006").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2024-01-02T03:04:05.000006\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        assert_eq!(
            serde_json::to_value(None::<Timestamp>).unwrap(),
            serde_json::Value::Null
        );
    }

    #[test]
    fn orders_as_its_text_and_drops_nanoseconds() {
        let a = Timestamp::parse("2019-06-18T12:47:33.700070").unwrap();
        let b = Timestamp::parse("2019-06-18T12:47:33.700071").unwrap();
        let c = Timestamp::parse("2020-01-01T00:00:00.000000").unwrap();
        assert!(a < b && b < c);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        let nanos = a.datetime() + Duration::nanoseconds(999);
        assert_eq!(Timestamp::from_datetime(nanos), a, "truncated");
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse(&now.to_string()), Some(now));
        let offset = UtcOffset::from_hms(2, 0, 0).unwrap();
        assert_eq!(
            Timestamp::from_datetime(a.datetime().to_offset(offset)).to_string(),
            "2019-06-18T12:47:33.700070",
            "always printed in UTC"
        );
    }

    #[test]
    fn arithmetic() {
        let a = Timestamp::parse("2019-06-18T12:47:33.700070").unwrap();
        assert_eq!(
            (a + Duration::hours(12)).to_string(),
            "2019-06-19T00:47:33.700070"
        );
        assert_eq!(
            (a - Duration::seconds(60)).to_string(),
            "2019-06-18T12:46:33.700070"
        );
        assert_eq!((a + Duration::minutes(1)) - a, Duration::minutes(1));
        // Saturates instead of panicking.
        let far = a + Duration::MAX;
        assert!(far > a);
    }
}
