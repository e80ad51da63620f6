//! The one place where errors become HTTP answers: a status and the
//! contract's JSON body `{"error": {"code", "message", …}}`. Causes of 5xx
//! answers go to the log, never to the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use monetro_domain::{Error, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_UNAVAILABLE: &str = "1";

/// The body of every error answer: `{"error": {"code", "message", …}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong. The members are in the order the service has always
/// written them (alphabetical).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Stable and machine-readable (API.md's table of codes).
    #[schema(schema_with = code_schema)]
    pub code: &'static str,
    /// With `PASSKEY_NOT_FOUND` on sign-in: the unknown credential id
    /// (base64url), for `PublicKeyCredential.signalUnknownCredential`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub credential_id: Option<String>,
    /// For people; never a stack trace or a database message.
    pub message: String,
    /// With `PASSKEY_NOT_FOUND` on sign-in: the RP ID the credential was
    /// looked up under.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rp_id: Option<String>,
}

/// Every code an error body can carry: the domain's and the transport's.
pub const ERROR_CODES: [&str; 22] = [
    "VALIDATION_FAILED",
    "CHALLENGE_NOT_FOUND",
    "CHALLENGE_EXPIRED",
    "REGISTRATION_FAILED",
    "AUTHENTICATION_FAILED",
    "UNAUTHORIZED",
    "TOKEN_EXPIRED",
    "INVALID_CREDENTIALS",
    "PASSKEY_NOT_FOUND",
    "EMAIL_TAKEN",
    "PASSKEY_ALREADY_REGISTERED",
    "PASSKEY_LIMIT_REACHED",
    "LAST_CREDENTIAL",
    "SERVICE_UNAVAILABLE",
    "INTERNAL",
    "PAYLOAD_TOO_LARGE",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "RATE_LIMITED",
    "REAUTHENTICATION_REQUIRED",
    "SESSION_NOT_FOUND",
    "USER_NOT_FOUND",
];

fn code_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ERROR_CODES))
        .examples(["PASSKEY_NOT_FOUND"])
        .into()
}

/// Descriptions of the error answers shared by several operations of the
/// OpenAPI document; each operation lists the ones it can really give.
pub mod answers {
    pub const BAD_BODY: &str = "`VALIDATION_FAILED`: the body is not the documented shape, \
        is not `application/json`, or a field is out of range";
    pub const UNAUTHORIZED: &str = "`UNAUTHORIZED`: the bearer token is missing or invalid, or \
        its account is gone; `TOKEN_EXPIRED`: the token is past `exp`";
    pub const TOO_LARGE: &str = "`PAYLOAD_TOO_LARGE`: the body is over the limit \
        (`server.body_limit_bytes`, 64 KiB by default)";
    pub const RATE_LIMITED: &str = "`RATE_LIMITED`: too many attempts from this address or \
        for this account";
    pub const UNAVAILABLE: &str = "`SERVICE_UNAVAILABLE`: the database or the ceremony store \
        does not answer; nothing was stored";
    pub const INTERNAL: &str = "`INTERNAL`: anything else; details only in the server log";
    pub const REAUTHENTICATE: &str = "`REAUTHENTICATION_REQUIRED`: the last sign-in is older \
        than `tokens.step_up_window_secs` (10 minutes by default); re-authenticate with \
        `POST /api/auth/reauthenticate` and retry with the new token";
    pub const LIMIT_REACHED: &str = "`PASSKEY_LIMIT_REACHED`: the account holds as many \
        passkeys as `webauthn.max_passkeys_per_user` allows";
}

/// An error answer: a domain error, or one of the transport's own.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] Error),
    #[error("Request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("No such route")]
    NotFound,
    /// `allow`: the route's methods, for the `Allow` header (RFC 9110).
    #[error("Method not allowed on this route")]
    MethodNotAllowed { allow: String },
    #[error("Too many attempts; try again later")]
    RateLimited { retry_after_secs: u64 },
}

