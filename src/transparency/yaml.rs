//! YAML documents (a model card's front matter, `.eval_results` files) read into a
//! [`serde_json::Value`], the type the report's checks read every side document through.
//!
//! The YAML is deserialized through a visitor of our own rather than `serde_json::Value`'s: that
//! one treats a mapping key `$serde_json::private::RawValue` as a request to parse the value as
//! raw JSON (serde_json's `raw_value` feature, which the crate enables for `config.json`), so a
//! card could make the YAML reader run serde_json's whole parser on a string of its choosing.
//! Harmless, but not what a front matter means, and it made the card fuzzer's coverage grow for
//! tens of millions of runs in code that is not the card parser. The values are the same as
//! `serde_json::Value`'s visitor gives for every other input: integers as numbers, floats as
//! numbers, mapping keys as strings (serde-saphyr refuses NaN and the infinities).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `text` as one YAML 1.2 document (booleans are `true` and `false` only: `language: no`
/// is Norwegian), or the first line of serde-saphyr's error.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Yaml>(text, options)
        .map(|y| y.0)
        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_owned())
}

/// A YAML value, held as the JSON value it reads as.
struct Yaml(Value);

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Yaml, D::Error> {
        d.deserialize_any(YamlVisitor).map(Yaml)
    }
}

struct YamlVisitor;

/// Elements reserved ahead for a sequence or mapping, whatever size the document announces.
const RESERVE_MAX: usize = 1024;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    /// An integer beyond 64 bits, should the YAML reader hand one over: its digits as text (what
    /// the checks read a number as). serde-saphyr 2.2 does not: it reads a plain integer beyond
    /// the 64-bit range as a float, which arrives through `visit_f64`, rounded to an f64.
    fn visit_i128<E>(self, n: i128) -> Result<Value, E> {
        Ok(i64::try_from(n).map_or_else(|_| Value::String(n.to_string()), Value::from))
    }

    fn visit_u128<E>(self, n: u128) -> Result<Value, E> {
        Ok(u64::try_from(n).map_or_else(|_| Value::String(n.to_string()), Value::from))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Number::from_f64(x).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Yaml::deserialize(d).map(|y| y.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(RESERVE_MAX));
        while let Some(Yaml(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some((key, Yaml(v))) = map.next_entry::<String, Yaml>()? {
            object.insert(key, v);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_lists_and_mappings_read_as_json_values() {
        let v = parse_yaml(
            "license: apache-2.0\nlanguage:\n- en\n- no\nlayers: 12\nbig: 18446744073709551615\n\
             neg: -3\nlr: 2.5e-4\nflag: true\nyes_word: yes\nnothing: null\ntilde: ~\n\
             nested: {a: [1, 2.0], b: {c: d}}\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "license": "apache-2.0",
                "language": ["en", "no"],
                "layers": 12,
                "big": 18446744073709551615u64,
                "neg": -3,
                "lr": 0.00025,
                "flag": true,
                "yes_word": "yes",
                "nothing": null,
                "tilde": null,
                "nested": {"a": [1, 2.0], "b": {"c": "d"}}
            })
        );
    }

    #[test]
    fn non_finite_floats_are_refused_and_huge_integers_keep_their_digits() {
        // serde-saphyr's default policy refuses them (JSON could not hold them either).
        for bad in ["a: .nan\n", "b: .inf\n", "c: -.inf\n"] {
            let e = parse_yaml(bad).unwrap_err();
            assert!(e.contains("non-finite") && !e.contains('\n'), "{e}");
        }
        let v = parse_yaml("d: 123456789012345678901234567890\n").unwrap();
        let d = crate::transparency::card::scalar_text(&v["d"]).unwrap();
        assert!(
            d == "123456789012345678901234567890" || d.starts_with("1.23456789"),
            "{d}"
        );
    }

    #[test]
    fn a_raw_value_key_is_an_ordinary_key() {
        let v = parse_yaml("$serde_json::private::RawValue: '{\"x\": 1}'\n").unwrap();
        assert_eq!(v, json!({"$serde_json::private::RawValue": "{\"x\": 1}"}));
    }

    #[test]
    fn keys_that_are_not_strings_are_read_as_their_text_and_bad_yaml_is_one_line() {
        let v = parse_yaml("1: one\ntrue: t\n").unwrap();
        assert_eq!(v["1"], json!("one"));
        let e = parse_yaml("a: [1, 2\nb: c\n").unwrap_err();
        assert!(!e.is_empty() && !e.contains('\n'), "{e}");
        assert_eq!(parse_yaml("").unwrap(), Value::Null);
        assert_eq!(parse_yaml("- a\n- 1\n").unwrap(), json!(["a", 1]));
    }
}
