//! The six passkey endpoints of the product documentation, and rename.

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_app::{App, AuthenticationCredential, Deps, RegistrationCredential};
use serde::Deserialize;
use serde_json::json;

use crate::dto::PasskeyBody;
use crate::error::ApiError;
use crate::extract::{Admitted, Authenticated, Ceremonies, Requester, Slot};
use crate::limits::RateLimits;
use crate::metrics::{Ceremony, Metrics};
use crate::routes::BodyLimit;
use crate::routes::accounts::session_response;

#[derive(Deserialize)]
pub struct RegisterBody {
    name: Option<String>,
    credential: RegistrationCredential,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuthenticateOptionsBody {
    email: Option<String>,
}

#[derive(Deserialize)]
pub struct AuthenticateBody {
    credential: AuthenticationCredential,
}

#[derive(Deserialize)]
pub struct RenameBody {
    name: String,
}

pub async fn register_options<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
    ceremonies: Ceremonies,
) -> Result<HttpResponse, ApiError> {
    let (handle, options) = app.start_registration(auth.user_id).await?;
    ceremonies.remember(Slot::Registration, &handle)?;
    Ok(HttpResponse::Ok().json(json!({ "publicKey": options })))
}

pub async fn register<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
    requester: Requester,
    ceremonies: Ceremonies,
    metrics: web::Data<Metrics>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let handle = ceremonies.handle(Slot::Registration);
    let outcome = app
        .finish_registration(
            auth.user_id,
            handle.as_ref(),
            body.name.as_deref(),
            &body.credential,
            &requester.0,
        )
        .await;
    metrics.observe_ceremony(Ceremony::Registration, &outcome);
    let passkey = outcome?;
    Ok(HttpResponse::Created().json(json!({ "passkey": PasskeyBody::from(&passkey) })))
}

/// The body is optional: none, `{}` and `{"email": …}` are all accepted.
pub async fn authenticate_options<D: Deps>(
    _admitted: Admitted,
    app: web::Data<App<D>>,
    limits: web::Data<RateLimits>,
    ceremonies: Ceremonies,
    limit: web::Data<BodyLimit>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = payload
        .to_bytes_limited(limit.0)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: limit.0 })?
        .map_err(|e| ApiError::validation(format!("unreadable body: {e}")))?;
    let body: AuthenticateOptionsBody = if body.iter().all(u8::is_ascii_whitespace) {
        AuthenticateOptionsBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::validation(format!("invalid body: {e}")))?
    };
    if let Some(email) = &body.email {
        limits.check_account(email)?;
    }
    let (handle, options) = app.start_authentication(body.email.as_deref()).await?;
    ceremonies.remember(Slot::Authentication, &handle)?;
    Ok(HttpResponse::Ok().json(json!({ "publicKey": options })))
}

pub async fn authenticate<D: Deps>(
    _admitted: Admitted,
    requester: Requester,
    app: web::Data<App<D>>,
    ceremonies: Ceremonies,
    metrics: web::Data<Metrics>,
    body: web::Json<AuthenticateBody>,
) -> Result<HttpResponse, ApiError> {
    let handle = ceremonies.handle(Slot::Authentication);
    let outcome = app
        .finish_authentication(handle.as_ref(), &body.credential, &requester.0)
        .await;
    metrics.observe_ceremony(Ceremony::Authentication, &outcome);
    let session = outcome?;
    Ok(session_response(HttpResponse::Ok(), &session))
}

pub async fn list<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
) -> Result<HttpResponse, ApiError> {
    let list = app.list_passkeys(auth.user_id).await?;
    let passkeys: Vec<PasskeyBody> = list.passkeys.iter().map(PasskeyBody::from).collect();
    Ok(HttpResponse::Ok().json(json!({
        "rpId": list.rp_id,
        "userHandle": URL_SAFE_NO_PAD.encode(list.user_handle.as_bytes()),
        "passkeys": passkeys,
    })))
}

pub async fn delete<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
    requester: Requester,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    app.delete_passkey(auth.user_id, &id, &requester.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rename<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Json<RenameBody>,
) -> Result<HttpResponse, ApiError> {
    let passkey = app
        .rename_passkey(auth.user_id, &id, &body.name, &requester.0)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "passkey": PasskeyBody::from(&passkey) })))
}
