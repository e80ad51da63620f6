use chrono::{DateTime, Utc};

/// The current time. Use cases never read the system clock themselves, so
/// tests move time instead of sleeping.
pub trait Clock: Clone + Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}
