//! Time formatting that gives the same text on the server and in the browser (hydration needs
//! identical markup), without pulling a date library into the wasm bundle.

/// `2026-11-23 10:40:44 UTC` for Unix epoch milliseconds.
pub fn format_utc(ms: i64) -> String {
    let mut out = String::with_capacity(23);
    push_utc(&mut out, ms);
    out
}

/// [`format_utc`] appended to `out`: exports write millions of these without an allocation each.
pub fn push_utc(out: &mut String, ms: i64) {
    use std::fmt::Write;
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a UTC date (`2026-11-23`) or date and time (`2026-11-23T10:00`, `2026-11-23 10:00:30`)
/// into Unix epoch milliseconds. `end_of_day` moves a bare date to the start of the next day.
pub fn parse_utc(raw: &str, end_of_day: bool) -> Result<i64, String> {
    let s = raw.trim().trim_end_matches('Z').trim_end_matches(" UTC");
    let bad =
        || format!("{raw:?} is not a date like 2026-11-23 or a time like 2026-11-23T10:00 (UTC)");
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d), None) if y.len() == 4 && m.len() == 2 && d.len() == 2 => (
            y.parse::<i64>().map_err(|_| bad())?,
            m.parse::<u32>().map_err(|_| bad())?,
            d.parse::<u32>().map_err(|_| bad())?,
        ),
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    match time {
        None if end_of_day => secs += 86_400,
        None => {}
        Some(t) => {
            let fields: Vec<&str> = t.split(':').collect();
            if !(2..=3).contains(&fields.len()) || fields.iter().any(|f| f.len() != 2) {
                return Err(bad());
            }
            let n: Vec<i64> = fields
                .iter()
                .map(|f| f.parse::<i64>().map_err(|_| bad()))
                .collect::<Result<_, _>>()?;
            if n[0] > 23 || n[1] > 59 || n.get(2).is_some_and(|s| *s > 59) {
                return Err(bad());
            }
            secs += n[0] * 3600 + n[1] * 60 + n.get(2).copied().unwrap_or(0);
        }
    }
    Ok(secs * 1000)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's civil-to-days algorithm (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Percent-encodes everything but unreserved characters, for query strings.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_795_430_444_000), "2026-11-23 10:40:44 UTC");
        assert_eq!(format_utc(-1000), "1969-12-31 23:59:59 UTC");
    }
    #[test]
    fn parses_dates_and_times_as_utc() {
        assert_eq!(parse_utc("1970-01-01", false), Ok(0));
        assert_eq!(parse_utc("1970-01-01", true), Ok(86_400_000));
        assert_eq!(
            parse_utc("2026-11-23T10:40:44", false),
            Ok(1_795_430_444_000)
        );
        assert_eq!(parse_utc("2026-11-23 10:40", false), Ok(1_795_430_400_000));
        assert_eq!(parse_utc("2000-02-29", false), Ok(951_782_400_000));
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "yesterday",
            "2026-11-23T25:00",
            "23.11.2026",
        ] {
            assert!(parse_utc(bad, false).is_err(), "{bad}");
        }
    }
}
