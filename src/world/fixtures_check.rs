//! The fixtures document's validation: every cross-reference resolved and every value
//! checked, with the field path of the first problem.

use std::collections::{HashMap, HashSet};

use crate::tokens::parse_token;
use crate::totp::TotpSecret;
use crate::world::devices::{
    argument_limit, name_limit, parse_version, MAX_FUNCTIONS, MAX_VARIABLES,
};
use crate::world::fixtures::{
    is_24_hex, valid_client_id, DeviceFixture, Fixtures, KNOWN_SCOPES, MAX_GROUP, MAX_GROUPS, ROLES,
};

impl Fixtures {
    /// Checks the document in one pass per section: every cross-reference is a hash
    /// lookup in the keys gathered so far, so a document of n records costs O(n) (a
    /// scan per reference made a large document quadratic).
    pub(super) fn validate(&self) -> Result<(), String> {
        if let Some(section) = &self.rate_limits {
            section.validate("rate_limits.")?;
        }
        let mut emails = HashSet::new();
        for (i, user) in self.users.iter().enumerate() {
            let at = format!("users[{i}]");
            if !user.email.contains('@') || user.email.len() > 254 {
                return Err(format!(
                    "at `{at}.email`: `{}` is not an email address",
                    user.email
                ));
            }
            if !emails.insert(user.email.to_ascii_lowercase()) {
                return Err(format!("at `{at}.email`: duplicate email `{}`", user.email));
            }
            if let Some(mfa) = &user.mfa {
                TotpSecret::from_base32(&mfa.secret)
                    .map_err(|e| format!("at `{at}.mfa.secret`: invalid TOTP secret: {e}"))?;
                let mut codes = HashSet::new();
                for (j, code) in mfa.recovery_codes.iter().enumerate() {
                    if code.is_empty() || !codes.insert(code) {
                        return Err(format!(
                            "at `{at}.mfa.recovery_codes[{j}]`: empty or duplicate recovery code"
                        ));
                    }
                }
            }
        }
        let check_user = |email: &str, at: &str| -> Result<(), String> {
            if emails.contains(&email.to_ascii_lowercase()) {
                Ok(())
            } else {
                Err(format!("at `{at}`: unknown user `{email}`"))
            }
        };
        let mut org_keys = HashSet::new();
        for (i, org) in self.orgs.iter().enumerate() {
            if !is_24_hex(&org.id) {
                return Err(format!("at `orgs[{i}].id`: an org id is 24 hex characters"));
            }
            if !org_keys.insert(org.id.clone()) || !org_keys.insert(org.slug.clone()) {
                return Err(format!("at `orgs[{i}]`: duplicate org id or slug"));
            }
        }
        let find_org = |key: &str| org_keys.contains(key).then_some(());
        // Every product's id (as text) and slug, to its numeric id.
        let mut product_keys: HashMap<String, u32> = HashMap::new();
        for (i, product) in self.products.iter().enumerate() {
            if product.slug.is_empty() || product.slug.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "at `products[{i}].slug`: a slug must be non-empty and not all digits"
                ));
            }
            if product_keys
                .insert(product.id.to_string(), product.id)
                .is_some()
                || product_keys
                    .insert(product.slug.clone(), product.id)
                    .is_some()
            {
                return Err(format!("at `products[{i}]`: duplicate product id or slug"));
            }
            if let Some(org) = &product.org {
                find_org(org)
                    .ok_or_else(|| format!("at `products[{i}].org`: unknown org `{org}`"))?;
            }
        }
        let find_product = |key: &str| product_keys.get(key).copied();
        for (i, m) in self.memberships.iter().enumerate() {
            let at = format!("memberships[{i}]");
            check_user(&m.user, &format!("{at}.user"))?;
            match (&m.product, &m.org) {
                (Some(p), None) => {
                    find_product(p)
                        .ok_or_else(|| format!("at `{at}.product`: unknown product `{p}`"))?;
                }
                (None, Some(o)) => {
                    find_org(o).ok_or_else(|| format!("at `{at}.org`: unknown org `{o}`"))?;
                }
                _ => {
                    return Err(format!(
                        "at `{at}`: name exactly one of `product` and `org`"
                    ))
                }
            }
            if !ROLES.iter().any(|(name, _)| *name == m.role) {
                let names: Vec<_> = ROLES.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "at `{at}.role`: unknown role `{}` (one of {})",
                    m.role,
                    names.join(", ")
                ));
            }
        }
        let mut client_ids: HashSet<&str> = ["particle", "particle-api", "particle-cli"].into();
        for (i, c) in self.clients.iter().enumerate() {
            let at = format!("clients[{i}]");
            if !valid_client_id(&c.id) {
                return Err(format!(
                    "at `{at}.id`: a client id is 3 to 40 of [A-Za-z0-9-_]"
                ));
            }
            if !client_ids.insert(&c.id) {
                return Err(format!("at `{at}.id`: duplicate client id `{}`", c.id));
            }
            if c.secret.is_empty() {
                return Err(format!("at `{at}.secret`: empty secret"));
            }
            match (&c.product, &c.owner) {
                (Some(p), None) => {
                    find_product(p)
                        .ok_or_else(|| format!("at `{at}.product`: unknown product `{p}`"))?;
                }
                (None, Some(o)) => check_user(o, &format!("{at}.owner"))?,
                _ => {
                    return Err(format!(
                        "at `{at}`: name exactly one of `product` and `owner`"
                    ))
                }
            }
            match (c.client_type.as_str(), &c.redirect_uri) {
                ("installed", _) | ("web", Some(_)) => {}
                ("web", None) => {
                    return Err(format!("at `{at}.redirect_uri`: a web client needs one"))
                }
                (other, _) => {
                    return Err(format!(
                        "at `{at}.type`: `{other}` is not `installed` or `web`"
                    ))
                }
            }
        }
        let mut customers = HashSet::new();
        for (i, c) in self.customers.iter().enumerate() {
            let at = format!("customers[{i}]");
            let product = find_product(&c.product)
                .ok_or_else(|| format!("at `{at}.product`: unknown product `{}`", c.product))?;
            if !customers.insert((product, c.email.to_ascii_lowercase())) {
                return Err(format!("at `{at}.email`: duplicate customer `{}`", c.email));
            }
        }
        let mut device_ids = HashSet::new();
        for (i, d) in self.devices.iter().enumerate() {
            let at = format!("devices[{i}]");
            if !is_24_hex(&d.id) {
                return Err(format!("at `{at}.id`: a device id is 24 hex characters"));
            }
            if !device_ids.insert(d.id.to_ascii_lowercase()) {
                return Err(format!("at `{at}.id`: duplicate device id `{}`", d.id));
            }
            if let Some(owner) = &d.owner {
                check_user(owner, &format!("{at}.owner"))?;
            }
            if d.groups.len() > MAX_GROUPS
                || d.groups
                    .iter()
                    .any(|g| g.is_empty() || g.len() > MAX_GROUP || g.contains(','))
            {
                return Err(format!(
                    "at `{at}.groups`: at most {MAX_GROUPS} groups of 1 to {MAX_GROUP} characters, no commas"
                ));
            }
            check_device_model(d, &at)?;
            let product = match &d.product {
                Some(p) => Some(
                    find_product(p)
                        .ok_or_else(|| format!("at `{at}.product`: unknown product `{p}`"))?,
                ),
                None => None,
            };
            if let Some(customer) = &d.customer {
                let known = product
                    .is_some_and(|p| customers.contains(&(p, customer.to_ascii_lowercase())));
                if !known {
                    return Err(format!(
                        "at `{at}.customer`: `{customer}` is not a customer of the device's product"
                    ));
                }
            }
        }
        let mut tokens = HashSet::new();
        let mut usernames = HashSet::new();
        for (i, a) in self.api_users.iter().enumerate() {
            let at = format!("api_users[{i}]");
            match (&a.product, &a.org) {
                (Some(p), None) => {
                    find_product(p)
                        .ok_or_else(|| format!("at `{at}.product`: unknown product `{p}`"))?;
                }
                (None, Some(o)) => {
                    find_org(o).ok_or_else(|| format!("at `{at}.org`: unknown org `{o}`"))?;
                }
                _ => {
                    return Err(format!(
                        "at `{at}`: name exactly one of `product` and `org`"
                    ))
                }
            }
            if a.friendly_name.trim().is_empty() {
                return Err(format!("at `{at}.friendly_name`: empty"));
            }
            if !a.username.ends_with("@api.particle.io") || !usernames.insert(&a.username) {
                return Err(format!(
                    "at `{at}.username`: must end in @api.particle.io and be unique"
                ));
            }
            if a.scopes.is_empty() {
                return Err(format!(
                    "at `{at}.scopes`: an API user needs at least one scope"
                ));
            }
            for (j, s) in a.scopes.iter().enumerate() {
                if !KNOWN_SCOPES.contains(&s.as_str()) {
                    return Err(format!("at `{at}.scopes[{j}]`: unknown scope `{s}`"));
                }
            }
            let key = parse_token(&a.token)
                .ok_or_else(|| format!("at `{at}.token`: a token is 40 hex characters"))?;
            if !tokens.insert(key) {
                return Err(format!("at `{at}.token`: duplicate token"));
            }
        }
        for (i, t) in self.tokens.iter().enumerate() {
            let at = format!("tokens[{i}]");
            let key = parse_token(&t.token)
                .ok_or_else(|| format!("at `{at}.token`: a token is 40 hex characters"))?;
            if !tokens.insert(key) {
                return Err(format!("at `{at}.token`: duplicate token"));
            }
            check_user(&t.user, &format!("{at}.user"))?;
            if !client_ids.contains(t.client.as_str()) {
                return Err(format!("at `{at}.client`: unknown client `{}`", t.client));
            }
            if let Some(when) = &t.expires_at {
                crate::clock::parse_iso8601(when).ok_or_else(|| {
                    format!("at `{at}.expires_at`: `{when}` is not an ISO 8601 date or date-time")
                })?;
            }
        }
        Ok(())
    }
}

