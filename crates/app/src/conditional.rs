//! Automatic passkey upgrade: a registration the browser makes with
//! `mediation: "conditional"` right after a password sign-in, without a
//! dialog (WebAuthn Level 3 §5.1.3, "conditional create").
//!
//! Such a credential may come with the user-presence (UP) flag cleared, and
//! only such a one: §7.1 step 15 waives UP solely when `options.mediation`
//! is `conditional`. webauthn-rs refuses UP=0 in every ceremony and keeps
//! its attestation verifiers to itself, so for a conditional ceremony whose
//! authenticator data has UP=0 the attestation object is re-encoded — a
//! `none` attestation (the service asks for `attestation: "none"`, and a
//! client may replace any attestation with `none`) around the same
//! authenticator data with only UP set — and handed to webauthn-rs's own
//! verification, which keeps every other check (challenge, origin,
//! `rpIdHash`, UV per the ceremony's policy, algorithm …). The flags it
//! records come from these bytes, so UV, BE and BS stay as sent; UP is not
//! stored.

use std::collections::BTreeMap;

use monetro_domain::Error;
use serde::{Deserialize, Serialize};
use serde_cbor_2::Value as CborValue;
use serde_json::Value;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

/// Authenticator data flag: user present.
const FLAG_UP: u8 = 0x01;
/// Offset of the flags byte in authenticator data, after the `rpIdHash`.
const FLAGS_OFFSET: usize = 32;

/// What a registration ceremony remembers between its two calls: the
/// webauthn-rs state and whether the options were for conditional create.
/// A stored state without `conditional` (as written before there was any)
/// reads as an ordinary ceremony.
#[derive(Serialize, Deserialize)]
pub(crate) struct RegistrationState {
    #[serde(flatten)]
    pub(crate) webauthn: PasskeyRegistration,
    #[serde(default)]
    pub(crate) conditional: bool,
}

impl RegistrationState {
    pub(crate) fn mediation(&self) -> Mediation {
        if self.conditional {
            Mediation::Conditional
        } else {
            Mediation::Optional
        }
    }
}

/// How the browser is asked to create the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mediation {
    /// The browser's dialog (WebAuthn's default, `optional`).
    Optional,
    /// `conditional`: silently, where the password manager allows it.
    Conditional,
}

/// The members of webauthn-rs's `credProtect` request, in the options and
/// in its state's `extensions`.
const CRED_PROTECT: [&str; 2] = [
    "credentialProtectionPolicy",
    "enforceCredentialProtectionPolicy",
];

/// Creation options for a conditional create: `userVerification:
/// "preferred"` (password managers create these passkeys without verifying
/// the user), and no `credProtect` request: webauthn-rs asks for
/// `userVerificationRequired`, which browsers refuse together with a UV
/// that is not required (Chromium: `NotSupportedError`, "Requested
/// protection policy is inconsistent").
pub(crate) fn conditional_options(options: &mut Value) {
    if let Some(selection) = options
        .get_mut("authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        selection.insert("userVerification".into(), "preferred".into());
    }
    if let Some(extensions) = options.get_mut("extensions").and_then(Value::as_object_mut) {
        for member in CRED_PROTECT {
            extensions.remove(member);
        }
    }
}

/// The registration state that goes with [`conditional_options`]: policy
/// `preferred` instead of `required`, no `credProtect` requested.
/// webauthn-rs sets a passkey registration's policy to `required` and
/// offers no setter; its state is serde data
/// (`danger-allow-state-serialisation`), `{"rs": {"policy", "extensions",
/// …}}`, so it is changed there. A state of another shape is an error, not
/// a silent `required`.
pub(crate) fn conditional_state(state: &PasskeyRegistration) -> Result<PasskeyRegistration, Error> {
    let unexpected =
        |e: &dyn std::fmt::Display| Error::Unexpected(format!("registration state: {e}"));
    let mut value = serde_json::to_value(state).map_err(|e| unexpected(&e))?;
    let policy = value
        .pointer_mut("/rs/policy")
        .ok_or_else(|| unexpected(&"no rs.policy"))?;
    *policy = Value::from("preferred");
    let extensions = value
        .pointer_mut("/rs/extensions")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| unexpected(&"no rs.extensions"))?;
    for member in CRED_PROTECT {
        extensions.remove(member);
    }
    serde_json::from_value(value).map_err(|e| unexpected(&e))
}

