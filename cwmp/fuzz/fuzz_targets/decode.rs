//! Decodes arbitrary bytes; whatever decodes must re-encode and decode to the same envelope.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = cwmp::decode(data) {
        let bytes = cwmp::encode(&envelope);
        match cwmp::decode(&bytes) {
            Ok(again) => assert_eq!(again, envelope, "{}", String::from_utf8_lossy(&bytes)),
            Err(e) => panic!("re-encoded envelope fails to decode: {e}\n{}", String::from_utf8_lossy(&bytes)),
        }
    }
});
