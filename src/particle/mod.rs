//! The emulated Particle API's domain, free of HTTP: what each endpoint means.
//!
//! - `oauth`: `/oauth/token` grants, token issue and introspection (particle-api.md §1, §2).
//! - `account`: the user, devices and MFA enrolment (§4, §5).
//! - `scopes`: who may call what (§3.6), and the product/org authorisation.
//! - `teams`: API users and members of product and org teams (§3).
//! - `products`: product and org resources API users call (§3.6, §5.2).
//! - `lifecycle`: sign-up, account changes, deletion, password reset (account spec A2).
//! - `devices`: device detail and product device membership (account spec A11).
//! - `clients`: OAuth clients of users and products (account spec A4).
//! - `customers`: a product's customers (account spec A3).
//! - `forms`: form and query-string fields, decoded once.
//!
//! May import: `world` and everything below it; never `http`, `control` or `server`.

pub(crate) mod account;
pub(crate) mod clients;
pub(crate) mod customers;
pub(crate) mod devices;
pub(crate) mod forms;
pub(crate) mod lifecycle;
pub(crate) mod oauth;
pub(crate) mod products;
pub(crate) mod scopes;
pub(crate) mod teams;