/// A device's functions and variables (D3, D4): names within the Device OS limit and
/// unique, values of their declared type, effects naming variables the device has.
fn check_device_model(d: &DeviceFixture, at: &str) -> Result<(), String> {
    let os = &d.system_firmware_version;
    if parse_version(os).is_none() {
        return Err(format!(
            "at `{at}.system_firmware_version`: `{os}` is not a version such as 6.1.1"
        ));
    }
    let names = name_limit(os);
    let text_limit = argument_limit(os);
    if d.functions.len() > MAX_FUNCTIONS || d.variables.len() > MAX_VARIABLES {
        return Err(format!(
            "at `{at}`: at most {MAX_FUNCTIONS} functions and {MAX_VARIABLES} variables"
        ));
    }
    let mut seen = HashSet::new();
    for (i, f) in d.functions.iter().enumerate() {
        let here = format!("{at}.functions[{i}]");
        if f.name.is_empty() || f.name.len() > names || !seen.insert(f.name.as_str()) {
            return Err(format!(
                "at `{here}.name`: function names are unique, 1 to {names} characters (Device OS {os})"
            ));
        }
        if let Some(set) = &f.behaviour.set {
            let variable = d.variables.get(&set.variable).ok_or_else(|| {
                format!(
                    "at `{here}.set.variable`: the device has no variable `{}`",
                    set.variable
                )
            })?;
            if let Some(value) = &set.value {
                if variable.var_type.coerce(value, false).is_none() {
                    return Err(format!(
                        "at `{here}.set.value`: not a {} value",
                        variable.var_type.name()
                    ));
                }
            }
        }
        if let Some(event) = &f.behaviour.publish {
            if event.name.is_empty() || event.name.len() > 64 {
                return Err(format!(
                    "at `{here}.publish.name`: an event name is 1 to 64 characters"
                ));
            }
        }
    }
    for (name, v) in &d.variables {
        let here = format!("{at}.variables.{name}");
        if name.is_empty() || name.len() > names {
            return Err(format!(
                "at `{here}`: variable names are 1 to {names} characters (Device OS {os})"
            ));
        }
        if v.var_type.coerce(&v.value, false).is_none() {
            return Err(format!(
                "at `{here}.value`: not a {} value",
                v.var_type.name()
            ));
        }
        if v.value.as_str().is_some_and(|t| t.len() > text_limit) {
            return Err(format!(
                "at `{here}.value`: longer than {text_limit} bytes (Device OS {os})"
            ));
        }
    }
    Ok(())
}
