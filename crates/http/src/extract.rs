//! Request extractors: the bearer token, and the ceremony handles the
//! session cookie carries.

use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::net::IpAddr;
use std::pin::Pin;

use actix_session::{Session, SessionExt as _};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use monetro_app::{App, CeremonyHandle, Deps, VerifiedToken};
use monetro_domain::{Error, RequestOrigin, UserId};

use crate::client_ip::TrustedProxies;
use crate::error::ApiError;
use crate::limits::RateLimits;

/// The future of an extractor that awaits the store.
type Pending<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// A request with a valid bearer token whose session has not ended.
/// Listed before the body in a handler's arguments, so a bad token is
/// reported before a bad body.
pub struct Authenticated<D> {
    pub user_id: UserId,
    /// What the token says (session, `auth_time`, …).
    pub token: VerifiedToken,
    deps: PhantomData<D>,
}

impl<D: Deps> FromRequest for Authenticated<D> {
    type Error = ApiError;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = req.app_data::<web::Data<App<D>>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let app = app.ok_or_else(|| Error::Unexpected("application state missing".into()))?;
            let token = token.ok_or(Error::Unauthorized)?;
            let verified = app.authenticate(&token).await?;
            Ok(Self {
                user_id: verified.user_id,
                token: verified,
                deps: PhantomData,
            })
        })
    }
}

/// The token of an `Authorization: Bearer …` header, if there is one.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

/// An [`Authenticated`] request whose last authentication lies within the
/// step-up window (`403 REAUTHENTICATION_REQUIRED` otherwise); checked
/// right after the token, before the body.
pub struct Recent<D>(pub Authenticated<D>);

impl<D: Deps> FromRequest for Recent<D> {
    type Error = ApiError;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let app = req.app_data::<web::Data<App<D>>>().cloned();
        let authenticated = Authenticated::<D>::from_request(req, payload);
        Box::pin(async move {
            let authenticated = authenticated.await?;
            let app = app.ok_or_else(|| Error::Unexpected("application state missing".into()))?;
            app.require_recent_authentication(&authenticated.token)?;
            Ok(Self(authenticated))
        })
    }
}

/// Which ceremony a session slot holds; one slot per kind, so starting a
/// sign-in does not cancel a registration in progress and vice versa.
#[derive(Clone, Copy)]
pub enum Slot {
    Registration,
    Authentication,
    Signup,
    Reauthentication,
}

impl Slot {
    fn key(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Authentication => "authentication",
            Self::Signup => "signup",
            Self::Reauthentication => "reauthentication",
        }
    }
}

/// The ceremony handles in the signed, encrypted session cookie.
pub struct Ceremonies(Session);

impl FromRequest for Ceremonies {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(req.get_session())))
    }
}

impl Ceremonies {
    pub fn remember(&self, slot: Slot, handle: &CeremonyHandle) -> Result<(), ApiError> {
        self.0
            .insert(slot.key(), &handle.0)
            .map_err(|e| ApiError::from(Error::Unexpected(format!("session: {e}"))))
    }

    /// The handle in `slot`; an unreadable cookie counts as none.
    pub fn handle(&self, slot: Slot) -> Option<CeremonyHandle> {
        self.0
            .get::<String>(slot.key())
            .ok()
            .flatten()
            .map(CeremonyHandle)
    }
}

/// A request the per-address rate limit let through (the address resolved
/// through trusted proxies only). Listed first in a handler's arguments, so
/// a flood is turned away before any other work.
pub struct Admitted;

impl FromRequest for Admitted {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let client = client_ip(req);
        let admitted = match req.app_data::<web::Data<RateLimits>>() {
            Some(limits) => limits.check_ip(client),
            None => Ok(()),
        };
        ready(admitted.map(|()| Self))
    }
}

/// The client address of a request.
pub fn client_ip(req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |addr| addr.ip());
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    match req.app_data::<web::Data<TrustedProxies>>() {
        Some(proxies) => proxies.client_ip(peer, header("forwarded"), header("x-forwarded-for")),
        None => peer,
    }
}

/// Where the request came from, for the security log.
pub struct Requester(pub RequestOrigin);

impl FromRequest for Requester {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        ready(Ok(Self(RequestOrigin::new(
            Some(client_ip(req).to_string()),
            user_agent,
        ))))
    }
}
