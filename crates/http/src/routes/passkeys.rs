//! The six passkey endpoints of the product documentation, rename, the
//! hint-taking variant of the registration options, and sign-up with a
//! passkey.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_app::{App, AuthenticationCredential, Deps, PasskeySignup, RegistrationCredential};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{
    AuthenticationResponseJson, Hint, OptionsEnvelope, PasskeyBody, PasskeyEnvelope,
    PasskeyListBody, RegistrationResponseJson, SessionBody,
};
use crate::error::{ApiError, ErrorBody, answers};
use crate::extract::{Admitted, Authenticated, Ceremonies, Recent, Requester, Slot};
use crate::limits::RateLimits;
use crate::metrics::{Ceremony, Metrics};
use crate::routes::accounts::session_response;
use crate::routes::{BodyLimit, Object, optional_body};

/// A new passkey: the browser's credential and an optional name.
#[derive(Deserialize, ToSchema)]
#[schema(as = RegisterPasskey)]
pub struct RegisterBody {
    /// 1–64 characters after trimming, no control characters; when absent,
    /// null or blank, the authenticator's name (e.g. "iCloud Keychain") or
    /// "Passkey".
    #[schema(
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$",
        example = "MacBook Touch ID"
    )]
    name: Option<String>,
    #[schema(value_type = RegistrationResponseJson)]
    credential: RegistrationCredential,
}

/// Whose passkeys to offer: nobody's (`{}`, usernameless) or one email's.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default)]
#[schema(as = AuthenticateOptions)]
pub struct AuthenticateOptionsBody {
    /// Absent or null: usernameless sign-in (`allowCredentials` empty).
    /// An address: `allowCredentials` lists that account's passkeys, or a
    /// stable decoy when there is no such account or it has none.
    #[schema(format = Email, max_length = 254, example = "ann@example.com")]
    email: Option<String>,
    /// WebAuthn hints in order of preference; absent or null: the
    /// configured ones (`webauthn.hints`); `[]`: none.
    #[schema(value_type = Option<Vec<Hint>>)]
    hints: Option<Vec<String>>,
}

/// The hints of a new passkey's options, and whether the browser will
/// create it by automatic upgrade.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default)]
#[schema(as = RegisterOptions)]
pub struct RegisterOptionsBody {
    /// WebAuthn hints in order of preference; absent or null: the
    /// configured ones (`webauthn.hints`); `[]`: none.
    #[schema(value_type = Option<Vec<Hint>>, example = json!(["security-key"]))]
    hints: Option<Vec<String>>,
    /// `conditional`: options for `navigator.credentials.create({publicKey,
    /// mediation: "conditional"})` after a password sign-in (automatic
    /// passkey upgrade): `userVerification` `preferred`, no `credProtect`
    /// request, and the finish call accepts the credential without user
    /// presence (UP=0). Absent or null: an ordinary registration.
    mediation: Option<Mediation>,
}

/// The WebAuthn `mediation` a registration is made with; `conditional` is
/// the only one that changes anything.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase", try_from = "String")]
#[schema(as = CredentialMediation)]
pub enum Mediation {
    /// Created silently by the password manager, for an account it has
    /// just signed in to with a password.
    Conditional,
}

/// Only the string: serde would also read a unit variant from a map
/// (`{"conditional": null}`).
impl TryFrom<String> for Mediation {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "conditional" => Ok(Self::Conditional),
            other => Err(format!("mediation: {other:?} is not \"conditional\"")),
        }
    }
}

/// Who is signing up with a passkey.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PasskeySignupOptions)]
pub struct SignupOptionsBody {
    /// An address such as `ann@example.com` (at most 254 characters);
    /// trimmed and lower-cased.
    #[schema(example = "ann@example.com")]
    email: String,
    /// 1–64 characters after trimming; blank or null counts as absent.
    #[schema(example = "Ann")]
    display_name: Option<String>,
    /// WebAuthn hints in order of preference; absent or null: the
    /// configured ones (`webauthn.hints`); `[]`: none.
    #[schema(value_type = Option<Vec<Hint>>)]
    hints: Option<Vec<String>>,
}

/// A passkey assertion.
#[derive(Deserialize, ToSchema)]
#[schema(as = AuthenticatePasskey)]
pub struct AuthenticateBody {
    #[schema(value_type = AuthenticationResponseJson)]
    credential: AuthenticationCredential,
}

/// A passkey's new name.
#[derive(Deserialize, ToSchema)]
#[schema(as = RenamePasskey)]
pub struct RenameBody {
    /// 1–64 characters after trimming, not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        example = "Work laptop"
    )]
    name: String,
}

