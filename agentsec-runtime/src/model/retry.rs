//! When and how long to wait before sending a failed model request again.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Retries with exponential backoff and jitter, honouring `Retry-After`.
///
/// Attempt `n` (0-based) waits a random duration in `[d/2, d]` where
/// `d = min(base_delay * 2^n, max_delay)`; when the provider sent a
/// `Retry-After`, that is waited instead, capped at `max_delay`.
///
/// ```
/// use std::time::Duration;
/// use agentsec_runtime::model::RetryPolicy;
/// let policy = RetryPolicy::new(3, Duration::from_millis(100), Duration::from_secs(1));
/// let wait = policy.delay(2, None);
/// assert!(wait >= Duration::from_millis(200) && wait <= Duration::from_millis(400));
/// assert_eq!(policy.delay(0, Some(Duration::from_secs(30))), Duration::from_secs(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a failed request is sent again (0: never).
    pub max_retries: u32,
    /// The first backoff.
    pub base_delay: Duration,
    /// The longest wait, for backoff and for `Retry-After` alike.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, from 500 ms up to 30 s.
    fn default() -> Self {
        Self::new(3, Duration::from_millis(500), Duration::from_secs(30))
    }
}

impl RetryPolicy {
    /// A policy.
    pub const fn new(max_retries: u32, base_delay: Duration, max_delay: Duration) -> Self {
        Self {
            max_retries,
            base_delay,
            max_delay,
        }
    }

    /// Never retry.
    pub const fn none() -> Self {
        Self::new(0, Duration::ZERO, Duration::ZERO)
    }

    /// The backoff ceiling of retry number `attempt` (0-based), before jitter.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// How long to wait before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let ceiling = self.backoff_ceiling(attempt);
        let floor = ceiling / 2;
        if ceiling <= floor {
            return ceiling;
        }
        let nanos = rand::thread_rng().gen_range(floor.as_nanos()..=ceiling.as_nanos());
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// Whether a response with this status is worth sending again: rate limits
/// (429), server errors (500, 502, 503, 504) and Anthropic's overload (529).
/// Other 4xx mean the request itself is wrong.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 529)
}

/// Parses a `Retry-After` value: delay seconds (`"120"`, fractions
/// accepted) or an HTTP-date, relative to `now`. A date in the past is a
/// zero wait; anything else unparseable is `None`.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use agentsec_runtime::model::parse_retry_after;
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
/// assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let seconds: f64 = value.parse().ok()?;
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses OpenAI's `retry-after-ms` header (milliseconds).
pub(crate) fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let millis: f64 = value.trim().parse().ok()?;
    if !millis.is_finite() || millis < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(millis / 1000.0).ok()
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("1.2.3", now), None);
        assert_eq!(parse_retry_after("99999999999999999999999999", now), None);
    }

    #[test]
    fn retry_after_http_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            parse_retry_after(date, at(784_111_777 - 90)),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after(date, at(784_111_777 + 5)),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", at(0)),
            None
        );
    }

    #[test]
    fn retry_after_ms() {
        assert_eq!(
            parse_retry_after_ms("250"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_retry_after_ms("-1"), None);
        assert_eq!(parse_retry_after_ms("NaN"), None);
        assert_eq!(parse_retry_after_ms("x"), None);
    }

    #[test]
    fn backoff_grows_and_stays_within_bounds() {
        let policy = RetryPolicy::new(10, Duration::from_millis(10), Duration::from_millis(200));
        for attempt in 0..40 {
            let ceiling = policy.backoff_ceiling(attempt);
            assert!(ceiling <= policy.max_delay);
            for _ in 0..20 {
                let wait = policy.delay(attempt, None);
                assert!(wait <= ceiling, "{wait:?} > {ceiling:?}");
                assert!(wait >= ceiling / 2, "{wait:?} < half of {ceiling:?}");
            }
        }
        assert_eq!(policy.backoff_ceiling(0), Duration::from_millis(10));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_millis(40));
        assert_eq!(policy.backoff_ceiling(5), Duration::from_millis(200));
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_millis(200));
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let policy = RetryPolicy::new(3, Duration::from_millis(10), Duration::from_secs(5));
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(3, Some(Duration::from_secs(60))),
            Duration::from_secs(5)
        );
        assert_eq!(policy.delay(0, Some(Duration::ZERO)), Duration::ZERO);
    }

    #[test]
    fn retryable_statuses() {
        for status in [429, 500, 502, 503, 504, 529] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 400, 401, 403, 404, 408, 413, 422, 501] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
