//! ES256 JWTs, a `kid` per key, and the JWKS that other services verify
//! them with.
//!
//! Tokens are signed here, as JWS compact serialisation with a key parsed
//! once, by `ring`: jsonwebtoken re-parses its PKCS#8 key on every token,
//! and RustCrypto's P-256 signature costs ~250 µs where ring's costs a
//! tenth of that (docs/BENCHMARKS.md). jsonwebtoken checks them, and the
//! tests prove it accepts what is signed here.
//!
//! One key signs; retired keys still verify until they are removed from
//! configuration, so keys can rotate without signing anybody out.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use monetro_domain::{SessionId, UserId};
use monetro_ports::{AccessGrant, IssuedToken, TokenError, TokenIssuer, VerifiedToken};
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// Who issues the tokens, for whom, for how long, with which keys.
#[derive(Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub lifetime_secs: u64,
    /// PKCS#8 PEM of the P-256 key that signs.
    pub signing_key_pem: String,
    /// PKCS#8 PEMs of keys that only verify (rotated out).
    pub retired_key_pems: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    exp: i64,
    jti: String,
    amr: Vec<String>,
    /// The session (absent in tokens issued before sessions existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// When the person last authenticated (OpenID Connect Core §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
}

struct PublicKey {
    decoding: DecodingKey,
    jwk: Value,
}

struct Keys {
    settings: TokenSettings,
    signing_kid: String,
    /// Signs with ES256's fixed-width R ‖ S (RFC 7518 §3.4).
    signing: EcdsaKeyPair,
    random: SystemRandom,
    /// The base64url JOSE header of every token this key signs.
    encoded_header: String,
    verifying: HashMap<String, PublicKey>,
    validation: Validation,
}

/// Signs and verifies the service's access tokens.
#[derive(Clone)]
pub struct JwtIssuer {
    keys: Arc<Keys>,
}

/// A new P-256 signing key as PKCS#8 PEM.
pub fn generate_signing_key_pem() -> Result<String, String> {
    SecretKey::random(&mut rand::rngs::OsRng)
        .to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| e.to_string())
}

/// The public JWK of a key and its RFC 7638 thumbprint, used as `kid`.
fn public_jwk(pem: &str) -> Result<(String, PublicKey), String> {
    let secret =
        SecretKey::from_pkcs8_pem(pem).map_err(|e| format!("not a P-256 PKCS#8 key: {e}"))?;
    let point = secret.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err("public key has no coordinates".into());
    };
    let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|e| e.to_string())?;
    let jwk = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig" });
    Ok((kid.clone(), PublicKey { decoding, jwk }))
}

/// The PEM's key as ring's signing key pair.
fn ring_key_pair(pem: &str) -> Result<EcdsaKeyPair, String> {
    let secret = SecretKey::from_pkcs8_pem(pem).map_err(|e| format!("signing key: {e}"))?;
    let public = secret.public_key().to_encoded_point(false);
    EcdsaKeyPair::from_private_key_and_public_key(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &secret.to_bytes(),
        public.as_bytes(),
        &SystemRandom::new(),
    )
    .map_err(|e| format!("signing key rejected: {e}"))
}

