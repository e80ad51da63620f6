//! WebAuthn Level 3 `hints`: which kind of authenticator the browser should
//! offer first.

use crate::Error;

/// One `PublicKeyCredentialHint` (WebAuthn Level 3 §5.8.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasskeyHint {
    /// A removable security key (USB, NFC, BLE), e.g. a YubiKey.
    SecurityKey,
    /// The platform authenticator of this device (Touch ID, Windows Hello …).
    ClientDevice,
    /// A phone or tablet, over the hybrid (QR code) transport.
    Hybrid,
}

impl PasskeyHint {
    pub const ALL: [PasskeyHint; 3] = [Self::SecurityKey, Self::ClientDevice, Self::Hybrid];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecurityKey => "security-key",
            Self::ClientDevice => "client-device",
            Self::Hybrid => "hybrid",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|hint| hint.as_str() == raw)
            .ok_or_else(|| {
                Error::validation(format!(
                    "hints: {raw:?} is not one of security-key, client-device, hybrid"
                ))
            })
    }

    /// A list of hints in order of preference, each once (a repeated hint
    /// is dropped, as a browser would ignore it).
    pub fn parse_list<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Self>, Error> {
        let mut hints = Vec::with_capacity(raw.len());
        for item in raw {
            let hint = Self::parse(item.as_ref())?;
            if !hints.contains(&hint) {
                hints.push(hint);
            }
        }
        Ok(hints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_round_trip_through_their_names() {
        for hint in PasskeyHint::ALL {
            assert_eq!(PasskeyHint::parse(hint.as_str()), Ok(hint));
        }
    }

    #[test]
    fn unknown_hints_are_refused() {
        for raw in ["", "Hybrid", "platform", "security_key"] {
            assert!(PasskeyHint::parse(raw).is_err(), "{raw:?} accepted");
        }
        assert!(PasskeyHint::parse_list(&["hybrid", "nfc"]).is_err());
    }

    #[test]
    fn lists_keep_their_order_and_drop_repeats() {
        assert_eq!(
            PasskeyHint::parse_list(&["hybrid", "security-key", "hybrid"]).unwrap(),
            vec![PasskeyHint::Hybrid, PasskeyHint::SecurityKey]
        );
        assert_eq!(PasskeyHint::parse_list::<&str>(&[]).unwrap(), vec![]);
    }
}
