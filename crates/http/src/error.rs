//! The one place where errors become HTTP answers: a status and the
//! contract's JSON body `{"error": {"code", "message", …}}`. Causes of 5xx
//! answers go to the log, never to the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use monetro_domain::{Error, ErrorCode};
use serde_json::{Map, Value, json};

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_UNAVAILABLE: &str = "1";

/// An error answer: a domain error, or one of the transport's own.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] Error),
    #[error("Request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("No such route")]
    NotFound,
    #[error("Method not allowed on this route")]
    MethodNotAllowed,
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
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
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
        ErrorCode::PasskeyNotFound => StatusCode::NOT_FOUND,
        ErrorCode::EmailTaken | ErrorCode::PasskeyAlreadyRegistered => StatusCode::CONFLICT,
        ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Domain(error) => status_of(error.code()),
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut body = Map::new();
        body.insert("code".into(), self.code().into());
        body.insert("message".into(), self.to_string().into());
        match self {
            Self::Domain(Error::UnknownCredential {
                credential_id,
                rp_id,
            }) => {
                body.insert("credentialId".into(), credential_id.clone().into());
                body.insert("rpId".into(), rp_id.clone().into());
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
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        response.json(json!({ "error": Value::Object(body) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody as _;

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
            (ErrorCode::ServiceUnavailable, 503),
            (ErrorCode::Internal, 500),
        ];
        for (code, status) in table {
            assert_eq!(status_of(code).as_u16(), status, "{}", code.as_str());
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
    fn transport_errors_use_their_codes() {
        assert_eq!(
            body_of(ApiError::PayloadTooLarge { limit: 65536 }).1["error"]["code"],
            "PAYLOAD_TOO_LARGE"
        );
        assert_eq!(body_of(ApiError::NotFound).0, StatusCode::NOT_FOUND);
        assert_eq!(
            body_of(ApiError::MethodNotAllowed).1["error"]["code"],
            "METHOD_NOT_ALLOWED"
        );
    }
}