impl JwtIssuer {
    pub fn new(settings: TokenSettings) -> Result<Self, String> {
        let (signing_kid, active) = public_jwk(&settings.signing_key_pem)?;
        let signing = ring_key_pair(&settings.signing_key_pem)?;
        let header = json!({ "typ": "JWT", "alg": "ES256", "kid": signing_kid });
        let encoded_header = URL_SAFE_NO_PAD.encode(header.to_string());
        let mut verifying = HashMap::from([(signing_kid.clone(), active)]);
        for pem in &settings.retired_key_pems {
            let (kid, key) = public_jwk(pem)?;
            verifying.insert(kid, key);
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the service's clock, below.
        validation.validate_exp = false;
        validation.leeway = 0;
        Ok(Self {
            keys: Arc::new(Keys {
                settings,
                signing_kid,
                signing,
                random: SystemRandom::new(),
                encoded_header,
                verifying,
                validation,
            }),
        })
    }

    /// The `kid` of the key that signs new tokens.
    pub fn signing_kid(&self) -> &str {
        &self.keys.signing_kid
    }
}

impl TokenIssuer for JwtIssuer {
    fn issue(&self, grant: &AccessGrant, now: DateTime<Utc>) -> Result<IssuedToken, TokenError> {
        let keys = &self.keys;
        let lifetime = i64::try_from(keys.settings.lifetime_secs).unwrap_or(i64::MAX);
        let claims = Claims {
            iss: keys.settings.issuer.clone(),
            aud: keys.settings.audience.clone(),
            sub: grant.user.to_string(),
            iat: now.timestamp(),
            exp: now.timestamp().saturating_add(lifetime),
            jti: Uuid::new_v4().to_string(),
            amr: grant.amr.iter().map(|m| (*m).to_owned()).collect(),
            sid: Some(grant.session.to_string()),
            auth_time: Some(grant.auth_time.timestamp()),
        };
        let payload =
            serde_json::to_vec(&claims).map_err(|e| TokenError::Signing(e.to_string()))?;
        let mut token = format!(
            "{}.{}",
            keys.encoded_header,
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = keys
            .signing
            .sign(&keys.random, token.as_bytes())
            .map_err(|_| TokenError::Signing("ECDSA signing failed".into()))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(IssuedToken {
            token,
            expires_in: keys.settings.lifetime_secs,
        })
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.verifying.get(kid))
            .ok_or(TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.keys.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        let user_id = Uuid::try_parse(&claims.sub)
            .map(UserId)
            .map_err(|_| TokenError::Invalid)?;
        let issued_at = DateTime::from_timestamp(claims.iat, 0).ok_or(TokenError::Invalid)?;
        let session_id = claims
            .sid
            .as_deref()
            .map(SessionId::parse)
            .transpose()
            .map_err(|_| TokenError::Invalid)?;
        let auth_time = match claims.auth_time {
            Some(at) => DateTime::from_timestamp(at, 0).ok_or(TokenError::Invalid)?,
            None => issued_at,
        };
        Ok(VerifiedToken {
            user_id,
            amr: claims.amr,
            issued_at,
            session_id,
            auth_time,
        })
    }

    fn jwks(&self) -> Value {
        let mut keys: Vec<&Value> = self.keys.verifying.values().map(|k| &k.jwk).collect();
        keys.sort_by_key(|jwk| jwk["kid"] != self.keys.signing_kid.as_str());
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn settings(signing: &str, retired: Vec<String>) -> TokenSettings {
        TokenSettings {
            issuer: "monetro".into(),
            audience: "monetro".into(),
            lifetime_secs: 900,
            signing_key_pem: signing.into(),
            retired_key_pems: retired,
        }
    }

    fn fixed_now() -> DateTime<Utc> {
        use chrono::TimeZone as _;
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    fn grant(user: UserId, amr: &'static [&'static str]) -> AccessGrant {
        AccessGrant {
            user,
            session: SessionId::random(),
            amr,
            auth_time: fixed_now() - Duration::seconds(60),
        }
    }

    fn issuer() -> JwtIssuer {
        JwtIssuer::new(settings(&generate_signing_key_pem().unwrap(), vec![])).unwrap()
    }

    #[test]
    fn issues_es256_with_kid_and_the_documented_claims() {
        let issuer = issuer();
        let user = UserId::random();
        let now = fixed_now();
        let granted = grant(user, &["pwd"]);
        let issued = issuer.issue(&granted, now).unwrap();
        let header = jsonwebtoken::decode_header(&issued.token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(issuer.signing_kid()));
        let verified = issuer.verify(&issued.token, now).unwrap();
        assert_eq!(verified.user_id, user);
        assert_eq!(verified.amr, vec!["pwd".to_owned()]);
        assert_eq!(verified.session_id, Some(granted.session));
        assert_eq!(verified.auth_time, granted.auth_time);
        assert_eq!(verified.issued_at, now);
        assert_eq!(issued.expires_in, 900);
    }

    #[test]
    fn expiry_follows_the_given_clock() {
        let issuer = issuer();
        let now = fixed_now();
        let token = issuer
            .issue(&grant(UserId::random(), &["pwd"]), now)
            .unwrap()
            .token;
        assert!(issuer.verify(&token, now + Duration::seconds(899)).is_ok());
        assert_eq!(
            issuer.verify(&token, now + Duration::seconds(900)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn refuses_foreign_keys_and_unsigned_tokens() {
        let ours = issuer();
        let theirs = issuer();
        let now = fixed_now();
        let foreign = theirs
            .issue(&grant(UserId::random(), &["pwd"]), now)
            .unwrap()
            .token;
        assert_eq!(ours.verify(&foreign, now), Err(TokenError::Invalid));

        let genuine = ours
            .issue(&grant(UserId::random(), &["pwd"]), now)
            .unwrap()
            .token;
        let payload = genuine.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            ours.signing_kid()
        ));
        assert_eq!(
            ours.verify(&format!("{header}.{payload}."), now),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn retired_keys_verify_but_do_not_sign() {
        let old_pem = generate_signing_key_pem().unwrap();
        let old = JwtIssuer::new(settings(&old_pem, vec![])).unwrap();
        let now = fixed_now();
        let old_token = old
            .issue(&grant(UserId::random(), &["pwd"]), now)
            .unwrap()
            .token;

        let rotated = JwtIssuer::new(settings(
            &generate_signing_key_pem().unwrap(),
            vec![old_pem],
        ))
        .unwrap();
        assert!(rotated.verify(&old_token, now).is_ok());
        let jwks = rotated.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(jwks["keys"][0]["kid"], rotated.signing_kid());
        assert_ne!(rotated.signing_kid(), old.signing_kid());
    }

    #[test]
    fn the_jwks_verifies_tokens_on_its_own() {
        let issuer = issuer();
        let now = fixed_now();
        let token = issuer
            .issue(&grant(UserId::random(), &["webauthn"]), now)
            .unwrap()
            .token;
        let jwk = &issuer.jwks()["keys"][0];
        let key =
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
                .unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&["monetro"]);
        // Issued at a fixed past instant: only the signature is in question.
        validation.validate_exp = false;
        assert!(jsonwebtoken::decode::<Claims>(&token, &key, &validation).is_ok());
    }
}
