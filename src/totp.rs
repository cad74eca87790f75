//! RFC 6238 one-time passwords (HMAC-SHA1, 6 digits, 30-second steps, as authenticator
//! apps use; particle-api.md §4.2), checked against the mock's [`Clock`](crate::Clock).
//!
//! Codes come from totp-rs; this module adds what a login needs around them: the accepted
//! skew in steps, which step a code matched (so a user cannot replay it), and the current
//! and next codes for the control API.

use totp_rs::{Algorithm, Secret, TOTP};

use crate::tokens::secrets_equal;

/// Seconds per TOTP step.
pub(crate) const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub(crate) const DIGITS: usize = 6;

/// Why an OTP was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtpError {
    /// The code matches no step within the accepted skew.
    Wrong,
    /// The code matches a step this user already used.
    Replayed,
}

/// A user's TOTP secret, decoded.
#[derive(Clone)]
pub(crate) struct TotpSecret {
    totp: TOTP,
    base32: String,
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

/// A secret is written as its base32 text (a state document keeps MFA enrolments).
impl serde::Serialize for TotpSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.base32)
    }
}

impl<'de> serde::Deserialize<'de> for TotpSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_base32(&text).map_err(serde::de::Error::custom)
    }
}

impl TotpSecret {
    /// Decodes a base32 secret (spaces and lower case tolerated, padding optional).
    pub(crate) fn from_base32(text: &str) -> Result<Self, String> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if cleaned.is_empty() {
            return Err("the secret is empty".into());
        }
        let bytes = Secret::Encoded(cleaned.clone())
            .to_bytes()
            .map_err(|_| "the secret is not valid base32 (RFC 4648: A-Z and 2-7)".to_string())?;
        if bytes.is_empty() {
            return Err("the secret is empty".into());
        }
        // new_unchecked: authenticator apps and Particle's docs use 80-bit secrets such as
        // JBSWY3DPEHPK3PXP, shorter than totp-rs' 128-bit minimum.
        let totp = TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 1, STEP_SECONDS, bytes);
        Ok(Self {
            totp,
            base32: cleaned,
        })
    }

    /// The secret as base32 (what `GET /v1/user/mfa-enable` shows).
    pub(crate) fn base32(&self) -> &str {
        &self.base32
    }

    /// The code for a given step number.
    pub(crate) fn code_at_step(&self, step: i64) -> String {
        let secs = u64::try_from(step).unwrap_or(0) * STEP_SECONDS;
        self.totp.generate(secs)
    }

    /// Checks `code` at unix time `now_secs`, accepting `skew` steps either side, and
    /// refusing a step at or before `last_used_step` (replay). Returns the matched step.
    pub(crate) fn verify(
        &self,
        code: &str,
        now_secs: i64,
        skew: u8,
        last_used_step: Option<i64>,
    ) -> Result<i64, OtpError> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OtpError::Wrong);
        }
        let current = now_secs.div_euclid(STEP_SECONDS as i64);
        let skew = i64::from(skew);
        let mut matched = None;
        // Check every step in the window (no early exit) so timing says nothing about which.
        for step in current - skew..=current + skew {
            if secrets_equal(self.code_at_step(step).as_bytes(), code.as_bytes()) {
                matched.get_or_insert(step);
            }
        }
        match matched {
            None => Err(OtpError::Wrong),
            Some(step) if replayed(step, current, skew, last_used_step) => Err(OtpError::Replayed),
            Some(step) => Ok(step),
        }
    }

    /// The first step from now on (within the accepted skew) whose code [`Self::verify`]
    /// would accept after `last_used_step`, if any: what the control API hands out, so
    /// that it never gives a code the mock then refuses.
    pub(crate) fn usable_step(now_secs: i64, skew: u8, last_used_step: Option<i64>) -> Option<i64> {
        let current = now_secs.div_euclid(STEP_SECONDS as i64);
        let skew = i64::from(skew);
        (current..=current + skew).find(|&step| !replayed(step, current, skew, last_used_step))
    }

    /// The `otpauth://` URI authenticator apps scan (used as `qr_url`).
    pub(crate) fn otpauth_uri(&self, account: &str) -> String {
        let account: String = account
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!(
            "otpauth://totp/Particle:{account}?secret={}&issuer=Particle&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.base32
        )
    }
}

