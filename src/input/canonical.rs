//! Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, serde_json's string
//! escaping and number formatting. It turns records and parameters into the bytes split-v1 hashes.

use serde_json::Value;

/// Appends the canonical JSON of `value` to `out`.
pub(crate) fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (n, (key, v)) in entries.into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (n, v) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

/// The canonical JSON of `value` as bytes.
pub fn to_canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    match value {
        // split-v1 writes exponents without a `+` (`1e21`), as serde_json did with ryu; newer
        // serde_json releases write `1e+21`, so the sign is dropped here, whatever the release.
        Value::Number(n) if n.is_f64() => {
            out.extend_from_slice(n.to_string().replacen("e+", "e", 1).as_bytes());
        }
        _ => serde_json::to_writer(out, value).expect("writing JSON to memory cannot fail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_by_bytes_and_drops_whitespace() {
        let v: Value = serde_json::from_str(
            r#"{ "b": [1, 2.5, {"z": null, "a": true}], "a": "x\u00e9\n", "B": 10 }"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(to_canonical(&v)).unwrap(),
            r#"{"B":10,"a":"xé\n","b":[1,2.5,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn byte_order_not_char_order() {
        // 'é' (0xC3 0xA9) sorts after 'z' (0x7A) by bytes.
        let v = json!({"é": 1, "z": 2});
        assert_eq!(
            String::from_utf8(to_canonical(&v)).unwrap(),
            r#"{"z":2,"é":1}"#
        );
    }
}
