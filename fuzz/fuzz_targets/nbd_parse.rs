//! The NBD parsers on arbitrary bytes: they return errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use platter_nbd::proto;

fuzz_target!(|data: &[u8]| {
    let _ = proto::parse_info_request(data);
    let _ = proto::parse_meta_context_request(data);
    if let Ok(h) = <[u8; 16]>::try_from(data.get(..16).unwrap_or(&[])) {
        let _ = proto::parse_option_header(&h);
    }
    if let Ok(h) = <[u8; proto::REQUEST_HEADER_LEN]>::try_from(data.get(..proto::REQUEST_HEADER_LEN).unwrap_or(&[])) {
        let _ = proto::parse_request(&h);
    }
});