/// Whether `step` counts as a replay after `last_used_step`, at `current` with `skew`.
///
/// A last step beyond the accepted window (`current + skew`) can only have been used
/// before the clock moved back (`clock/set`): the guard forgets it then, or every code
/// would be refused until the clock caught up with a moment that no longer exists.
fn replayed(step: i64, current: i64, skew: i64, last_used_step: Option<i64>) -> bool {
    last_used_step.is_some_and(|last| step <= last && last <= current + skew)
}

/// The codes a test needs: the current one, the next one, and how long the current lasts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct CurrentCodes {
    /// The code valid now.
    pub code: String,
    /// The code of the next step.
    pub next_code: String,
    /// Whole seconds until `next_code` takes over.
    pub seconds_remaining: u64,
    /// The step number of `code`.
    pub step: i64,
}

/// The current and next code at unix time `now_secs`.
pub(crate) fn current_codes(secret: &TotpSecret, now_secs: i64) -> CurrentCodes {
    let step_len = STEP_SECONDS as i64;
    let step = now_secs.div_euclid(step_len);
    CurrentCodes {
        code: secret.code_at_step(step),
        next_code: secret.code_at_step(step + 1),
        seconds_remaining: u64::try_from(step_len - now_secs.rem_euclid(step_len)).unwrap_or(0),
        step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA1 rows, truncated to the 6 digits we use (the RFC's
    /// 8-digit values end in these 6).
    #[test]
    fn matches_the_rfc_6238_sha1_test_vectors() {
        let secret =
            TotpSecret::from_base32(&crate::tokens::base32_encode(b"12345678901234567890"))
                .unwrap();
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, eight) in vectors {
            let step = time / 30;
            assert_eq!(secret.code_at_step(step), &eight[2..], "t={time}");
        }
    }

    #[test]
    fn accepts_one_step_of_skew_and_reports_the_step() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let now = 1_700_000_000;
        let step = now / 30;
        let previous = secret.code_at_step(step - 1);
        assert_eq!(secret.verify(&previous, now, 1, None), Ok(step - 1));
        let two_back = secret.code_at_step(step - 2);
        assert_eq!(secret.verify(&two_back, now, 1, None), Err(OtpError::Wrong));
        assert_eq!(secret.verify(&two_back, now, 2, None), Ok(step - 2));
    }

    #[test]
    fn refuses_a_replayed_step() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let now = 1_700_000_000;
        let code = secret.code_at_step(now / 30);
        let step = secret.verify(&code, now, 1, None).unwrap();
        assert_eq!(
            secret.verify(&code, now, 1, Some(step)),
            Err(OtpError::Replayed)
        );
    }

    #[test]
    fn a_clock_moved_back_does_not_turn_every_code_into_a_replay() {
        // Issue 27 (8): the guard kept a step from the future and refused the present.
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let later = 1_700_000_000;
        let used = secret.verify(&secret.code_at_step(later / 30), later, 1, None);
        let earlier = later - 3_600;
        let code = secret.code_at_step(earlier / 30);
        assert_eq!(
            secret.verify(&code, earlier, 1, used.ok()),
            Ok(earlier / 30)
        );
        assert_eq!(
            TotpSecret::usable_step(earlier, 1, used.ok()),
            Some(earlier / 30)
        );
        // The step just used is skipped for the next one in the window.
        assert_eq!(
            TotpSecret::usable_step(later, 1, used.ok()),
            Some(later / 30 + 1)
        );
        assert_eq!(TotpSecret::usable_step(later, 0, used.ok()), None);
    }

    #[test]
    fn refuses_malformed_codes_and_secrets() {
        let secret = TotpSecret::from_base32("jbsw y3dp ehpk 3pxp").unwrap();
        assert_eq!(secret.base32(), "JBSWY3DPEHPK3PXP");
        assert_eq!(secret.verify("12345", 0, 1, None), Err(OtpError::Wrong));
        assert_eq!(secret.verify("abcdef", 0, 1, None), Err(OtpError::Wrong));
        assert!(TotpSecret::from_base32("not base32!").is_err());
        assert!(TotpSecret::from_base32("").is_err());
    }

    #[test]
    fn current_codes_know_the_time_left() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let codes = current_codes(&secret, 1_700_000_020);
        assert_eq!(codes.seconds_remaining, 20);
        assert_eq!(codes.next_code, secret.code_at_step(codes.step + 1));
    }

    #[test]
    fn otpauth_uri_names_the_account_and_secret() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(
            secret.otpauth_uri("mfa@example.com"),
            "otpauth://totp/Particle:mfa@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Particle&algorithm=SHA1&digits=6&period=30"
        );
    }
}
