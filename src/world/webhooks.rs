//! The webhook records of one world and the log of their deliveries
//! (particle-api-devices.md D7): plain data, kept in the world's [`Store`] so that a
//! reset drops them with the rest. What they mean (who may create one, which events fire
//! it, how a request is rendered) is `particle::webhooks`.
//!
//! [`Store`]: crate::world::store::Store

use std::collections::VecDeque;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Millis;

/// Most webhooks and integrations one world holds (as the 1,000 OAuth clients).
pub(crate) const MAX_WEBHOOKS: usize = 1_000;

/// Most deliveries the log of one world keeps (oldest dropped first).
pub(crate) const MAX_DELIVERIES: usize = 1_000;

/// Who a webhook belongs to, which decides the events that fire it (D7.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum HookOwner {
    /// A user's sandbox hook (`/v1/webhooks`, `/v1/integrations`): the user's devices and
    /// the user's own API publishes.
    User(u32),
    /// A product's hook: every event of the product.
    Product(u32),
    /// An org's hook: every event of the org's products.
    Org(Box<str>),
}

/// One webhook or integration: every field of D7.2 as stored (and as a state document
/// keeps it, credentials of `auth` and `headers` included, so that it still works after
/// a restart).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Webhook {
    /// 24 hex digits.
    pub id: String,
    /// Whose it is.
    pub owner: HookOwner,
    /// Created through the legacy `/v1/webhooks` routes (answers say `hookUrl`).
    pub legacy: bool,
    /// `integration_type` (`Webhook`, or another type stored but never delivered).
    pub integration_type: String,
    /// The event-name prefix (case-sensitive).
    pub event: String,
    /// The URL template.
    pub url: String,
    /// `name`.
    pub name: String,
    /// `requestType`, upper case.
    pub request_type: String,
    /// `deviceID`, if the hook is for one device.
    pub device_id: Option<String>,
    /// `body`, a template sent verbatim.
    pub body: Option<String>,
    /// `json`: an object of templates, or a template string.
    pub json: Option<Value>,
    /// `form`: templates by field.
    pub form: Option<Map<String, Value>>,
    /// `query`: templates by parameter.
    pub query: Option<Map<String, Value>>,
    /// `headers`: templates by header name.
    pub headers: Option<Map<String, Value>>,
    /// `auth`: `username` and `password` templates (Basic auth).
    pub auth: Option<(String, String)>,
    /// `responseTopic` template.
    pub response_topic: Option<String>,
    /// `errorResponseTopic` template.
    pub error_response_topic: Option<String>,
    /// `responseTemplate` template.
    pub response_template: Option<String>,
    /// `noDefaults`.
    pub no_defaults: bool,
    /// `disabled`.
    pub disabled: bool,
    /// `rejectUnauthorized` (default true).
    pub reject_unauthorized: bool,
    /// `unchunked`.
    pub unchunked: bool,
    /// `dataUrlResponseEvent` (stored, not acted on).
    pub data_url_response_event: bool,
    /// When it was created, on the world's clock.
    pub created_at: Millis,
}

/// One delivery as the control API and the journal show it: what was sent where, what
/// came back, with the secrets of `auth` and of headers redacted.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Delivery {
    /// Sequence number within the world, from 1.
    pub seq: u64,
    /// The webhook's id.
    pub webhook_id: String,
    /// The event that fired it.
    pub event: String,
    /// The event's sequence number on the bus.
    pub event_seq: u64,
    /// When the delivery was decided, ISO 8601 on the world's clock.
    pub at: String,
    /// The request method.
    pub method: String,
    /// The rendered URL.
    pub url: String,
    /// The request headers sent (secrets redacted).
    pub headers: Vec<(String, String)>,
    /// The request body sent (the first 4 KiB, as text).
    pub body: Option<String>,
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// The answer's body (the first 4 KiB, as text), if one came.
    pub response: Option<String>,
    /// Milliseconds from send to answer (real time), if it was sent.
    pub duration_ms: Option<u64>,
    /// Why it failed (the `hook-error` data), if it did.
    pub error: Option<String>,
    /// `sent`, `refused` (destination not allowed), `dropped` (queue full), `failed`.
    pub outcome: &'static str,
}

/// A world's webhooks and delivery log.
#[derive(Debug)]
pub(crate) struct WebhookBook {
    /// The hooks, read without a lock by every publish (a snapshot swapped whole by each
    /// change: changes are rare, publishes frequent).
    hooks: ArcSwap<Vec<Arc<Webhook>>>,
    /// Serialises changes, so two concurrent creations cannot both pass the cap.
    writing: Mutex<()>,
    /// The last [`MAX_DELIVERIES`] deliveries (a plain mutex: one push per delivery).
    deliveries: Mutex<VecDeque<Delivery>>,
    /// The next delivery's sequence number minus one.
    delivery_seq: Mutex<u64>,
    /// Word of every logged delivery (its sequence number), for the control API's waiters.
    logged: tokio::sync::watch::Sender<u64>,
}

impl Default for WebhookBook {
    fn default() -> Self {
        Self {
            hooks: ArcSwap::default(),
            writing: Mutex::new(()),
            deliveries: Mutex::new(VecDeque::new()),
            delivery_seq: Mutex::new(0),
            logged: tokio::sync::watch::channel(0).0,
        }
    }
}

impl WebhookBook {
    /// Word of every logged delivery, for waiters.
    pub(crate) fn watch_logged(&self) -> tokio::sync::watch::Receiver<u64> {
        self.logged.subscribe()
    }

    /// Every hook now.
    pub(crate) fn hooks(&self) -> Arc<Vec<Arc<Webhook>>> {
        self.hooks.load_full()
    }

    /// Changes the hooks with `change` (which sees the current list and may refuse);
    /// returns what `change` returned.
    pub(crate) fn change<T, E>(
        &self,
        change: impl FnOnce(&mut Vec<Arc<Webhook>>) -> Result<T, E>,
    ) -> Result<T, E> {
        let _writing = self.writing.lock();
        let mut hooks = Vec::clone(&self.hooks.load());
        let answer = change(&mut hooks)?;
        self.hooks.store(Arc::new(hooks));
        Ok(answer)
    }

    /// Replaces every hook (a state document being imported).
    pub(crate) fn restore(&self, hooks: Vec<Webhook>) {
        let _writing = self.writing.lock();
        self.hooks
            .store(Arc::new(hooks.into_iter().map(Arc::new).collect()));
    }

    /// Logs a delivery (its `seq` is assigned here); returns the sequence number.
    pub(crate) fn log(&self, mut delivery: Delivery) -> u64 {
        let seq = {
            let mut next = self.delivery_seq.lock();
            *next += 1;
            *next
        };
        delivery.seq = seq;
        let mut log = self.deliveries.lock();
        if log.len() >= MAX_DELIVERIES {
            log.pop_front();
        }
        log.push_back(delivery);
        drop(log);
        self.logged.send_replace(seq);
        seq
    }

    /// The logged deliveries after sequence number `after`, oldest first.
    pub(crate) fn deliveries(&self, after: u64) -> Vec<Delivery> {
        self.deliveries
            .lock()
            .iter()
            .filter(|d| d.seq > after)
            .cloned()
            .collect()
    }
}
