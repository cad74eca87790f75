//! The mock's notion of "now": the only place that reads the OS time.
//!
//! Token expiry, `mfa_token` lifetimes, TOTP codes and rate-limit windows all ask one
//! [`Clock`] for the time, so a test (or the control API) can move all of them together
//! by setting, advancing or freezing it instead of sleeping.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;

/// Milliseconds since the Unix epoch, as the clock reports it.
pub type Millis = i64;

/// How the clock derives "now"; a state document keeps it as it is (an offset from the
/// system time keeps running across a restart, a frozen instant stays frozen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Mode {
    /// System time shifted by an offset (ms); the offset moves with `set`/`advance`.
    Running { offset: Millis },
    /// Time stands still at this instant until advanced, set or resumed.
    Frozen { at: Millis },
}

/// A shared, cloneable clock: system time by default, or manual (frozen) time that
/// moves only when told to.
///
/// Cloning gives another handle to the same clock.
///
/// ```
/// use particle_auth_mock::Clock;
/// use std::time::Duration;
///
/// // Arrange: a manual clock at a fixed instant.
/// let clock = Clock::manual(1_700_000_000_000);
/// // Act: move it forward an hour.
/// clock.advance(Duration::from_secs(3600));
/// // Assert: it moved exactly that much and no more.
/// assert_eq!(clock.now_millis(), 1_700_003_600_000);
/// ```
#[derive(Debug, Clone)]
pub struct Clock {
    /// A read-mostly cell: every request reads it, only control calls write it, so an
    /// `RwLock` (cheap uncontended reads) fits better than a mutex.
    mode: Arc<RwLock<Mode>>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

fn system_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

fn duration_millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

impl Clock {
    /// A clock that follows the system time (until it is set, advanced or frozen).
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    /// use std::time::{SystemTime, UNIX_EPOCH};
    ///
    /// // Arrange
    /// let os = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    /// // Act
    /// let clock = Clock::system();
    /// // Assert: it reads the OS time and is not frozen.
    /// assert!((clock.now_millis() - os).abs() < 60_000);
    /// assert!(!clock.is_frozen());
    /// ```
    pub fn system() -> Self {
        Self {
            mode: Arc::new(RwLock::new(Mode::Running { offset: 0 })),
        }
    }

    /// A frozen clock at `at_millis` (ms since the Unix epoch): time moves only when
    /// [`Clock::advance`] or [`Clock::set`] is called, or after [`Clock::resume`].
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    ///
    /// // Arrange + Act: 2026-01-01T00:00:00Z.
    /// let clock = Clock::manual(1_767_225_600_000);
    /// // Assert
    /// assert!(clock.is_frozen());
    /// assert_eq!(clock.now_millis(), 1_767_225_600_000);
    /// ```
    pub fn manual(at_millis: Millis) -> Self {
        Self {
            mode: Arc::new(RwLock::new(Mode::Frozen { at: at_millis })),
        }
    }

    /// Now, in milliseconds since the Unix epoch.
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    ///
    /// // Arrange
    /// let clock = Clock::manual(1_500);
    /// // Act
    /// let now = clock.now_millis();
    /// // Assert
    /// assert_eq!(now, 1_500);
    /// ```
    pub fn now_millis(&self) -> Millis {
        let now = match *self.mode.read() {
            Mode::Running { offset } => system_millis().saturating_add(offset),
            Mode::Frozen { at } => at,
        };
        // Time stops at the last instant the mock can write (9999-12-31T23:59:59.999Z):
        // a running clock set near it, or a library `set`/`advance` past it, would
        // otherwise answer dates no client parses and leave every later advance refused.
        now.clamp(EARLIEST, LATEST)
    }

    /// Now, in whole seconds since the Unix epoch (what TOTP steps count from).
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    ///
    /// // Arrange
    /// let clock = Clock::manual(59_999);
    /// // Act
    /// let secs = clock.now_secs();
    /// // Assert: rounded down.
    /// assert_eq!(secs, 59);
    /// ```
    pub fn now_secs(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }

