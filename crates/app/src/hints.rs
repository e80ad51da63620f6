//! WebAuthn Level 3 `hints` in the options the service returns: the
//! configured default, or the caller's own list.

use monetro_domain::{Error, PasskeyHint};
use serde_json::Value;

use crate::{App, Deps};

impl<D: Deps> App<D> {
    /// The hints for one options call: `requested` when the caller sent a
    /// list (an empty one means none), else the configured default.
    pub(crate) fn hints_for(
        &self,
        requested: Option<&[String]>,
    ) -> Result<Vec<PasskeyHint>, Error> {
        match requested {
            Some(raw) => PasskeyHint::parse_list(raw),
            None => Ok(self.settings.hints.clone()),
        }
    }
}

/// Adds `hints` to creation or request options (webauthn-rs leaves the
/// member out); no hints, no member.
pub(crate) fn add_hints(options: &mut Value, hints: &[PasskeyHint]) {
    if hints.is_empty() {
        return;
    }
    if let Some(options) = options.as_object_mut() {
        let names: Vec<Value> = hints.iter().map(|h| h.as_str().into()).collect();
        options.insert("hints".into(), names.into());
    }
}
