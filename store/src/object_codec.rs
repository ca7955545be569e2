//! The compact binary form of a stored object record (see [`crate::parameters`]).
//!
//! A refreshed tree writes every object of the device at once, so the encoding of an object's
//! parameters is on the bootstrap path of every device: it is written by hand, without field
//! names, with lengths as varints and each record's timestamp as a difference from the
//! object's first one (most records of an object are learned in the same exchange).
//!
//! ```text
//! object    = 0x01 base:varint has-object:u8 [record] count:varint (name:string record)*
//! record    = flags:u8 delta:zigzag-varint
//!             [type:u8 [type-name:string] value:string]  when flags & VALUE
//!             [notification:u8]                         when flags & NOTIFICATION
//!             [count:varint string*]                     when flags & ACCESS_LIST
//! string    = length:varint UTF-8 bytes
//! ```
//!
//! Records written before this format (JSON, which starts with `{`) are still read.

use acs_model::{Millis, ParameterRecord, Parameters};
use cwmp::XsdType;

/// The first byte of a record in this format.
const FORMAT: u8 = 0x01;

const OBJECT: u8 = 1;
const VALUE: u8 = 2;
const WRITABLE_KNOWN: u8 = 4;
const WRITABLE: u8 = 8;
const NOTIFICATION: u8 = 16;
const ACCESS_LIST: u8 = 32;

/// Type tags, in the order of [`XsdType`]'s variants; [`XsdType::Other`] carries its name.
const TYPE_OTHER: u8 = 9;

/// An object's records as decoded.
pub(crate) type Decoded = (Option<ParameterRecord>, Parameters);

/// Encodes an object's own record and its parameters (by name, in any order).
pub(crate) fn encode<'r>(
    object: Option<&ParameterRecord>,
    parameters: impl ExactSizeIterator<Item = (&'r str, &'r ParameterRecord)> + Clone,
) -> Vec<u8> {
    let base = object
        .map(|record| record.timestamp)
        .or_else(|| {
            parameters
                .clone()
                .next()
                .map(|(_, record)| record.timestamp)
        })
        .unwrap_or(0);
    let mut out = Vec::with_capacity(16 + parameters.len() * 32);
    out.push(FORMAT);
    put_varint(&mut out, base);
    match object {
        Some(record) => {
            out.push(1);
            put_record(&mut out, record, base);
        }
        None => out.push(0),
    }
    put_varint(&mut out, parameters.len() as u64);
    for (name, record) in parameters {
        put_str(&mut out, name);
        put_record(&mut out, record, base);
    }
    out
}

/// Whether `bytes` are in this format (rather than the older JSON).
pub(crate) fn is_compact(bytes: &[u8]) -> bool {
    bytes.first() == Some(&FORMAT)
}

/// Decodes an object encoded by [`encode`]; the error says what is wrong.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, &'static str> {
    let mut reader = Reader { bytes, at: 0 };
    if reader.byte()? != FORMAT {
        return Err("not a compact object record");
    }
    let base = reader.varint()?;
    let object = match reader.byte()? {
        0 => None,
        1 => Some(reader.record(base)?),
        _ => return Err("bad object flag"),
    };
    let count = reader.varint()?;
    let mut parameters = Parameters::default();
    for _ in 0..count {
        // Borrowed: most names are kept inline, without a string of their own.
        let name = reader.text()?;
        let record = reader.record(base)?;
        parameters.insert(name, record);
    }
    if reader.at != bytes.len() {
        return Err("trailing bytes");
    }
    Ok((object, parameters))
}

fn put_record(out: &mut Vec<u8>, record: &ParameterRecord, base: Millis) {
    let mut flags = 0;
    if record.object {
        flags |= OBJECT;
    }
    if record.value.is_some() {
        flags |= VALUE;
    }
    if let Some(writable) = record.writable {
        flags |= WRITABLE_KNOWN;
        if writable {
            flags |= WRITABLE;
        }
    }
    if record.notification.is_some() {
        flags |= NOTIFICATION;
    }
    if record.access_list.is_some() {
        flags |= ACCESS_LIST;
    }
    out.push(flags);
    let delta = record.timestamp.wrapping_sub(base) as i64;
    put_varint(out, ((delta << 1) ^ (delta >> 63)) as u64);
    if let Some((value, xsd_type)) = &record.value {
        match xsd_type {
            XsdType::Other(name) => {
                out.push(TYPE_OTHER);
                put_str(out, name);
            }
            known => out.push(type_tag(known)),
        }
        put_str(out, value);
    }
    if let Some(notification) = record.notification {
        out.push(notification);
    }
    if let Some(list) = &record.access_list {
        put_varint(out, list.len() as u64);
        for entry in list {
            put_str(out, entry);
        }
    }
}

fn type_tag(xsd_type: &XsdType) -> u8 {
    match xsd_type {
        XsdType::String => 0,
        XsdType::Int => 1,
        XsdType::UnsignedInt => 2,
        XsdType::Long => 3,
        XsdType::UnsignedLong => 4,
        XsdType::Boolean => 5,
        XsdType::DateTime => 6,
        XsdType::Base64 => 7,
        XsdType::HexBinary => 8,
        XsdType::Other(_) => TYPE_OTHER,
    }
}

