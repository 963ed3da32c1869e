//! Fuzzes the WebSocket frame decoder: any bytes must decode or be refused with an error,
//! never panic; whatever decodes can be answered.
#![no_main]

use ismld::proto::frame::{ClientFrame, ServerFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match ClientFrame::decode(text) {
        Ok(frame) => {
            let _ = frame.op();
        }
        Err(e) => {
            let _ = ServerFrame::error(e.reference.as_ref(), &e.error);
        }
    }
});
