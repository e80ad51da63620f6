//! The "new passkey added to your account" notification: a log line by
//! default, or an email over SMTP.

use monetro_domain::{Passkey, User};
use monetro_ports::{Notifier, NotifyError};

/// Writes notifications to the service log (no email is sent).
#[derive(Debug, Clone, Default)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    async fn passkey_added(&self, user: &User, passkey: &Passkey) -> Result<(), NotifyError> {
        tracing::info!(user = %user.id, passkey = %passkey.id, name = passkey.name.as_str(), "notification: a new passkey was added to the account");
        Ok(())
    }
}
