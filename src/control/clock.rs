//! Clock readings, instants and durations as the control API takes them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::{iso8601, parse_iso8601, Clock, Millis};
use crate::error::ApiError;

/// A clock reading (`GET /__mock/clock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: Millis,
    /// Now, ISO 8601 with milliseconds and `Z`.
    pub now: String,
    /// Whether time stands still until set, advanced or resumed.
    pub frozen: bool,
}

/// Reads a clock.
pub(crate) fn clock_state(clock: &Clock) -> ClockState {
    let now_ms = clock.now_millis();
    ClockState {
        now_ms,
        now: iso8601(now_ms),
        frozen: clock.is_frozen(),
    }
}

/// An instant given as ISO 8601 text or as milliseconds since the epoch.
pub(crate) fn parse_instant(value: &serde_json::Value) -> Result<Millis, ApiError> {
    let refuse = || {
        ApiError::BadRequest(
            "`at` must be an ISO 8601 date-time or milliseconds since the Unix epoch".into(),
        )
    };
    let at = match value {
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(refuse),
        serde_json::Value::String(s) => match s.trim().parse::<i64>() {
            Ok(ms) => Ok(ms),
            Err(_) => parse_iso8601(s).ok_or_else(refuse),
        },
        _ => Err(refuse()),
    }?;
    if !crate::clock::representable(at) {
        return Err(out_of_range());
    }
    Ok(at)
}

/// The clock API's refusal of an instant outside the representable range.
fn out_of_range() -> ApiError {
    ApiError::BadRequest(format!(
        "the clock must stay between {} and {}",
        iso8601(crate::clock::EARLIEST),
        iso8601(crate::clock::LATEST)
    ))
}

/// Moves `clock` forward by `by`, unless that would pass the latest representable
/// instant (`400`, the clock unchanged).
pub(crate) fn advance(clock: &Clock, by: Duration) -> Result<(), ApiError> {
    let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
    let after = clock.now_millis().checked_add(by_ms);
    if !after.is_some_and(crate::clock::representable) {
        return Err(out_of_range());
    }
    clock.advance(by);
    Ok(())
}

/// A duration the control API could not read; the message quotes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DurationError(pub(crate) String);

/// Parses a duration such as `90d`, `1h30m`, `5s`, `250ms` or `2w` (units: `ms`, `s`,
/// `m`, `h`, `d`, `w`; a bare number is seconds).
///
/// ```
/// use particle_auth_mock::control::parse_duration;
/// use std::time::Duration;
///
/// // Arrange / Act / Assert
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse_duration("90d").unwrap(), Duration::from_secs(90 * 86_400));
/// assert!(parse_duration("soon").is_err());
/// ```
///
/// # Errors
/// [`DurationError`] quoting the text.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    let invalid = || {
        DurationError(format!(
            "`{text}` is not a duration such as 90d, 1h30m, 5s or 250ms"
        ))
    };
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let per_unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|_| invalid())?;
        total = n
            .checked_mul(per_unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(invalid)?;
        rest = after;
    }
    Ok(Duration::from_millis(total))
}

/// How far `POST /__mock/clock/advance` moves: `seconds` (a non-negative number) or a
/// `duration` text, exactly one of them.
pub(crate) fn advance_amount(
    seconds: Option<f64>,
    duration: Option<&str>,
) -> Result<Duration, ApiError> {
    match (seconds, duration) {
        (Some(secs), None) => Duration::try_from_secs_f64(secs).map_err(|_| {
            ApiError::BadRequest(
                "`seconds` must be a non-negative number (to go back, use /__mock/clock/set)"
                    .into(),
            )
        }),
        (None, Some(text)) => parse_duration(text).map_err(|e| ApiError::BadRequest(e.0)),
        _ => Err(ApiError::BadRequest(
            "give exactly one of `seconds` and `duration`".into(),
        )),
    }
}