/// For a conditional ceremony: the credential webauthn-rs should verify.
/// `Some` with a rewritten attestation object when the authenticator data
/// has UP=0; `None` (verify the credential as sent) when UP is set or the
/// attestation object is not one that could be rewritten, which webauthn-rs
/// then refuses itself.
pub(crate) fn presence_waived(
    credential: &RegisterPublicKeyCredential,
) -> Option<RegisterPublicKeyCredential> {
    let attestation_object =
        none_attestation_with_presence(&credential.response.attestation_object)?;
    let mut waived = credential.clone();
    waived.response.attestation_object = attestation_object;
    Some(waived)
}

/// `{fmt: "none", attStmt: {}, authData}` with the `authData` of
/// `attestation_object` and its UP bit set; `None` when UP is set already
/// or the object is not a CBOR map with an `authData` byte string that
/// reaches the flags.
fn none_attestation_with_presence(attestation_object: &[u8]) -> Option<Vec<u8>> {
    let CborValue::Map(members) = serde_cbor_2::from_slice(attestation_object).ok()? else {
        return None;
    };
    let Some(CborValue::Bytes(auth_data)) = members.get(&CborValue::Text("authData".into())) else {
        return None;
    };
    let mut auth_data = auth_data.clone();
    let flags = auth_data.get_mut(FLAGS_OFFSET)?;
    if *flags & FLAG_UP != 0 {
        return None;
    }
    *flags |= FLAG_UP;
    serde_cbor_2::to_vec(&NoneAttestation {
        fmt: "none",
        att_stmt: BTreeMap::new(),
        auth_data: CborValue::Bytes(auth_data),
    })
    .ok()
}

/// An attestation object of format `none`, members in CTAP2 canonical
/// order.
#[derive(Serialize)]
struct NoneAttestation {
    fmt: &'static str,
    #[serde(rename = "attStmt")]
    att_stmt: BTreeMap<String, CborValue>,
    #[serde(rename = "authData")]
    auth_data: CborValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Authenticator data with `flags`: rpIdHash, flags, signCount, then
    /// attested credential data (AAGUID, a 4-byte id, an empty CBOR map as
    /// the key).
    fn auth_data(flags: u8) -> Vec<u8> {
        let mut data: Vec<u8> = (0u8..32).collect();
        data.push(flags);
        data.extend_from_slice(&[0, 0, 0, 7]);
        data.extend_from_slice(&[0xaa; 16]);
        data.extend_from_slice(&[0, 4, 1, 2, 3, 4, 0xa0]);
        data
    }

    fn attestation(fmt: &str, statement: CborValue, auth_data: &[u8]) -> Vec<u8> {
        let mut members = BTreeMap::new();
        members.insert(CborValue::Text("fmt".into()), CborValue::Text(fmt.into()));
        members.insert(CborValue::Text("attStmt".into()), statement);
        members.insert(
            CborValue::Text("authData".into()),
            CborValue::Bytes(auth_data.to_vec()),
        );
        serde_cbor_2::to_vec(&CborValue::Map(members)).unwrap()
    }

    fn members(encoded: &[u8]) -> BTreeMap<CborValue, CborValue> {
        match serde_cbor_2::from_slice(encoded).unwrap() {
            CborValue::Map(members) => members,
            other => panic!("not a map: {other:?}"),
        }
    }