/// Creation options for a new passkey of the signed-in user.
#[utoipa::path(
    get,
    path = "/api/auth/passkey/register-options",
    operation_id = "registerOptions",
    tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`PublicKeyCredentialCreationOptionsJSON` in `publicKey`: \
            `rp.id` the RP ID, `user.id` the user handle, `excludeCredentials` the user's \
            passkeys, `residentKey` and `userVerification` `required`, `attestation` `none`",
            body = OptionsEnvelope,
            headers(("Set-Cookie" = String, description = "`monetro_ceremony` (HttpOnly): the \
                ceremony's handle, for the finish call"))),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = answers::REAUTHENTICATE, body = ErrorBody),
        (status = 409, description = answers::LIMIT_REACHED, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn register_options<D: Deps>(
    app: web::Data<App<D>>,
    Recent(auth): Recent<D>,
    ceremonies: Ceremonies,
) -> Result<HttpResponse, ApiError> {
    let (handle, options) = app.start_registration(auth.user_id, None).await?;
    ceremonies.remember(Slot::Registration, &handle)?;
    Ok(HttpResponse::Ok().json(OptionsEnvelope {
        public_key: options,
    }))
}

/// Creation options for a new passkey of the signed-in user, with hints or
/// for an automatic upgrade.
///
/// The same as `GET`, with an optional body whose `hints` replace the
/// configured ones (e.g. `["security-key"]` to offer security keys over
/// NFC or USB first), and whose `mediation: "conditional"` asks for options
/// of a conditional create: the finish call is `register` as usual, and
/// accepts a credential without user presence only for such a ceremony.
#[utoipa::path(
    post,
    path = "/api/auth/passkey/register-options",
    operation_id = "registerOptionsWithHints",
    tag = "passkeys",
    security(("bearer" = [])),
    request_body = Option<RegisterOptionsBody>,
    responses(
        (status = 200, description = "`PublicKeyCredentialCreationOptionsJSON` in `publicKey`, \
            as `GET` answers, with `hints` when there are any; for `mediation` `conditional`, \
            `userVerification` `preferred` and no `credProtect` request",
            body = OptionsEnvelope,
            headers(("Set-Cookie" = String, description = "`monetro_ceremony` (HttpOnly): the \
                ceremony's handle, for the finish call"))),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not JSON of the \
            documented shape, a hint is not `security-key`, `client-device` or `hybrid`, or \
            `mediation` is not `conditional`",
            body = ErrorBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = answers::REAUTHENTICATE, body = ErrorBody),
        (status = 409, description = answers::LIMIT_REACHED, body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn register_options_with_hints<D: Deps>(
    app: web::Data<App<D>>,
    Recent(auth): Recent<D>,
    ceremonies: Ceremonies,
    limit: web::Data<BodyLimit>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body: RegisterOptionsBody = optional_body(&request, payload, &limit).await?;
    let hints = body.hints.as_deref();
    let (handle, options) = match body.mediation {
        None => app.start_registration(auth.user_id, hints).await?,
        Some(Mediation::Conditional) => {
            app.start_conditional_registration(auth.user_id, hints)
                .await?
        }
    };
    ceremonies.remember(Slot::Registration, &handle)?;
    Ok(HttpResponse::Ok().json(OptionsEnvelope {
        public_key: options,
    }))
}

/// Verifies and stores a new passkey.
///
/// The registration ceremony in the cookie must have been started by the
/// same user.
#[utoipa::path(
    post,
    path = "/api/auth/passkey/register",
    operation_id = "register",
    tag = "passkeys",
    security(("bearer" = [])),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The new passkey", body = PasskeyEnvelope),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape; `CHALLENGE_NOT_FOUND`: no live registration of this user in the cookie; \
            `CHALLENGE_EXPIRED`: the ceremony is older than its TTL; `REGISTRATION_FAILED`: \
            the attestation did not verify (user presence is required unless the options \
            were asked for with `mediation` `conditional`)", body = ErrorBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 409, description = "`PASSKEY_ALREADY_REGISTERED`: the credential id is \
            already stored; `PASSKEY_LIMIT_REACHED`: the account holds as many passkeys as \
            `webauthn.max_passkeys_per_user` allows", body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn register<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
    requester: Requester,
    ceremonies: Ceremonies,
    metrics: web::Data<Metrics>,
    body: web::Json<Object<RegisterBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(body) = body.into_inner();
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
    Ok(HttpResponse::Created().json(PasskeyEnvelope {
        passkey: PasskeyBody::from(&passkey),
    }))
}

/// Request options for signing in with a passkey.
///
/// The body is optional: none, `{}` and `{"email": …}` are all accepted.
#[utoipa::path(
    post,
    path = "/api/auth/passkey/authenticate-options",
    operation_id = "authenticateOptions",
    tag = "passkeys",
    request_body(content = AuthenticateOptionsBody,
        description = "Optional: none, `{}` or `{\"email\": …}` (not `null`)"),
    responses(
        (status = 200, description = "`PublicKeyCredentialRequestOptionsJSON` in `publicKey`: \
            `rpId`, `challenge`, `userVerification` `required`, `timeout`, `allowCredentials`",
            body = OptionsEnvelope,
            headers(("Set-Cookie" = String, description = "`monetro_ceremony` (HttpOnly): the \
                ceremony's handle, for the finish call"))),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not JSON of the \
            documented shape, `email` is not an address, or a hint is not `security-key`, \
            `client-device` or `hybrid`", body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn authenticate_options<D: Deps>(
    _admitted: Admitted,
    app: web::Data<App<D>>,
    limits: web::Data<RateLimits>,
    ceremonies: Ceremonies,
    limit: web::Data<BodyLimit>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body: AuthenticateOptionsBody = optional_body(&request, payload, &limit).await?;
    if let Some(email) = &body.email {
        limits.check_account(email)?;
    }
    let (handle, options) = app
        .start_authentication(body.email.as_deref(), body.hints.as_deref())
        .await?;
    ceremonies.remember(Slot::Authentication, &handle)?;
    Ok(HttpResponse::Ok().json(OptionsEnvelope {
        public_key: options,
    }))
}

/// Signs in with a passkey.
#[utoipa::path(
    post,
    path = "/api/auth/passkey/authenticate",
    operation_id = "authenticate",
    tag = "passkeys",
    request_body = AuthenticateBody,
    responses(
        (status = 200, description = "Signed in", body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape; `CHALLENGE_NOT_FOUND`: no live sign-in ceremony in the cookie; \
            `CHALLENGE_EXPIRED`: the ceremony is older than its TTL", body = ErrorBody),
        (status = 401, description = "`AUTHENTICATION_FAILED`: the assertion did not verify, \
            or the credential was not offered, or `userHandle` is missing or not the owner's",
            body = ErrorBody),
        (status = 404, description = "`PASSKEY_NOT_FOUND` (`Unknown Passkey`): the credential \
            id is not stored; `credentialId` and `rpId` are set for \
            `PublicKeyCredential.signalUnknownCredential`", body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn authenticate<D: Deps>(
    _admitted: Admitted,
    requester: Requester,
    app: web::Data<App<D>>,
    ceremonies: Ceremonies,
    metrics: web::Data<Metrics>,
    body: web::Json<Object<AuthenticateBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(body) = body.into_inner();
    let handle = ceremonies.handle(Slot::Authentication);
    let outcome = app
        .finish_authentication(handle.as_ref(), &body.credential, &requester.0)
        .await;
    metrics.observe_ceremony(Ceremony::Authentication, &outcome);
    let session = outcome?;
    Ok(session_response(HttpResponse::Ok(), &session))
}

/// The user's passkeys, newest first.
///
/// With what a browser needs for
/// `PublicKeyCredential.signalAllAcceptedCredentials`.
#[utoipa::path(
    get,
    path = "/api/auth/passkey/list",
    operation_id = "listPasskeys",
    tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The passkeys", body = PasskeyListBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn list<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
) -> Result<HttpResponse, ApiError> {
    let list = app.list_passkeys(auth.user_id).await?;
    let passkeys: Vec<PasskeyBody> = list.passkeys.iter().map(PasskeyBody::from).collect();
    Ok(HttpResponse::Ok().json(PasskeyListBody {
        passkeys,
        rp_id: list.rp_id,
        user_handle: URL_SAFE_NO_PAD.encode(list.user_handle.as_bytes()),
    }))
}

/// Removes one of the caller's passkeys.
#[utoipa::path(
    delete,
    path = "/api/auth/passkey/{id}",
    operation_id = "deletePasskey",
    tag = "passkeys",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The passkey's `id`")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`VALIDATION_FAILED`: the id is not a UUID", body = ErrorBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = answers::REAUTHENTICATE, body = ErrorBody),
        (status = 404, description = "`PASSKEY_NOT_FOUND`: no such passkey of the caller",
            body = ErrorBody),
        (status = 409, description = "`LAST_CREDENTIAL`: the account has no password and \
            this is its only passkey; nothing was removed", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn delete<D: Deps>(
    app: web::Data<App<D>>,
    Recent(auth): Recent<D>,
    requester: Requester,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    app.delete_passkey(auth.user_id, &id, &requester.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Renames one of the caller's passkeys.
#[utoipa::path(
    patch,
    path = "/api/auth/passkey/{id}",
    operation_id = "renamePasskey",
    tag = "passkeys",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The passkey's `id`")),
    request_body = RenameBody,
    responses(
        (status = 200, description = "The renamed passkey", body = PasskeyEnvelope),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape, the name is blank or too long, or the id is not a UUID", body = ErrorBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 403, description = answers::REAUTHENTICATE, body = ErrorBody),
        (status = 404, description = "`PASSKEY_NOT_FOUND`: no such passkey of the caller",
            body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn rename<D: Deps>(
    app: web::Data<App<D>>,
    Recent(auth): Recent<D>,
    requester: Requester,
    id: web::Path<String>,
    body: web::Json<Object<RenameBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(body) = body.into_inner();
    let passkey = app
        .rename_passkey(auth.user_id, &id, &body.name, &requester.0)
        .await?;
    Ok(HttpResponse::Ok().json(PasskeyEnvelope {
        passkey: PasskeyBody::from(&passkey),
    }))
}

/// Creation options for signing up with a passkey and no password.
///
/// The same envelope as `register-options` (`residentKey` and
/// `userVerification` `required`, a fresh random `user.id`). It looks
/// nothing up: a taken email gets options of the same shape as a free one;
/// only the finish call tells.
#[utoipa::path(
    post,
    path = "/api/auth/passkey/signup-options",
    operation_id = "passkeySignupOptions",
    tag = "accounts",
    request_body = SignupOptionsBody,
    responses(
        (status = 200, description = "`PublicKeyCredentialCreationOptionsJSON` in `publicKey`: \
            `user.name` the email, `user.displayName` the display name (or the email), \
            `excludeCredentials` empty, `hints` when there are any",
            body = OptionsEnvelope,
            headers(("Set-Cookie" = String, description = "`monetro_ceremony` (HttpOnly): the \
                ceremony's handle, for the finish call"))),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape, `email` is not an address, `displayName` is too long, or a hint is not \
            `security-key`, `client-device` or `hybrid`", body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn signup_options<D: Deps>(
    _admitted: Admitted,
    app: web::Data<App<D>>,
    ceremonies: Ceremonies,
    body: web::Json<Object<SignupOptionsBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(SignupOptionsBody {
        email,
        display_name,
        hints,
    }) = body.into_inner();
    let (handle, options) = app
        .start_passkey_signup(PasskeySignup {
            email,
            display_name,
            hints,
        })
        .await?;
    ceremonies.remember(Slot::Signup, &handle)?;
    Ok(HttpResponse::Ok().json(OptionsEnvelope {
        public_key: options,
    }))
}

/// Creates an account with its first passkey (no password) and signs it in.
///
/// The account and the passkey are stored together or not at all.
#[utoipa::path(
    post,
    path = "/api/auth/passkey/signup",
    operation_id = "passkeySignup",
    tag = "accounts",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The account, signed in (`amr` `[\"webauthn\"]`)",
            body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape; `CHALLENGE_NOT_FOUND`: no live sign-up ceremony in the cookie; \
            `CHALLENGE_EXPIRED`: the ceremony is older than its TTL; `REGISTRATION_FAILED`: \
            the attestation did not verify", body = ErrorBody),
        (status = 409, description = "`EMAIL_TAKEN`: the email is already in use; \
            `PASSKEY_ALREADY_REGISTERED`: the credential id is already stored; nothing was \
            stored", body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn signup<D: Deps>(
    _admitted: Admitted,
    requester: Requester,
    app: web::Data<App<D>>,
    ceremonies: Ceremonies,
    metrics: web::Data<Metrics>,
    body: web::Json<Object<RegisterBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(body) = body.into_inner();
    let handle = ceremonies.handle(Slot::Signup);
    let outcome = app
        .finish_passkey_signup(
            handle.as_ref(),
            body.name.as_deref(),
            &body.credential,
            &requester.0,
        )
        .await;
    metrics.observe_ceremony(Ceremony::Signup, &outcome);
    let session = outcome?;
    Ok(session_response(HttpResponse::Created(), &session))
}
