//! Parameter values with placeholders (`{serial}`, `{mac+3}`, `{uptime}`, `{counter:1500}`...)
//! and the per-device facts they are filled from. Nothing here is stored per device: a device's
//! identity is computed from its index.

use std::fmt::Write;

/// Fleet-wide identity settings; a device's own values derive from them and its index.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// `DeviceInfo.Manufacturer`
    pub manufacturer: String,
    /// `DeviceInfo.ManufacturerOUI`, six hex digits.
    pub oui: String,
    /// `DeviceInfo.ProductClass`
    pub product_class: String,
    /// Serial numbers are this prefix and the device index on 8 digits.
    pub serial_prefix: String,
    /// Factory software version.
    pub software_version: String,
    /// `DeviceInfo.HardwareVersion`
    pub hardware_version: String,
    /// `ManagementServer.URL`; several URLs separated by commas spread the sessions over
    /// them in turn (several edges behind one name).
    pub acs_url: String,
    /// Connection-request URLs are this base and the serial number (`http://host:port/cr/`).
    pub cr_base_url: String,
    /// Factory `PeriodicInformInterval`, seconds.
    pub periodic_interval: u32,
    /// Seed of the per-device connection-request passwords.
    pub secret: u64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            manufacturer: "SimCo".into(),
            oui: "02C0DE".into(),
            product_class: "SimGW".into(),
            serial_prefix: "SIM".into(),
            software_version: "1.0.0".into(),
            hardware_version: "HW-A1".into(),
            acs_url: "http://127.0.0.1:7547/".into(),
            cr_base_url: "http://127.0.0.1:7548/cr/".into(),
            periodic_interval: 300,
            secret: 0x5eed,
        }
    }
}

impl IdentityConfig {
    /// The ACS URLs of [`IdentityConfig::acs_url`].
    pub fn acs_urls(&self) -> impl Iterator<Item = &str> {
        self.acs_url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
    }

    /// The serial number of device `index`.
    pub fn serial(&self, index: u32) -> String {
        format!("{}{index:08}", self.serial_prefix)
    }

    /// The device index of a serial number of this fleet.
    pub fn index_of(&self, serial: &str) -> Option<u32> {
        let digits = serial.strip_prefix(&self.serial_prefix)?;
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// The id the ACS derives: `OUI-ProductClass-Serial` (parts percent-encoded like the ACS).
    pub fn device_id(&self, index: u32) -> String {
        let mut id = escape(&self.oui);
        if !self.product_class.is_empty() {
            id.push('-');
            id.push_str(&escape(&self.product_class));
        }
        id.push('-');
        id.push_str(&escape(&self.serial(index)));
        id
    }

    /// Factory connection-request user name of device `index`.
    pub fn cr_username(&self, index: u32) -> String {
        format!("cr-{}", self.serial(index))
    }

    /// Factory connection-request password of device `index` (derived, unique per device).
    pub fn cr_password(&self, index: u32) -> String {
        format!("{:016x}", mix(self.secret ^ u64::from(index)))
    }

    /// The connection-request URL of device `index`.
    pub fn cr_url(&self, index: u32) -> String {
        format!("{}{}", self.cr_base_url, self.serial(index))
    }

    /// MAC address `offset` of device `index` (each device owns 256 consecutive addresses).
    pub fn mac(&self, index: u32, offset: u32) -> String {
        let value: u64 = 0x02_00_00_00_00_00 | (u64::from(index) << 8) | u64::from(offset & 0xff);
        let b = value.to_be_bytes();
        format!(
            "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
            b[2], b[3], b[4], b[5], b[6], b[7]
        )
    }
}

/// Percent-encodes all but ASCII letters, digits, `_` and `.` (the ACS's device id rule).
fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.trim().bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.' {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// SplitMix64: a fast, well-mixed hash of a 64-bit value (for derived values and dice rolls).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// What a placeholder is filled from when a value is read.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// Fleet identity settings.
    pub identity: &'a IdentityConfig,
    /// The device index.
    pub index: u32,
    /// Now, Unix milliseconds.
    pub now_ms: u64,
    /// When the device last booted, Unix milliseconds.
    pub boot_ms: u64,
}

impl RenderContext<'_> {
    /// Seconds since boot.
    pub fn uptime(&self) -> u64 {
        self.now_ms.saturating_sub(self.boot_ms) / 1000
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Var {
    Manufacturer,
    Oui,
    ProductClass,
    Serial,
    Mac(u32),
    WanIp,
    WanGw,
    IndexHi,
    IndexLo,
    CrUrl,
    CrUsername,
    CrPassword,
    AcsUrl,
    SoftwareVersion,
    HardwareVersion,
    PeriodicInterval,
    Uptime,
    Counter(u64),
    Now,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(Box<str>),
    Var(Var),
}

/// A default value: text with placeholders, parsed once when the model loads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    pieces: Box<[Piece]>,
}

