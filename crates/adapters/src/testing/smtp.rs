//! An SMTP server for tests: on 127.0.0.1, speaking just enough SMTP
//! (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, no TLS) to capture
//! every message it is given.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct CapturedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub recipients: Vec<String>,
    /// The message: headers and body, dot-stuffing undone.
    pub data: String,
}

impl CapturedMail {
    /// The first header called `name` (any case), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The body, with quoted-printable soft line breaks joined.
    pub fn body(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default();
        body.replace("=\r\n", "")
    }
}

/// A running server; it stops with the test's runtime.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<CapturedMail>>>,
    refuse_recipients: bool,
}

impl SmtpSink {
    /// A server that accepts every message.
    pub async fn start() -> Self {
        Self::listen(false).await
    }

    /// A server that refuses every recipient (`550`), so no message gets
    /// through.
    pub async fn refusing() -> Self {
        Self::listen(true).await
    }

    async fn listen(refuse_recipients: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let sink = Self {
            port,
            mails: Arc::default(),
            refuse_recipients,
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let serving = serving.clone();
                tokio::spawn(async move { serving.converse(stream).await });
            }
        });
        sink
    }

    /// The messages so far.
    pub fn mails(&self) -> Vec<CapturedMail> {
        self.mails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (up to 20 s) until `count` messages have arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<CapturedMail> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {count} mails; got {mails:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One SMTP session; any I/O error ends it.
    async fn converse(&self, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        let mut from = String::new();
        let mut recipients = Vec::new();
        if write.write_all(b"220 sink.test ESMTP\r\n").await.is_err() {
            return;
        }
        loop {
            let mut line = String::new();
            match lines.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let command = line.trim_end().to_owned();
            let verb = command
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250 sink.test\r\n",
                "MAIL" => {
                    from = address_in(&command);
                    recipients.clear();
                    b"250 OK\r\n"
                }
                "RCPT" if self.refuse_recipients => b"550 5.1.1 no such mailbox\r\n",
                "RCPT" => {
                    recipients.push(address_in(&command));
                    b"250 OK\r\n"
                }
                "DATA" => {
                    if write.write_all(b"354 end with .\r\n").await.is_err() {
                        return;
                    }
                    let Some(data) = read_data(&mut lines).await else {
                        return;
                    };
                    self.mails
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(CapturedMail {
                            from: from.clone(),
                            recipients: std::mem::take(&mut recipients),
                            data,
                        });
                    b"250 queued\r\n"
                }
                "RSET" => {
                    recipients.clear();
                    b"250 OK\r\n"
                }
                "NOOP" => b"250 OK\r\n",
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"502 not implemented\r\n",
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}

/// The address between `<` and `>` of a MAIL or RCPT command.
fn address_in(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}

/// The lines of a DATA section up to the lone dot, dot-stuffing undone.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut data = String::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == ".\r\n" {
            return Some(data.trim_end_matches("\r\n").to_owned());
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}
