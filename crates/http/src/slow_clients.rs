//! Clients that send slowly. actix-web itself closes a connection whose
//! first request head is late (`server.client_request_timeout_secs`, `408`)
//! and idle kept-alive connections (`server.keep_alive_secs`), but it waits
//! for a request body for ever. Here every body gets a deadline
//! (`server.client_body_timeout_secs`): past it, reading the body fails, so
//! the handler answers `400 VALIDATION_FAILED`. A connection whose body was
//! not read to its end (late, or refused before it was read) is closed after
//! the answer, so no client can keep it waiting for the rest.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage as _;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::web::Bytes;
use futures_core::Stream;
use tokio::time::{Sleep, sleep};

/// A request body that fails once its deadline has passed.
struct Deadline {
    body: Payload,
    timer: Pin<Box<Sleep>>,
    /// Set when the body has been read to its end.
    complete: Rc<Cell<bool>>,
    expired: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(chunk) = Pin::new(&mut self.body).poll_next(cx) {
            if chunk.is_none() {
                self.complete.set(true);
            }
            return Poll::Ready(chunk);
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.expired = true;
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the request body did not arrive in time",
        )))))
    }
}

/// Middleware (for `wrap_fn`): gives the request's body `timeout` to
/// arrive in full, and closes the connection when it was not read to its
/// end. `None`: no deadline.
pub fn body_deadline<S, B>(
    mut request: ServiceRequest,
    service: &S,
    timeout: Option<Duration>,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let complete = Rc::new(Cell::new(true));
    if let Some(timeout) = timeout {
        match request.take_payload() {
            Payload::None => {}
            body => {
                complete.set(false);
                request.set_payload(Payload::Stream {
                    payload: Box::pin(Deadline {
                        body,
                        timer: Box::pin(sleep(timeout)),
                        complete: complete.clone(),
                        expired: false,
                    }),
                });
            }
        }
    }
    let response = service.call(request);
    async move {
        let mut response = response.await?;
        if !complete.get() {
            // The rest of the body may still be on its way, or never come:
            // the connection cannot carry another request.
            response
                .response_mut()
                .head_mut()
                .set_connection_type(ConnectionType::Close);
        }
        Ok(response)
    }
}
