//! Rate-limit changes at run time, and clients as the control API names them.

use std::net::IpAddr;

use crate::error::ApiError;
use crate::rate_limit::{ClientRateLimits, RateLimitSection, RateLimitSettings};
use crate::support::paging::{Page, PageRequest};
use crate::support::text::truncate;
use crate::world::World;

/// A client as the control API names it: an IP address (an IPv6 address stands for its
/// /64), or an IPv6 prefix as the rate-limit snapshots list it (`2001:db8:1:2::/64`).
pub(crate) fn parse_client(text: &str) -> Result<IpAddr, ApiError> {
    let text = text.trim();
    let address = match text.strip_suffix("/64") {
        Some(prefix) if prefix.contains(':') => prefix,
        _ => text,
    };
    address.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "`{}` is not a client: give an IP address or an IPv6 /64 prefix",
            truncate(text)
        ))
    })
}

/// One page of the tracked clients, ordered by client; the cursor is the last client
/// of the previous page.
pub(crate) fn rate_limit_clients_page(
    world: &World,
    request: &PageRequest,
) -> Result<Page<ClientRateLimits>, ApiError> {
    let after = request.cursor.as_deref().map(parse_client).transpose()?;
    let (items, more) = world.rate_limit_clients_page(after, request.limit);
    let next_cursor = more
        .then(|| items.last().map(|c| c.client.clone()))
        .flatten();
    Ok(Page { items, next_cursor })
}

/// What a rate-limit change applies to: `PUT` starts from §6's defaults (the body is a
/// complete description, like a fixtures file's `rate_limits` section), `PATCH` from the
/// settings in force (absent fields stay as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SettingsBase {
    /// §6's defaults.
    Defaults,
    /// The settings in force.
    Current,
}

/// Changes a world's rate-limit settings at run time; counters are kept. Answers the new
/// settings; 400 (nothing changes) for an invalid limit.
pub(crate) fn change_rate_limits(
    world: &World,
    section: &RateLimitSection,
    base: SettingsBase,
) -> Result<RateLimitSettings, ApiError> {
    section.validate("").map_err(ApiError::BadRequest)?;
    Ok(match base {
        SettingsBase::Defaults => {
            let mut settings = RateLimitSettings::default();
            settings.apply_section(section);
            world.set_rate_limit_settings(settings.clone());
            settings
        }
        // Read, change and store as one step: two concurrent PATCHes both take effect.
        SettingsBase::Current => {
            world.update_rate_limit_settings(|settings| settings.apply_section(section))
        }
    })
}
