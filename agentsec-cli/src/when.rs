//! Times as a person reads them, in one form everywhere: the local date and
//! time plus how far from now (`2026-12-02 17:23 (in 23 h)`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `ms` (Unix milliseconds) as local time plus its distance from now.
pub fn when(ms: i64) -> String {
    when_at(ms, now_ms())
}

/// [`when`] against a given `now` (for tests and for one consistent `now`
/// across a listing).
pub fn when_at(ms: i64, now: i64) -> String {
    format!("{} ({})", local(ms), relative(ms, now))
}

/// How far `ms` is from `now`: `in 23 h`, `5 min ago`, `just now`.
pub fn relative(ms: i64, now: i64) -> String {
    let delta = ms.saturating_sub(now);
    let secs = delta.unsigned_abs() / 1000;
    if secs < 5 {
        return "just now".to_owned();
    }
    let amount = match secs {
        0..60 => format!("{secs} s"),
        60..3_600 => format!("{} min", secs / 60),
        3_600..172_800 => format!("{} h", secs / 3_600),
        _ => format!("{} d", secs / 86_400),
    };
    if delta > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// A duration in milliseconds, short: `840 ms`, `3.2 s`, `4 min 10 s`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// `ms` as `YYYY-MM-DD HH:MM` in the local time zone (UTC when the zone
/// cannot be read).
pub fn local(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let offset = local_offset_secs(secs).unwrap_or(0);
    let local = secs + offset;
    let days = local.div_euclid(86_400);
    let of_day = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        of_day / 3_600,
        (of_day % 3_600) / 60
    )
}

/// The local zone's offset from UTC at `secs`, from the C library (which
/// reads `TZ` and `/etc/localtime`).
#[cfg(unix)]
fn local_offset_secs(secs: i64) -> Option<i64> {
    // `time_t` is 32 bits on some platforms: the conversion is not useless there.
    #[allow(clippy::useless_conversion)]
    let time: libc::time_t = secs.try_into().ok()?;
    // SAFETY: `localtime_r` writes only into the `tm` we pass and reads the
    // `time_t` we pass; both live on this stack frame. An all-zero `tm` is
    // a valid value of that plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&time, &mut tm).is_null() };
    ok.then_some(tm.tm_gmtoff)
}

#[cfg(not(unix))]
fn local_offset_secs(_secs: i64) -> Option<i64> {
    None
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_as_a_person_says_them() {
        let now = 1_796_205_112_000;
        assert_eq!(relative(now + 23 * 3_600_000 + 59_000, now), "in 23 h");
        assert_eq!(relative(now - 5 * 60_000, now), "5 min ago");
        assert_eq!(relative(now + 1_000, now), "just now");
        assert_eq!(relative(now - 3 * 86_400_000, now), "3 d ago");
        assert_eq!(relative(now + 42_000, now), "in 42 s");
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_789), (2026, 12, 2));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(duration(840), "840 ms");
        assert_eq!(duration(3_240), "3.2 s");
        assert_eq!(duration(250_000), "4 min 10 s");
    }
}