impl Template {
    /// Parses `text`, where `{name}` is a placeholder (see `models/README.md`).
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].into()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("unclosed placeholder in {text:?}"))?;
            let name = &rest[open + 1..open + close];
            pieces.push(Piece::Var(parse_var(name)?));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.into()));
        }
        Ok(Template {
            pieces: pieces.into(),
        })
    }

    /// Appends the value for a device to `out`.
    pub fn render_into(&self, ctx: &RenderContext<'_>, out: &mut String) {
        for piece in self.pieces.iter() {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Var(var) => render_var(*var, ctx, out),
            }
        }
    }

    /// The value for a device.
    pub fn render(&self, ctx: &RenderContext<'_>) -> String {
        let mut out = String::new();
        self.render_into(ctx, &mut out);
        out
    }
}

fn parse_var(name: &str) -> Result<Var, String> {
    let var = match name {
        "manufacturer" => Var::Manufacturer,
        "oui" => Var::Oui,
        "product_class" => Var::ProductClass,
        "serial" => Var::Serial,
        "mac" => Var::Mac(0),
        "wan_ip" => Var::WanIp,
        "wan_gw" => Var::WanGw,
        "index_hi" => Var::IndexHi,
        "index_lo" => Var::IndexLo,
        "cr_url" => Var::CrUrl,
        "cr_username" => Var::CrUsername,
        "cr_password" => Var::CrPassword,
        "acs_url" => Var::AcsUrl,
        "software_version" => Var::SoftwareVersion,
        "hardware_version" => Var::HardwareVersion,
        "periodic_interval" => Var::PeriodicInterval,
        "uptime" => Var::Uptime,
        "now" => Var::Now,
        other => {
            if let Some(offset) = other.strip_prefix("mac+") {
                Var::Mac(
                    offset
                        .parse()
                        .ok()
                        .filter(|&n| n < 256)
                        .ok_or_else(|| format!("bad MAC offset in {{{other}}}"))?,
                )
            } else if let Some(rate) = other.strip_prefix("counter:") {
                Var::Counter(
                    rate.parse()
                        .map_err(|_| format!("bad counter rate in {{{other}}}"))?,
                )
            } else {
                return Err(format!("unknown placeholder {{{other}}}"));
            }
        }
    };
    Ok(var)
}

fn render_var(var: Var, ctx: &RenderContext<'_>, out: &mut String) {
    let id = ctx.identity;
    let index = ctx.index;
    match var {
        Var::Manufacturer => out.push_str(&id.manufacturer),
        Var::Oui => out.push_str(&id.oui),
        Var::ProductClass => out.push_str(&id.product_class),
        Var::Serial => out.push_str(&id.serial(index)),
        Var::Mac(offset) => out.push_str(&id.mac(index, offset)),
        Var::WanIp => {
            let _ = write!(
                out,
                "100.{}.{}.{}",
                64 + ((index >> 16) & 63),
                (index >> 8) & 255,
                index & 255
            );
        }
        Var::WanGw => out.push_str("100.64.0.1"),
        Var::IndexHi => {
            let _ = write!(out, "{}", (index >> 8) & 255);
        }
        Var::IndexLo => {
            let _ = write!(out, "{}", index & 255);
        }
        Var::CrUrl => out.push_str(&id.cr_url(index)),
        Var::CrUsername => out.push_str(&id.cr_username(index)),
        Var::CrPassword => out.push_str(&id.cr_password(index)),
        Var::AcsUrl => out.push_str(id.acs_urls().next().unwrap_or_default()),
        Var::SoftwareVersion => out.push_str(&id.software_version),
        Var::HardwareVersion => out.push_str(&id.hardware_version),
        Var::PeriodicInterval => {
            let _ = write!(out, "{}", id.periodic_interval);
        }
        Var::Uptime => {
            let _ = write!(out, "{}", ctx.uptime());
        }
        Var::Counter(rate) => {
            // 32-bit counters wrap like real ones; the type decides what the ACS sees.
            let value = rate.saturating_mul(ctx.uptime()) % (1 << 32);
            let _ = write!(out, "{value}");
        }
        Var::Now => out.push_str(&format_datetime(ctx.now_ms)),
    }
}

/// Unix milliseconds as `xsd:dateTime` in UTC, such as `2026-11-25T02:01:03Z`.
pub fn format_datetime(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_from_the_device() {
        let identity = IdentityConfig::default();
        let ctx = RenderContext {
            identity: &identity,
            index: 258,
            now_ms: 1_000_000 + 90_000,
            boot_ms: 1_000_000,
        };
        let t = Template::parse("{serial}/{mac+1}/{uptime}/{counter:10}/{index_hi}.{index_lo}")
            .unwrap();
        assert_eq!(t.render(&ctx), "SIM00000258/02:00:00:01:02:01/90/900/1.2");
        assert_eq!(identity.index_of("SIM00000258"), Some(258));
        assert_eq!(identity.index_of("SIM258"), None);
        assert_eq!(identity.device_id(7), "02C0DE-SimGW-SIM00000007");
        assert_ne!(identity.cr_password(1), identity.cr_password(2));
        assert!(Template::parse("{bogus}").is_err());
        assert!(Template::parse("{serial").is_err());
    }

    #[test]
    fn datetimes_format_in_utc() {
        assert_eq!(format_datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_datetime(1_795_572_063_000), "2026-11-25T02:01:03Z");
        assert_eq!(format_datetime(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
