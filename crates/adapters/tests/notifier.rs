//! The `Notifier` port's contract against the log and SMTP adapters, the
//! email the SMTP adapter writes (captured by an SMTP server started here),
//! and its failures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use monetro_adapters::testing::SmtpSink;
use monetro_adapters::{LogNotifier, PASSKEY_ADDED_SUBJECT, SmtpNotifier, SmtpSettings, SmtpTls};
use monetro_domain::User;
use monetro_ports::Notifier as _;
use monetro_ports::contract::{self, sample_passkey, sample_user};

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        from: "Monetro <no-reply@monetro.test>".into(),
        credentials: None,
        timeout: Duration::from_secs(5),
    }
}

fn user() -> User {
    sample_user("ann@example.com").user
}

#[tokio::test]
async fn the_log_notifier_keeps_the_contract() {
    assert_eq!(contract::notifier(LogNotifier).await.len(), 2);
}

#[tokio::test]
async fn the_smtp_notifier_keeps_the_contract_and_mails_each_owner() {
    let sink = SmtpSink::start().await;
    let notified = contract::notifier(SmtpNotifier::new(&settings(sink.port)).unwrap()).await;
    let mails = sink.wait_for(2).await;
    assert_eq!(mails.len(), 2);
    for (mail, (email, passkey)) in mails.iter().zip(&notified) {
        assert_eq!(mail.from, "no-reply@monetro.test");
        assert_eq!(mail.recipients, std::slice::from_ref(email));
        assert!(mail.header("To").unwrap().contains(email.as_str()));
        assert_eq!(mail.header("Subject").unwrap(), PASSKEY_ADDED_SUBJECT);
        assert!(
            mail.header("Content-Type")
                .unwrap()
                .starts_with("text/plain")
        );
        if passkey.is_ascii() {
            assert!(mail.body().contains(passkey.as_str()), "{}", mail.data);
        }
    }
    let first = &mails[0];
    assert!(
        first.body().contains("Hello Ann Example,"),
        "{}",
        first.data
    );
    assert!(first.body().contains("Settings > Security > Passkeys"));
}

#[tokio::test]
async fn an_unreachable_or_refusing_server_is_an_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let user = user();
    let passkey = sample_passkey(user.id, b"cred", user.created_at);
    let unreachable = SmtpNotifier::new(&settings(port)).unwrap();
    assert!(unreachable.passkey_added(&user, &passkey).await.is_err());

    let refusing = SmtpSink::refusing().await;
    let notifier = SmtpNotifier::new(&settings(refusing.port)).unwrap();
    let error = notifier.passkey_added(&user, &passkey).await.unwrap_err();
    assert!(
        error.0.contains("550") || error.0.contains("mailbox"),
        "{error}"
    );
    assert!(refusing.mails().is_empty());
}

#[tokio::test]
async fn settings_that_cannot_work_are_refused() {
    let bad_from = SmtpSettings {
        from: "not an address".into(),
        ..settings(25)
    };
    assert!(SmtpNotifier::new(&bad_from).err().unwrap().contains("from"));
    let no_host = SmtpSettings {
        host: "  ".into(),
        ..settings(25)
    };
    assert!(SmtpNotifier::new(&no_host).is_err());
    for tls in [SmtpTls::Starttls, SmtpTls::Tls] {
        let secured = SmtpSettings {
            host: "smtp.example.com".into(),
            tls,
            ..settings(tls.default_port())
        };
        assert!(SmtpNotifier::new(&secured).is_ok());
    }
}
