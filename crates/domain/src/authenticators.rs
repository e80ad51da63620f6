//! Friendly names for well-known authenticator models (AAGUIDs).
//!
//! From the community-maintained passkey-authenticator-aaguids list and
//! Yubico's published AAGUIDs. Unknown or all-zero AAGUIDs have no name:
//! authenticators registered with `attestation: "none"` may send zeros.

use uuid::Uuid;

const KNOWN: &[(Uuid, &str)] = &[
    (
        uuid(0xfbfc3007_154e_4ecc_8c0b_6e020557d7bd),
        "iCloud Keychain",
    ),
    (
        uuid(0xdd4ec289_e01d_41c9_bb89_70fa845d4bf2),
        "iCloud Keychain (Managed)",
    ),
    (
        uuid(0xea9b8d66_4d01_1d21_3ce4_b6b48cb575d4),
        "Google Password Manager",
    ),
    (
        uuid(0xadce0002_35bc_c60a_648b_0b25f1f05503),
        "Chrome on Mac",
    ),
    (
        uuid(0xb5397666_4885_aa6b_cebf_e52262a439a2),
        "Chromium Browser",
    ),
    (uuid(0x771b48fd_d3d4_4f74_9232_fc157ab0507a), "Edge on Mac"),
    (
        uuid(0x08987058_cadc_4b81_b6e1_30de50dcbe96),
        "Windows Hello",
    ),
    (
        uuid(0x9ddd1817_af5a_4672_a2b9_3e3dd95000a9),
        "Windows Hello",
    ),
    (
        uuid(0x6028b017_b1d4_4c02_b4b3_afcdafc96bb2),
        "Windows Hello",
    ),
    (uuid(0xbada5566_a7aa_401f_bd96_45619a55120d), "1Password"),
    (uuid(0xd548826e_79b4_db40_a3d8_11116f7e8349), "Bitwarden"),
    (uuid(0x531126d6_e717_415c_9320_3d9aa6981239), "Dashlane"),
    (uuid(0xb84e4048_15dc_4dd0_8640_f4f60813c8af), "NordPass"),
    (uuid(0x0ea242b4_43c4_4a1b_8b17_dd6d0b6baec6), "Keeper"),
    (uuid(0x50726f74_6f6e_5061_7373_50726f746f6e), "Proton Pass"),
    (uuid(0xfdb141b2_5d84_443e_8a35_4698c205a502), "KeePassXC"),
    (uuid(0x53414d53_554e_4700_0000_000000000000), "Samsung Pass"),
    (uuid(0xb78a0a55_6ef8_d246_a042_ba0f6d55050c), "LastPass"),
    (uuid(0xf3809540_7f14_49c1_a8b3_8f813b225541), "Enpass"),
    (
        uuid(0xcb69481e_8ff7_4039_93ec_0a2729a154a8),
        "YubiKey 5 Series",
    ),
    (
        uuid(0xee882879_721c_4913_9775_3dfcce97072a),
        "YubiKey 5 Series",
    ),
    (
        uuid(0x19083c3d_8383_4b18_bc03_8f1c9ab2fd1b),
        "YubiKey 5 Series",
    ),
    (
        uuid(0xfa2b99dc_9e39_4257_8f92_4a30d23c4118),
        "YubiKey 5 Series with NFC",
    ),
    (
        uuid(0x2fc0579f_8113_47ea_b116_bb5a8db9202a),
        "YubiKey 5 Series with NFC",
    ),
    (
        uuid(0xa25342c0_3cdc_4414_8e46_f4807fca511c),
        "YubiKey 5 Series with NFC",
    ),
    (uuid(0xc5ef55ff_ad9a_4b9f_b580_adebafe026d0), "YubiKey 5Ci"),
    (
        uuid(0xd8522d9f_575b_4866_88a9_ba99fa02f35b),
        "YubiKey Bio Series",
    ),
    (
        uuid(0x149a2021_8ef6_4133_96b8_81f8d5b7f1f5),
        "Security Key by Yubico with NFC",
    ),
    (
        uuid(0xa4e9fc6d_4cbe_4758_b8ba_37598bb5bbaa),
        "Security Key by Yubico with NFC",
    ),
];

const fn uuid(value: u128) -> Uuid {
    Uuid::from_u128(value)
}

/// The model name for an AAGUID, `None` when unknown or all zeros.
pub fn authenticator_name(aaguid: &Uuid) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(known, _)| known == aaguid)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_well_known_authenticators() {
        let icloud = Uuid::parse_str("fbfc3007-154e-4ecc-8c0b-6e020557d7bd").unwrap();
        assert_eq!(authenticator_name(&icloud), Some("iCloud Keychain"));
        let gpm = Uuid::parse_str("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").unwrap();
        assert_eq!(authenticator_name(&gpm), Some("Google Password Manager"));
    }

    #[test]
    fn zero_and_unknown_have_no_name() {
        assert_eq!(authenticator_name(&Uuid::nil()), None);
        assert_eq!(authenticator_name(&Uuid::from_u128(42)), None);
    }

    #[test]
    fn table_has_no_duplicate_aaguids() {
        let mut seen = std::collections::HashSet::new();
        assert!(KNOWN.iter().all(|(id, _)| seen.insert(*id)));
    }
}
