//! I-JSON (RFC 7493) checks of JSON text the bus accepts (event data, checkpoints): what
//! strict parsers refuse although the JSON grammar allows it.

use super::error::ApiError;
use super::event::MAX_JSON_DEPTH;

/// Checks valid JSON text for what strict parsers refuse although the JSON grammar allows
/// it: nesting deeper than `max_depth`, `\u` escapes of unpaired UTF-16 surrogates, and
/// numbers beyond the range of a double. What passes is I-JSON (RFC 7493), which any
/// consumer can parse back, in JavaScript or with serde_json.
pub fn check_json(json: &str, max_depth: usize) -> Result<(), ApiError> {
    let bytes = json.as_bytes();
    let (mut depth, mut in_string, mut i) = (0usize, false, 0usize);
    let mut high_surrogate = false;
    let lone = || ApiError::invalid("JSON contains an unpaired UTF-16 surrogate escape");
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if b == b'\\' {
                if bytes.get(i + 1) == Some(&b'u') {
                    let unit =
                        json.get(i + 2..i + 6).and_then(|h| u16::from_str_radix(h, 16).ok()).unwrap_or(0);
                    match unit {
                        0xD800..=0xDBFF if !high_surrogate => high_surrogate = true,
                        0xDC00..=0xDFFF if high_surrogate => high_surrogate = false,
                        0xD800..=0xDFFF => return Err(lone()),
                        _ if high_surrogate => return Err(lone()),
                        _ => {}
                    }
                    i += 6;
                } else {
                    if high_surrogate {
                        return Err(lone());
                    }
                    i += 2;
                }
                continue;
            }
            if high_surrogate {
                return Err(lone());
            }
            if b == b'"' {
                in_string = false;
                i += 1;
            } else {
                // Plain characters: on to the next quote or escape.
                i += bytes[i..].iter().position(|&c| c == b'"' || c == b'\\').unwrap_or(bytes.len() - i);
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'-' | b'0'..=b'9' => {
                let start = i;
                let mut plain = true; // digits only (and a sign): a short one is always finite
                while i < bytes.len() && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    plain &= matches!(bytes[i], b'-' | b'0'..=b'9');
                    i += 1;
                }
                let finite =
                    (plain && i - start <= 300) || json[start..i].parse::<f64>().is_ok_and(f64::is_finite);
                if !finite {
                    return Err(ApiError::invalid("JSON number out of the range of a double (I-JSON)"));
                }
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(ApiError::invalid(format!("JSON nests deeper than {MAX_JSON_DEPTH} levels")));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}
