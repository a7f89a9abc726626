use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Timestamps are kept as UTC text in the form the APIs print
/// (`2019-06-18T12:47:33.700070`): sortable, portable across databases.
pub type Timestamp = String;

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");

pub fn format_timestamp(t: OffsetDateTime) -> Timestamp {
    let t = t.to_offset(time::UtcOffset::UTC);
    // Formatting a UTC date with this fixed description cannot fail for years 0..9999.
    t.format(FORMAT)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000000"))
}

pub fn now_timestamp() -> Timestamp {
    format_timestamp(OffsetDateTime::now_utc())
}

pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(s, FORMAT)
        .ok()
        .map(|p| p.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_microseconds() {
        let t = parse_timestamp("2019-06-18T12:47:33.700070").unwrap();
        assert_eq!(format_timestamp(t), "2019-06-18T12:47:33.700070");
        assert!(parse_timestamp("2019-06-18 12:47").is_none());
    }
}
