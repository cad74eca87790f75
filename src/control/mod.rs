//! The control plane: its domain logic, shared by the HTTP control API
//! (`http/routes/control.rs`) and the Rust API ([`Controls`](crate::Controls), reached
//! through [`MockServer`](crate::MockServer) and [`Tenant`](crate::Tenant)), and the
//! types both speak: clock readings and durations, users, TOTP codes, directly issued
//! tokens, live tokens, password resets, the journal, faults, rate-limit changes, tenants, the event bus (publish as a device, wait for an event) and webhook deliveries. Free of HTTP.
//!
//! May import: `particle` (tokens are issued the way a login issues them, API users are
//! created by the team code), `world` and everything below; never `http` or `server`.

mod account;
mod clock;
mod devices;
pub(crate) mod events;
mod rate_limits;
mod snapshots;
mod tenants;
mod tokens;
mod users;
pub(crate) mod webhooks;
pub use crate::faults::{FaultInfo, FaultSpec};
pub use crate::journal::{JournalEntry, JournalFilter};
pub(crate) use account::{
    clients, clients_page, customers, customers_page, password_resets, password_resets_page,
};
pub use account::{ClientInfo, CustomerInfo, PasswordReset};
pub(crate) use clock::{advance, advance_amount, clock_state, parse_instant};
pub use clock::{parse_duration, ClockState, DurationError};
pub(crate) use devices::{
    claim_codes, clear_device_calls, device, device_calls, device_settings, devices,
    set_device_settings, set_function, set_variable, update_device,
};
pub use devices::{
    Behaviour, CallerKind, ClaimCode, ComputedReturn, DevicePatch, DeviceSettings, DeviceView,
    Function, FunctionCall, PublishEvent, Returns, SetVariable, VarType, Variable, VariableUpdate,
    MAX_OFFLINE_DELAY_MS,
};
pub use events::{DevicePublish, EventView};
pub(crate) use rate_limits::{
    change_rate_limits, parse_client, rate_limit_clients_page, SettingsBase,
};
pub(crate) use snapshots::{export_state, import_state};
pub use tenants::TenantInfo;
pub(crate) use tenants::{create_tenant, delete_tenant, tenant_ids, tenant_page};
pub(crate) use tokens::{issue_token, live_tokens, revoke_token, token_page, token_page_number};
pub use tokens::{IssuedToken, LiveToken, TokenOrder};
pub(crate) use users::{add_user, remove_user, totp_codes, update_user, users_page};
pub use users::{MembershipSpec, NewUser, TotpCodes, UserPatch, UserView};

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_add_their_parts() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("2w1d").unwrap(),
            Duration::from_secs(15 * 86_400)
        );
        assert_eq!(parse_duration("42").unwrap(), Duration::from_secs(42));
        for bad in ["", "h", "5y", "1.5h", "-1s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instants_are_iso_text_or_milliseconds() {
        assert_eq!(parse_instant(&serde_json::json!(1_000)).unwrap(), 1_000);
        assert_eq!(parse_instant(&serde_json::json!("1000")).unwrap(), 1_000);
        assert_eq!(
            parse_instant(&serde_json::json!("2017-12-07T00:00:01Z")).unwrap(),
            1_512_604_801_000
        );
        assert!(parse_instant(&serde_json::json!("tomorrow")).is_err());
        assert!(parse_instant(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn clients_are_addresses_or_ipv6_prefixes() {
        assert_eq!(parse_client("10.0.0.1").unwrap().to_string(), "10.0.0.1");
        assert_eq!(
            parse_client("2001:db8:1:2::/64").unwrap().to_string(),
            "2001:db8:1:2::"
        );
        assert_eq!(
            parse_client("2001:db8::7").unwrap().to_string(),
            "2001:db8::7"
        );
        for bad in ["", "10.0.0.1/64", "10.0.0", "2001:db8::/48", "localhost"] {
            assert!(parse_client(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_user_patch_tells_null_from_absent() {
        let p: UserPatch = serde_json::from_str(r#"{"mfa_secret":null}"#).unwrap();
        assert_eq!(p.mfa_secret, Some(None));
        let p: UserPatch = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(p.mfa_secret, None);
    }
}