    fn member<'a>(members: &'a BTreeMap<CborValue, CborValue>, name: &str) -> &'a CborValue {
        &members[&CborValue::Text(name.into())]
    }

    fn packed_statement() -> CborValue {
        let mut statement = BTreeMap::new();
        statement.insert(CborValue::Text("alg".into()), CborValue::Integer(-7));
        statement.insert(
            CborValue::Text("sig".into()),
            CborValue::Bytes(vec![0x30; 70]),
        );
        CborValue::Map(statement)
    }

    fn passkey_registration() -> PasskeyRegistration {
        let origin = webauthn_rs::prelude::Url::parse("http://localhost:8080").unwrap();
        let webauthn = webauthn_rs::WebauthnBuilder::new("localhost", &origin)
            .unwrap()
            .build()
            .unwrap();
        let handle = webauthn_rs::prelude::Uuid::new_v4();
        webauthn
            .start_passkey_registration(handle, "ann@example.com", "Ann", None)
            .unwrap()
            .1
    }

    #[test]
    fn a_conditional_state_prefers_verification_and_drops_cred_protect() {
        let required = passkey_registration();
        let conditional = conditional_state(&required).unwrap();
        let mut before = serde_json::to_value(&required).unwrap();
        let after = serde_json::to_value(&conditional).unwrap();
        assert_eq!(before["rs"]["policy"], "required");
        assert_eq!(
            before["rs"]["extensions"]["credentialProtectionPolicy"],
            "userVerificationRequired"
        );
        assert_eq!(after["rs"]["policy"], "preferred");
        before["rs"]["policy"] = "preferred".into();
        let extensions = before["rs"]["extensions"].as_object_mut().unwrap();
        for member in CRED_PROTECT {
            extensions.remove(member);
        }
        assert_eq!(before, after, "nothing else changed");
    }

    #[test]
    fn a_stored_state_says_whether_it_is_conditional() {
        let webauthn = passkey_registration();
        let state = RegistrationState {
            webauthn: webauthn.clone(),
            conditional: true,
        };
        let stored = serde_json::to_value(&state).unwrap();
        assert_eq!(stored["conditional"], true);
        assert!(
            stored["rs"].is_object(),
            "the webauthn-rs state is flattened"
        );
        let read: RegistrationState = serde_json::from_value(stored).unwrap();
        assert_eq!(read.mediation(), Mediation::Conditional);

        // A state stored before conditional create existed is an ordinary one.
        let plain = serde_json::to_string(&webauthn).unwrap();
        let read: RegistrationState = serde_json::from_str(&plain).unwrap();
        assert_eq!(read.mediation(), Mediation::Optional);
    }

    #[test]
    fn only_the_presence_bit_of_the_authenticator_data_changes() {
        // UV, BE, BS and AT stay as sent; UP is the only bit that moves.
        let sent = auth_data(0x04 | 0x08 | 0x10 | 0x40);
        let rewritten = none_attestation_with_presence(&attestation(
            "none",
            CborValue::Map(BTreeMap::new()),
            &sent,
        ))
        .unwrap();
        let CborValue::Bytes(after) = member(&members(&rewritten), "authData").clone() else {
            panic!("authData is not bytes");
        };
        assert_eq!(after.len(), sent.len());
        for (offset, (before, after)) in sent.iter().zip(&after).enumerate() {
            if offset == FLAGS_OFFSET {
                assert_eq!(
                    before ^ after,
                    FLAG_UP,
                    "the flags byte differs in more than UP"
                );
            } else {
                assert_eq!(before, after, "byte {offset} changed");
            }
        }
    }

    #[test]
    fn a_packed_attestation_becomes_none() {
        let sent = auth_data(0x04 | 0x40);
        let rewritten =
            none_attestation_with_presence(&attestation("packed", packed_statement(), &sent))
                .unwrap();
        let members = members(&rewritten);
        assert_eq!(members.len(), 3);
        assert_eq!(member(&members, "fmt"), &CborValue::Text("none".into()));
        assert_eq!(
            member(&members, "attStmt"),
            &CborValue::Map(BTreeMap::new())
        );
        let mut expected = sent;
        expected[FLAGS_OFFSET] |= FLAG_UP;
        assert_eq!(member(&members, "authData"), &CborValue::Bytes(expected));
        // The canonical order: fmt, attStmt, authData.
        assert_eq!(&rewritten[..5], &[0xa3, 0x63, b'f', b'm', b't']);
    }

    #[test]
    fn present_or_unreadable_data_is_left_alone() {
        let statement = || CborValue::Map(BTreeMap::new());
        assert_eq!(
            none_attestation_with_presence(&attestation("none", statement(), &auth_data(0x45))),
            None
        );
        assert_eq!(none_attestation_with_presence(b"\xff not CBOR"), None);
        assert_eq!(
            none_attestation_with_presence(&attestation("none", statement(), &[0; 32])),
            None
        );
        assert_eq!(
            none_attestation_with_presence(
                &serde_cbor_2::to_vec(&CborValue::Array(vec![])).unwrap()
            ),
            None
        );
    }
}
