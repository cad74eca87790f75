//! The emulated Particle API's domain, free of HTTP: what each endpoint means.
//!
//! - `oauth`: `/oauth/token` grants, token issue and introspection (particle-api.md §1, §2).
//! - `account`: the user, devices and MFA enrolment (§4, §5).
//! - `scopes`: who may call what (§3.6), and the product/org authorisation.
//! - `teams`: API users and members of product and org teams (§3).
//! - `products`: product and org resources API users call (§3.6, §5.2).
//! - `lifecycle`: sign-up, account changes, deletion, password reset (account spec A2).
//! - `devices`: device detail and product device membership (account spec A11).
//! - `device_access`: who may do what to a device (devices spec D1).
//! - `device_calls`: functions and variables of the simulated devices (D3, D4).
//! - `device_admin`: claim, release, update, ping, claim codes, flash (D2, D8).
//! - `events`: event streams, publishing and the cloud's special events (devices spec D5, D6).
//! - `clients`: OAuth clients of users and products (account spec A4).
//! - `customers`: a product's customers (account spec A3).
//! - `forms`: form and query-string fields, decoded once.
//! - `webhooks`: webhooks and integrations, their templates and delivery (devices spec D7).
//!
//! May import: `world` and everything below it; never `http`, `control` or `server`.

pub(crate) mod account;
pub(crate) mod clients;
pub(crate) mod customers;
pub(crate) mod device_access;
pub(crate) mod device_admin;
pub(crate) mod device_calls;
pub(crate) mod devices;
pub(crate) mod events;
pub(crate) mod forms;
pub(crate) mod lifecycle;
pub(crate) mod oauth;
pub(crate) mod products;
pub(crate) mod scopes;
pub(crate) mod teams;
pub(crate) mod webhooks;
