//! Reading the WebAuthn Level 3 options JSON.

use serde_json::{Map, Value};

use crate::SoftAuthnError;
use crate::encoding::b64_decode;

fn invalid(msg: impl Into<String>) -> SoftAuthnError {
    SoftAuthnError::InvalidOptions(msg.into())
}

/// The `publicKey` object, whether given bare or wrapped in
/// `{"publicKey": {...}}`.
fn public_key_object(options: &Value) -> Result<&Map<String, Value>, SoftAuthnError> {
    let object = options
        .as_object()
        .ok_or_else(|| invalid("options are not a JSON object"))?;
    match object.get("publicKey") {
        Some(Value::Object(inner)) => Ok(inner),
        _ => Ok(object),
    }
}

fn required_b64(
    object: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Vec<u8>, SoftAuthnError> {
    let text = object
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{at}{key} is missing or not a string")))?;
    b64_decode(text).map_err(|e| invalid(format!("{at}{key} is not base64url: {e}")))
}

fn optional_str(object: &Map<String, Value>, key: &str) -> Result<Option<String>, SoftAuthnError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{key} is not a string"))),
    }
}

/// Ids of the `public-key` descriptors in `excludeCredentials` /
/// `allowCredentials` (absent or null means none).
fn descriptor_ids(object: &Map<String, Value>, key: &str) -> Result<Vec<Vec<u8>>, SoftAuthnError> {
    let list = match object.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid(format!("{key} is not an array"))),
    };
    let mut ids = Vec::with_capacity(list.len());
    for descriptor in list {
        let descriptor = descriptor
            .as_object()
            .ok_or_else(|| invalid(format!("{key} entry is not an object")))?;
        let id = required_b64(descriptor, "id", &format!("{key}[]."))?;
        // Unknown descriptor types are ignored by clients.
        if descriptor.get("type").and_then(Value::as_str) == Some("public-key") {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// What registration needs from `PublicKeyCredentialCreationOptionsJSON`.
pub(crate) struct CreationOptions {
    pub rp_id: Option<String>,
    pub user_id: Vec<u8>,
    pub user_name: String,
    pub challenge: Vec<u8>,
    pub es256_offered: bool,
    pub exclude: Vec<Vec<u8>>,
}

impl CreationOptions {
    pub(crate) fn parse(options: &Value) -> Result<Self, SoftAuthnError> {
        let object = public_key_object(options)?;
        let rp = object
            .get("rp")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("rp is missing"))?;
        let user = object
            .get("user")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("user is missing"))?;
        let user_id = required_b64(user, "id", "user.")?;
        if user_id.is_empty() || user_id.len() > 64 {
            return Err(invalid(format!(
                "user.id must be 1 to 64 bytes, got {}",
                user_id.len()
            )));
        }
        let user_name = optional_str(user, "name")?.unwrap_or_default();
        let challenge = required_b64(object, "challenge", "")?;
        let params = object
            .get("pubKeyCredParams")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("pubKeyCredParams is missing or not an array"))?;
        // An empty list means the client's defaults, which include ES256.
        let es256_offered = params.is_empty()
            || params.iter().any(|p| {
                p.get("type").and_then(Value::as_str) == Some("public-key")
                    && p.get("alg").and_then(Value::as_i64) == Some(crate::COSE_ALG_ES256)
            });
        Ok(Self {
            rp_id: optional_str(rp, "id")?,
            user_id,
            user_name,
            challenge,
            es256_offered,
            exclude: descriptor_ids(object, "excludeCredentials")?,
        })
    }
}

/// What authentication needs from `PublicKeyCredentialRequestOptionsJSON`.
pub(crate) struct RequestOptions {
    pub rp_id: Option<String>,
    pub challenge: Vec<u8>,
    pub allow: Vec<Vec<u8>>,
}

impl RequestOptions {
    pub(crate) fn parse(options: &Value) -> Result<Self, SoftAuthnError> {
        let object = public_key_object(options)?;
        Ok(Self {
            rp_id: optional_str(object, "rpId")?,
            challenge: required_b64(object, "challenge", "")?,
            allow: descriptor_ids(object, "allowCredentials")?,
        })
    }
}
