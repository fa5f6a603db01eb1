//! Any datagram through the RADIUS decoder and request verifier: no panic, and what decodes
//! re-encodes to the same bytes (up to the Length field).
#![no_main]

use libfuzzer_sys::fuzz_target;
use passlogic_idp_core::radius::auth::{self, RequestPolicy, SharedSecret};
use passlogic_idp_core::radius::packet;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = packet::decode(data) {
        let again = packet::encode(&p).expect("decoded packets re-encode");
        assert_eq!(again.as_slice(), &data[..again.len()]);
    }
    let secret = SharedSecret::new(b"fuzz".to_vec()).expect("non-empty");
    let _ = auth::verify_request(data, &secret, true);
    let proxy = RequestPolicy {
        require_message_authenticator: false,
        client_is_proxy: true,
    };
    if let Ok(request) = auth::verify_request_with_policy(data, &secret, &proxy) {
        let _ = auth::build_reply(&request, packet::Code::AccessAccept, &[], &secret);
    }
});