/// The type a tag other than [`TYPE_OTHER`] stands for (the inverse of [`type_tag`]).
fn known_type(tag: u8) -> Option<XsdType> {
    Some(match tag {
        0 => XsdType::String,
        1 => XsdType::Int,
        2 => XsdType::UnsignedInt,
        3 => XsdType::Long,
        4 => XsdType::UnsignedLong,
        5 => XsdType::Boolean,
        6 => XsdType::DateTime,
        7 => XsdType::Base64,
        8 => XsdType::HexBinary,
        _ => return None,
    })
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn byte(&mut self) -> Result<u8, &'static str> {
        let byte = *self.bytes.get(self.at).ok_or("truncated")?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long")
    }

    /// A length-prefixed text, borrowed from the input.
    fn text(&mut self) -> Result<&'b str, &'static str> {
        let len = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
        let end = self.at.checked_add(len).ok_or("length too large")?;
        let bytes = self.bytes.get(self.at..end).ok_or("truncated")?;
        self.at = end;
        std::str::from_utf8(bytes).map_err(|_| "text is not UTF-8")
    }

    fn string(&mut self) -> Result<String, &'static str> {
        self.text().map(str::to_string)
    }

    fn record(&mut self, base: Millis) -> Result<ParameterRecord, &'static str> {
        let flags = self.byte()?;
        if flags & !(OBJECT | VALUE | WRITABLE_KNOWN | WRITABLE | NOTIFICATION | ACCESS_LIST) != 0 {
            return Err("unknown record flags");
        }
        let zigzag = self.varint()?;
        let delta = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        let value = if flags & VALUE != 0 {
            let xsd_type = match self.byte()? {
                TYPE_OTHER => XsdType::Other(self.string()?),
                tag => known_type(tag).ok_or("unknown value type")?,
            };
            Some((self.string()?, xsd_type))
        } else {
            None
        };
        let notification = if flags & NOTIFICATION != 0 {
            Some(self.byte()?)
        } else {
            None
        };
        let access_list = if flags & ACCESS_LIST != 0 {
            let count = self.varint()?;
            // Each entry takes at least its length byte: a count beyond the input is corrupt.
            if count > (self.bytes.len() - self.at) as u64 {
                return Err("truncated");
            }
            let mut list = Vec::with_capacity(count as usize);
            for _ in 0..count {
                list.push(self.string()?);
            }
            Some(list)
        } else {
            None
        };
        Ok(ParameterRecord {
            object: flags & OBJECT != 0,
            value,
            writable: (flags & WRITABLE_KNOWN != 0).then_some(flags & WRITABLE != 0),
            notification,
            access_list,
            timestamp: base.wrapping_add(delta as u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn xsd_type() -> impl Strategy<Value = XsdType> {
        prop_oneof![
            (0..TYPE_OTHER).prop_map(|tag| known_type(tag).expect("a known tag")),
            "[A-Za-z]{1,12}".prop_map(XsdType::Other),
        ]
    }

    #[test]
    fn every_known_type_has_its_own_tag() {
        for tag in 0..TYPE_OTHER {
            let xsd_type = known_type(tag).expect("a known tag");
            assert_eq!(type_tag(&xsd_type), tag);
        }
        assert_eq!(known_type(TYPE_OTHER), None);
        assert_eq!(type_tag(&XsdType::Other("IPAddress".into())), TYPE_OTHER);
    }

    fn record() -> impl Strategy<Value = ParameterRecord> {
        (
            any::<bool>(),
            proptest::option::of((".{0,40}", xsd_type())),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<u8>()),
            proptest::option::of(proptest::collection::vec("[a-z]{0,8}", 0..3)),
            any::<u64>(),
        )
            .prop_map(
                |(object, value, writable, notification, access_list, timestamp)| ParameterRecord {
                    object,
                    value,
                    writable,
                    notification,
                    access_list,
                    timestamp,
                },
            )
    }

    proptest! {
        #[test]
        fn objects_round_trip(
            object in proptest::option::of(record()),
            parameters in proptest::collection::btree_map("[A-Za-z0-9]{1,20}", record(), 0..20),
        ) {
            let bytes = encode(object.as_ref(), parameters.iter().map(|(n, r)| (n.as_str(), r)));
            prop_assert!(is_compact(&bytes));
            let (decoded_object, decoded_parameters) = decode(&bytes).expect("decodes");
            prop_assert_eq!(decoded_object, object);
            prop_assert_eq!(decoded_parameters, parameters.into_iter().collect::<Parameters>());
        }

        #[test]
        fn any_bytes_decode_or_fail_cleanly(mut bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Some(first) = bytes.first_mut() {
                *first = FORMAT;
            }
            let _ = decode(&bytes);
        }

        #[test]
        fn every_truncation_is_an_error(
            parameters in proptest::collection::btree_map("[A-Za-z0-9]{1,20}", record(), 1..5),
        ) {
            let bytes = encode(None, parameters.iter().map(|(n, r)| (n.as_str(), r)));
            for end in 0..bytes.len() {
                prop_assert!(decode(&bytes[..end]).is_err());
            }
        }
    }

    #[test]
    fn a_typical_object_is_small() {
        let timestamp = 1_764_633_600_000;
        let parameters: Vec<(String, ParameterRecord)> = (1..=10)
            .map(|i| {
                let record = ParameterRecord {
                    value: Some((format!("value-{i}"), XsdType::String)),
                    writable: Some(true),
                    timestamp,
                    ..ParameterRecord::default()
                };
                (format!("Parameter{i}"), record)
            })
            .collect();
        let bytes = encode(None, parameters.iter().map(|(n, r)| (n.as_str(), r)));
        // Per parameter: name (11 bytes) + value (8 to 9) + 2 lengths + flags, delta and type.
        assert!(bytes.len() < 10 * 26 + 12, "{} bytes", bytes.len());
    }
}