    /// Moves the clock to `at_millis`; a running clock keeps running from there.
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    ///
    /// // Arrange
    /// let clock = Clock::manual(0);
    /// // Act: backwards is allowed too.
    /// clock.set(1_000_000);
    /// clock.set(500_000);
    /// // Assert
    /// assert_eq!(clock.now_millis(), 500_000);
    /// ```
    pub fn set(&self, at_millis: Millis) {
        let mut mode = self.mode.write();
        *mode = match *mode {
            Mode::Running { .. } => Mode::Running {
                offset: at_millis.saturating_sub(system_millis()),
            },
            Mode::Frozen { .. } => Mode::Frozen { at: at_millis },
        };
    }

    /// Moves the clock forward by `by`.
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    /// use std::time::Duration;
    ///
    /// // Arrange
    /// let clock = Clock::manual(0);
    /// // Act
    /// clock.advance(Duration::from_secs(90 * 86_400));
    /// // Assert: 90 days later, to the millisecond.
    /// assert_eq!(clock.now_millis(), 7_776_000_000);
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = duration_millis(by);
        let mut mode = self.mode.write();
        *mode = match *mode {
            Mode::Running { offset } => Mode::Running {
                offset: offset.saturating_add(by),
            },
            Mode::Frozen { at } => Mode::Frozen {
                at: at.saturating_add(by),
            },
        };
    }

    /// Stops time at the current instant.
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    ///
    /// // Arrange
    /// let clock = Clock::system();
    /// // Act
    /// clock.freeze();
    /// // Assert: two reads agree.
    /// let first = clock.now_millis();
    /// assert_eq!(clock.now_millis(), first);
    /// assert!(clock.is_frozen());
    /// ```
    pub fn freeze(&self) {
        let now = self.now_millis();
        *self.mode.write() = Mode::Frozen { at: now };
    }

    /// Lets a frozen clock run again from where it stood.
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    ///
    /// // Arrange
    /// let clock = Clock::manual(1_000_000);
    /// // Act
    /// clock.resume();
    /// // Assert: running again, from about where it stood.
    /// assert!(!clock.is_frozen());
    /// assert!(clock.now_millis() >= 1_000_000 && clock.now_millis() < 1_060_000);
    /// ```
    pub fn resume(&self) {
        let mut mode = self.mode.write();
        if let Mode::Frozen { at } = *mode {
            *mode = Mode::Running {
                offset: at.saturating_sub(system_millis()),
            };
        }
    }

    /// Whether the clock is frozen.
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    ///
    /// // Arrange
    /// let clock = Clock::system();
    /// // Act
    /// let before = clock.is_frozen();
    /// clock.freeze();
    /// // Assert
    /// assert!(!before);
    /// assert!(clock.is_frozen());
    /// ```
    pub fn is_frozen(&self) -> bool {
        matches!(*self.mode.read(), Mode::Frozen { .. })
    }

    /// How the clock derives "now" (what a state document keeps).
    pub(crate) fn mode(&self) -> Mode {
        *self.mode.read()
    }

    /// Puts back a mode read by [`Clock::mode`] (a state document being loaded).
    pub(crate) fn restore(&self, mode: Mode) {
        *self.mode.write() = mode;
    }

    /// Puts the clock back to following the system time with no offset.
    ///
    /// ```
    /// use particle_auth_mock::Clock;
    ///
    /// // Arrange: a clock far in the past.
    /// let clock = Clock::manual(0);
    /// // Act
    /// clock.reset_to_system();
    /// // Assert: back near the OS time, running.
    /// assert!(!clock.is_frozen());
    /// assert!(clock.now_millis() > 1_700_000_000_000);
    /// ```
    pub fn reset_to_system(&self) {
        *self.mode.write() = Mode::Running { offset: 0 };
    }
}

