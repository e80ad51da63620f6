//! The notifier the service runs with: the log (the default), or emails
//! sent in the background so that a slow or unreachable SMTP server never
//! holds up the request that added the passkey.

use std::sync::Arc;

use actix_web::web;
use monetro_adapters::{LogNotifier, SmtpNotifier};
use monetro_domain::{Passkey, User};
use monetro_ports::{Notifier, NotifyError};

use crate::metrics::Metrics;

#[derive(Clone, Default)]
pub enum ServiceNotifier {
    #[default]
    Log,
    /// Each email is sent by a task of its own; its outcome is logged and
    /// counted in `monetro_notifications_total`.
    Smtp {
        smtp: Arc<SmtpNotifier>,
        metrics: web::Data<Metrics>,
    },
}

impl Notifier for ServiceNotifier {
    async fn passkey_added(&self, user: &User, passkey: &Passkey) -> Result<(), NotifyError> {
        match self {
            Self::Log => LogNotifier.passkey_added(user, passkey).await,
            Self::Smtp { smtp, metrics } => {
                let (smtp, metrics) = (smtp.clone(), metrics.clone());
                let (user, passkey) = (user.clone(), passkey.clone());
                tokio::spawn(async move {
                    match smtp.passkey_added(&user, &passkey).await {
                        Ok(()) => metrics.observe_notification("sent"),
                        Err(error) => {
                            tracing::warn!(%error, user = %user.id, passkey = %passkey.id,
                                "new-passkey email not sent");
                            metrics.observe_notification("failed");
                        }
                    }
                });
                Ok(())
            }
        }
    }
}
