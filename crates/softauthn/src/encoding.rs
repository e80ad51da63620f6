//! Byte-level encodings: base64url, clientDataJSON, COSE keys, CBOR.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::value::Value as Cbor;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::SoftAuthnError;

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, tolerating trailing `=` padding like browsers do.
pub(crate) fn b64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Appends `value` as a JSON string the way the WebAuthn spec's
/// `CCDToString` does (§5.8.1.2): only `"`, `\` and code points below U+0020
/// are escaped, the latter as `\u00xx`.
fn push_ccd_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `CollectedClientData` to serialise.
pub(crate) struct ClientData<'a> {
    pub type_: &'a str,
    pub challenge_b64: &'a str,
    pub origin: &'a str,
    pub cross_origin: bool,
    pub top_origin: Option<&'a str>,
    pub extra: Option<&'a Map<String, Value>>,
}

impl ClientData<'_> {
    /// Serialises in the spec's fixed key order:
    /// type, challenge, origin, crossOrigin, [topOrigin], [extra...].
    pub(crate) fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(128 + self.origin.len() + self.challenge_b64.len());
        out.push_str("{\"type\":");
        push_ccd_string(&mut out, self.type_);
        out.push_str(",\"challenge\":");
        push_ccd_string(&mut out, self.challenge_b64);
        out.push_str(",\"origin\":");
        push_ccd_string(&mut out, self.origin);
        out.push_str(",\"crossOrigin\":");
        out.push_str(if self.cross_origin { "true" } else { "false" });
        if let Some(top) = self.top_origin {
            out.push_str(",\"topOrigin\":");
            push_ccd_string(&mut out, top);
        }
        if let Some(extra) = self.extra {
            for (key, value) in extra {
                out.push(',');
                push_ccd_string(&mut out, key);
                out.push(':');
                out.push_str(&value.to_string());
            }
        }
        out.push('}');
        out.into_bytes()
    }
}

pub(crate) fn cbor_bytes(value: &Cbor) -> Result<Vec<u8>, SoftAuthnError> {
    let mut out = Vec::with_capacity(128);
    ciborium::ser::into_writer(value, &mut out)
        .map_err(|e| SoftAuthnError::Internal(format!("CBOR encoding: {e}")))?;
    Ok(out)
}

fn int(i: i64) -> Cbor {
    Cbor::Integer(i.into())
}

/// The public key as the relying party will see it.
pub(crate) struct PublicKeyEncodings {
    /// COSE_Key (CBOR).
    pub cose: Vec<u8>,
    /// SubjectPublicKeyInfo DER, if the client would know how to produce it.
    pub spki: Option<Vec<u8>>,
    /// COSE algorithm identifier.
    pub alg: i64,
}

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the
/// 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Encodes `key` as a COSE_Key in canonical CTAP2 order, labelled with `alg`.
/// For `alg` other than -7 see [`crate::Tweaks::algorithm`].
pub(crate) fn public_key_encodings(
    key: &VerifyingKey,
    alg: i64,
) -> Result<PublicKeyEncodings, SoftAuthnError> {
    let point = key.to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(SoftAuthnError::Internal("identity public key".into()));
    };
    let x = x.to_vec();
    let y = y.to_vec();
    let p256_spki = || -> Result<Vec<u8>, SoftAuthnError> {
        key.to_public_key_der()
            .map(|der| der.into_vec())
            .map_err(|e| SoftAuthnError::Internal(format!("SPKI encoding: {e}")))
    };
    let (cose, spki) = match alg {
        // OKP, Ed25519: a fake key made of the P-256 x coordinate.
        -8 => {
            let mut spki = ED25519_SPKI_PREFIX.to_vec();
            spki.extend_from_slice(&x);
            let cose = Cbor::Map(vec![
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (int(-2), Cbor::Bytes(x)),
            ]);
            (cose, Some(spki))
        }
        // RSA: a fake 2048-bit modulus derived from the coordinates.
        -257 => {
            let mut modulus = Vec::with_capacity(256);
            let mut block = sha256(&[x.as_slice(), y.as_slice()].concat());
            while modulus.len() < 256 {
                modulus.extend_from_slice(&block);
                block = sha256(&block);
            }
            if let Some(first) = modulus.first_mut() {
                *first |= 0x80;
            }
            if let Some(last) = modulus.last_mut() {
                *last |= 0x01;
            }
            let cose = Cbor::Map(vec![
                (int(1), int(3)),
                (int(3), int(-257)),
                (int(-1), Cbor::Bytes(modulus)),
                (int(-2), Cbor::Bytes(vec![0x01, 0x00, 0x01])),
            ]);
            (cose, None)
        }
        _ => {
            let cose = Cbor::Map(vec![
                (int(1), int(2)),
                (int(3), int(alg)),
                (int(-1), int(1)),
                (int(-2), Cbor::Bytes(x)),
                (int(-3), Cbor::Bytes(y)),
            ]);
            (cose, Some(p256_spki()?))
        }
    };
    Ok(PublicKeyEncodings {
        cose: cbor_bytes(&cose)?,
        spki,
        alg,
    })
}

/// `{"fmt": <fmt>, "attStmt": {}, "authData": <bytes>}` (`fmt` is `"none"`
/// unless tweaked).
pub(crate) fn attestation_object(fmt: &str, auth_data: &[u8]) -> Result<Vec<u8>, SoftAuthnError> {
    cbor_bytes(&Cbor::Map(vec![
        (Cbor::Text("fmt".into()), Cbor::Text(fmt.into())),
        (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
        (
            Cbor::Text("authData".into()),
            Cbor::Bytes(auth_data.to_vec()),
        ),
    ]))
}

/// The host of a serialised origin (`scheme://host[:port]`), lower-cased,
/// without IPv6 brackets.
pub(crate) fn effective_domain(origin: &str) -> Result<String, SoftAuthnError> {
    let bad = || SoftAuthnError::Security(format!("not a valid origin: {origin:?}"));
    let (scheme, rest) = origin.split_once("://").ok_or_else(bad)?;
    if scheme.is_empty() {
        return Err(bad());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(host.to_ascii_lowercase())
}

/// The RP ID to use: the one from the options, which must equal the origin's
/// effective domain or be a dot-separated suffix of it, or else the effective
/// domain itself.
pub(crate) fn resolve_rp_id(rp_id: Option<&str>, origin: &str) -> Result<String, SoftAuthnError> {
    let domain = effective_domain(origin)?;
    let Some(rp_id) = rp_id else {
        return Ok(domain);
    };
    let rp_id_lower = rp_id.to_ascii_lowercase();
    let valid = domain == rp_id_lower
        || domain
            .strip_suffix(&rp_id_lower)
            .is_some_and(|prefix| prefix.ends_with('.') && !rp_id_lower.is_empty());
    if valid {
        Ok(rp_id.to_owned())
    } else {
        Err(SoftAuthnError::Security(format!(
            "RP ID {rp_id:?} is not valid for origin {origin:?}"
        )))
    }
}