impl ApiError {
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Domain(Error::validation(message))
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Domain(error) => error.code().as_str(),
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::RateLimited { .. } => "RATE_LIMITED",
        }
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::ValidationFailed
        | ErrorCode::ChallengeNotFound
        | ErrorCode::ChallengeExpired
        | ErrorCode::RegistrationFailed => StatusCode::BAD_REQUEST,
        ErrorCode::AuthenticationFailed
        | ErrorCode::Unauthorized
        | ErrorCode::TokenExpired
        | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
        ErrorCode::PasskeyNotFound | ErrorCode::UserNotFound => StatusCode::NOT_FOUND,
        ErrorCode::EmailTaken
        | ErrorCode::PasskeyAlreadyRegistered
        | ErrorCode::PasskeyLimitReached
        | ErrorCode::LastCredential => StatusCode::CONFLICT,
        ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::ReauthenticationRequired => StatusCode::FORBIDDEN,
        ErrorCode::SessionNotFound => StatusCode::NOT_FOUND,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Domain(error) => status_of(error.code()),
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut body = ErrorDetail {
            code: self.code(),
            credential_id: None,
            message: self.to_string(),
            rp_id: None,
        };
        match self {
            Self::Domain(Error::UnknownCredential {
                credential_id,
                rp_id,
            }) => {
                body.credential_id = Some(credential_id.clone());
                body.rp_id = Some(rp_id.clone());
            }
            Self::Domain(Error::Unavailable(cause)) => {
                tracing::warn!(%cause, "answering 503: store unavailable");
            }
            Self::Domain(Error::Unexpected(cause)) => tracing::error!(%cause, "answering 500"),
            Self::Domain(
                Error::RegistrationFailed { reason } | Error::AuthenticationFailed { reason },
            ) => {
                tracing::info!(%reason, code = self.code(), "ceremony refused");
            }
            _ => {}
        }
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_UNAVAILABLE),
            ));
        }
        if let Self::RateLimited { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if let Self::MethodNotAllowed { allow } = self {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        response.json(ErrorBody { error: body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody as _;
    use serde_json::{Value, json};

    fn body_of(error: ApiError) -> (StatusCode, Value) {
        let response = error.error_response();
        let status = response.status();
        let bytes = response.into_body().try_into_bytes().unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn every_code_has_its_documented_status() {
        let table = [
            (ErrorCode::ValidationFailed, 400),
            (ErrorCode::ChallengeNotFound, 400),
            (ErrorCode::ChallengeExpired, 400),
            (ErrorCode::RegistrationFailed, 400),
            (ErrorCode::AuthenticationFailed, 401),
            (ErrorCode::Unauthorized, 401),
            (ErrorCode::TokenExpired, 401),
            (ErrorCode::InvalidCredentials, 401),
            (ErrorCode::PasskeyNotFound, 404),
            (ErrorCode::EmailTaken, 409),
            (ErrorCode::PasskeyAlreadyRegistered, 409),
            (ErrorCode::PasskeyLimitReached, 409),
            (ErrorCode::LastCredential, 409),
            (ErrorCode::ServiceUnavailable, 503),
            (ErrorCode::Internal, 500),
            (ErrorCode::ReauthenticationRequired, 403),
            (ErrorCode::SessionNotFound, 404),
            (ErrorCode::UserNotFound, 404),
        ];
        for (code, status) in table {
            assert_eq!(status_of(code).as_u16(), status, "{}", code.as_str());
            assert!(ERROR_CODES.contains(&code.as_str()), "{}", code.as_str());
        }
    }

    #[test]
    fn unknown_passkey_wire_format() {
        let error = Error::UnknownCredential {
            credential_id: "AAEC".into(),
            rp_id: "localhost".into(),
        };
        let (status, body) = body_of(error.into());
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({ "error": { "code": "PASSKEY_NOT_FOUND", "message": "Unknown Passkey",
                               "credentialId": "AAEC", "rpId": "localhost" } })
        );
    }

    #[test]
    fn internal_details_never_reach_the_body() {
        let (status, body) =
            body_of(Error::Unexpected("duplicate key value violates".into()).into());
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({ "error": { "code": "INTERNAL", "message": "Internal error" } })
        );
        let (status, body) = body_of(Error::Unavailable("connection refused".into()).into());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
        assert!(!body.to_string().contains("refused"));
    }

    #[test]
    fn the_wire_bytes_are_unchanged() {
        let error = ApiError::from(Error::UnknownCredential {
            credential_id: "AAEC".into(),
            rp_id: "localhost".into(),
        });
        let bytes = error.error_response().into_body().try_into_bytes().unwrap();
        assert_eq!(
            bytes,
            r#"{"error":{"code":"PASSKEY_NOT_FOUND","credentialId":"AAEC","message":"Unknown Passkey","rpId":"localhost"}}"#
        );
        let bytes = ApiError::NotFound
            .error_response()
            .into_body()
            .try_into_bytes()
            .unwrap();
        assert_eq!(
            bytes,
            r#"{"error":{"code":"NOT_FOUND","message":"No such route"}}"#
        );
    }

    #[test]
    fn the_documented_codes_cover_the_transport_errors() {
        for error in [
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::NotFound,
            ApiError::MethodNotAllowed {
                allow: "GET".into(),
            },
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
        ] {
            assert!(ERROR_CODES.contains(&error.code()), "{}", error.code());
        }
    }

    #[test]
    fn transport_errors_use_their_codes() {
        assert_eq!(
            body_of(ApiError::PayloadTooLarge { limit: 65536 }).1["error"]["code"],
            "PAYLOAD_TOO_LARGE"
        );
        assert_eq!(body_of(ApiError::NotFound).0, StatusCode::NOT_FOUND);
        let not_allowed = ApiError::MethodNotAllowed {
            allow: "GET, HEAD".into(),
        };
        let response = not_allowed.error_response();
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), "GET, HEAD");
        assert_eq!(
            body_of(not_allowed).1["error"]["code"],
            "METHOD_NOT_ALLOWED"
        );
    }
}