/// The earliest instant the mock represents: 1970-01-01T00:00:00.000Z.
pub(crate) const EARLIEST: Millis = 0;
/// The latest instant the mock represents: 9999-12-31T23:59:59.999Z (the last instant
/// with a four-digit year, as Particle's ISO 8601 dates have).
pub(crate) const LATEST: Millis = 253_402_300_799_999;

/// Whether an instant is within [`EARLIEST`]`..=`[`LATEST`] (the clock API refuses
/// others, and no token may expire past [`LATEST`]).
pub(crate) fn representable(millis: Millis) -> bool {
    (EARLIEST..=LATEST).contains(&millis)
}

/// Formats milliseconds since the epoch as ISO 8601 with milliseconds and `Z`
/// (`2014-04-27T06:31:08.991Z`), the shape Particle uses for `expires_at`.
///
/// Instants past [`LATEST`] (a token issued near the end of the clock's range) print as
/// [`LATEST`]: no answer ever carries a five-digit year.
pub(crate) fn iso8601(millis: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(millis.min(LATEST))
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Parses an ISO 8601 date (`2017-12-07`, taken as midnight UTC) or date-time (with `Z`
/// or an offset; without one it is taken as UTC) into milliseconds since the epoch.
pub(crate) fn parse_iso8601(text: &str) -> Option<Millis> {
    let text = text.trim();
    if text.len() > 64 {
        return None;
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(text, fmt) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = Clock::manual(1_000);
        assert_eq!(clock.now_millis(), 1_000);
        clock.advance(Duration::from_millis(500));
        assert_eq!(clock.now_millis(), 1_500);
        clock.set(10_000);
        assert_eq!(clock.now_millis(), 10_000);
        assert!(clock.is_frozen());
    }

    #[test]
    fn resumed_clock_keeps_its_position() {
        let clock = Clock::manual(5_000_000);
        clock.resume();
        let now = clock.now_millis();
        assert!((5_000_000..5_010_000).contains(&now), "{now}");
        assert!(!clock.is_frozen());
    }

    #[test]
    fn running_clock_can_be_set_and_frozen() {
        let clock = Clock::system();
        clock.set(42_000);
        assert!((42_000..52_000).contains(&clock.now_millis()));
        clock.freeze();
        let at = clock.now_millis();
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now_millis(), at + 1000);
    }

    #[test]
    fn the_clock_never_reads_past_9999_nor_before_1970() {
        // Issue 27 (7): a running clock set at the end passed into year 10000.
        let clock = Clock::system();
        clock.set(LATEST + 60_000);
        assert_eq!(clock.now_millis(), LATEST);
        let frozen = Clock::manual(LATEST);
        frozen.advance(Duration::from_secs(86_400));
        assert_eq!(frozen.now_millis(), LATEST);
        assert_eq!(Clock::manual(-5).now_millis(), EARLIEST);
    }

    #[test]
    fn dates_past_9999_print_as_the_last_instant() {
        assert_eq!(iso8601(LATEST + 86_400_000), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn iso8601_has_milliseconds_and_z() {
        assert_eq!(iso8601(1_398_580_268_991), "2014-04-27T06:31:08.991Z");
    }

    #[test]
    fn parses_dates_and_date_times() {
        assert_eq!(parse_iso8601("2017-12-07"), Some(1_512_604_800_000));
        assert_eq!(
            parse_iso8601("2017-12-07T00:00:01Z"),
            Some(1_512_604_801_000)
        );
        assert_eq!(
            parse_iso8601("2017-12-07T02:00:00+02:00"),
            Some(1_512_604_800_000)
        );
        assert_eq!(
            parse_iso8601("2017-12-07T00:00:00.5"),
            Some(1_512_604_800_500)
        );
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(parse_iso8601("2017-13-07"), None);
    }
}
