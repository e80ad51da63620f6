use std::future::Future;

use chrono::{DateTime, Utc};
use monetro_domain::{OutboxDelivery, OutboxEvent, Passkey, User};
use uuid::Uuid;

use crate::StoreError;

/// The transactional outbox of events for other systems. Events that
/// report a stored change are written by the store call that writes the
/// change (its [`crate::Journal`] or `outbox` argument), in the same
/// transaction; this port
/// enqueues the others and hands deliveries to the dispatcher.
///
/// A delivery is *pending* until it is delivered or dead. Claiming one
/// leases it: it is not due again before the lease ends, so a dispatcher
/// that dies mid-delivery leaves it to be retried (at least once).
pub trait Outbox: Clone + Send + Sync + 'static {
    /// Enqueues events that report no stored change (a sign-in with a
    /// password, an unknown credential): one pending delivery per event and
    /// endpoint, due at once.
    fn enqueue(
        &self,
        events: Vec<OutboxEvent>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` pending deliveries due at `now` (`next attempt <=
    /// now`), the longest waiting first; each gets one more attempt counted
    /// and is not due again before `lease_until`. MUST NOT hand one
    /// delivery to two concurrent claimers (PostgreSQL: `FOR UPDATE SKIP
    /// LOCKED`).
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxDelivery>, StoreError>> + Send;

    /// The delivery reached its endpoint: no longer pending.
    fn mark_delivered(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The attempt failed with `error`: due again at `retry_at`, or, with
    /// `None`, given up (dead, no longer pending).
    fn record_failure(
        &self,
        id: Uuid,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How many deliveries are pending (due or not).
    fn backlog(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes deliveries delivered before `cutoff`; how many.
    fn purge_delivered(
        &self,
        cutoff: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Why a webhook was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// Sends webhook requests.
pub trait WebhookTransport: Clone + Send + Sync + 'static {
    /// POSTs `body` (JSON) with `headers` to `url`; `Ok` only for a 2xx
    /// answer within the adapter's timeout.
    fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: String,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

/// Why a notification was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotifyError(pub String);

/// Tells people about changes to their account.
pub trait Notifier: Clone + Send + Sync + 'static {
    /// "A new passkey was added to your account", to `user`'s email. Best
    /// effort: the caller logs a failure and goes on.
    fn passkey_added(
        &self,
        user: &User,
        passkey: &Passkey,
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
}
