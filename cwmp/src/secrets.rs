//! Which parameters hold secrets (passwords, keys, passphrases), so that their values are
//! masked wherever the ACS shows them: API answers, task records, logs.

/// What is shown instead of a secret value.
pub const MASK: &str = "********";

/// Endings of a parameter's last name segment that mark a secret, compared without case:
/// `ConnectionRequestPassword`, `ManagementServer.Password`, `STUNPassword`, `KeyPassphrase`,
/// `PreSharedKey`, `WEPKey`, `RadiusSecret`, vendor `X_..._PSK`...
const SECRET_ENDINGS: [&str; 8] = [
    "password",
    "passwd",
    "passphrase",
    "presharedkey",
    "psk",
    "wepkey",
    "secret",
    "privatekey",
];

/// Whether the parameter `name` (a full path such as
/// `Device.ManagementServer.ConnectionRequestPassword`, or a name relative to an object such
/// as `KeyPassphrase`) holds a secret.
pub fn is_secret(name: &str) -> bool {
    let leaf = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    SECRET_ENDINGS.iter().any(|ending| leaf.ends_with(ending))
}

/// `value` as it may be shown for the parameter `name`: [`MASK`] for a non-empty secret, the
/// value itself otherwise (an empty secret shows that none is set).
pub fn shown_value<'v>(name: &str, value: &'v str) -> &'v str {
    if !value.is_empty() && is_secret(name) {
        MASK
    } else {
        value
    }
}

/// Replaces `value` by [`MASK`] when the parameter `name` holds a non-empty secret.
pub fn mask_in_place(name: &str, value: &mut String) {
    if !value.is_empty() && is_secret(name) {
        *value = MASK.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_by_their_last_segment() {
        for secret in [
            "Device.ManagementServer.ConnectionRequestPassword",
            "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword",
            "Device.ManagementServer.Password",
            "Device.ManagementServer.STUNPassword",
            "Device.WiFi.AccessPoint.1.Security.KeyPassphrase",
            "Device.WiFi.AccessPoint.1.Security.PreSharedKey",
            "Device.WiFi.AccessPoint.1.Security.SAEPassphrase",
            "Device.WiFi.AccessPoint.1.Security.WEPKey",
            "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.WEPKey.1.WEPKey",
            "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.PreSharedKey.1.PreSharedKey",
            "Device.WiFi.AccessPoint.1.Security.RadiusSecret",
            "Device.PPP.Interface.1.Password",
            "Device.X_ACME_WPA_PSK",
            "KeyPassphrase",
        ] {
            assert!(is_secret(secret), "{secret}");
        }
        for plain in [
            "Device.ManagementServer.ConnectionRequestUsername",
            "Device.ManagementServer.Username",
            "Device.WiFi.SSID.1.SSID",
            "Device.WiFi.AccessPoint.1.Security.ModeEnabled",
            "Device.ManagementServer.",
            "Device.WiFi.AccessPoint.1.Security.PreSharedKey.",
            "",
        ] {
            assert!(!is_secret(plain), "{plain}");
        }
    }

    #[test]
    fn only_non_empty_secrets_are_masked() {
        assert_eq!(
            shown_value("Device.PPP.Interface.1.Password", "s3cr3t"),
            MASK
        );
        assert_eq!(shown_value("Device.PPP.Interface.1.Password", ""), "");
        assert_eq!(shown_value("Device.PPP.Interface.1.Username", "bob"), "bob");
        let mut value = "s3cr3t".to_string();
        mask_in_place("WEPKey", &mut value);
        assert_eq!(value, MASK);
    }
}
