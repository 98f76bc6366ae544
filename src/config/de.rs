//! A serde `Deserializer` over a YAML value tree that records where an error happened.
//!
//! serde_yaml's own deserializer reports "unknown field" as text; this one keeps the key, the
//! list of valid keys and the YAML path as data, so config errors can name the path and suggest
//! the closest valid key. It also applies the collector's loose typing: `key:` with no value is
//! an empty section, and a scalar written as text (`"4317"`, often the result of `${env:...}`)
//! is accepted where a number or bool is expected.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde_yaml_ng::{Mapping, Value};
use std::fmt;

/// What went wrong while decoding one component's (or the service's) YAML.
#[derive(Debug, Clone, PartialEq)]
pub enum DeErrorKind {
    UnknownKey { key: String, expected: &'static [&'static str] },
    MissingKey(&'static str),
    Message(String),
}

/// A decode error with the YAML path (outermost first) where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub path: Vec<String>,
    pub kind: DeErrorKind,
}

impl DeError {
    fn prefixed(mut self, seg: String) -> Self {
        self.path.insert(0, seg);
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DeErrorKind::UnknownKey { key, .. } => write!(f, "unknown key {key:?}"),
            DeErrorKind::MissingKey(k) => write!(f, "missing required key {k:?}"),
            DeErrorKind::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { path: Vec::new(), kind: DeErrorKind::Message(msg.to_string()) }
    }
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError { path: Vec::new(), kind: DeErrorKind::UnknownKey { key: field.to_string(), expected } }
    }
    fn missing_field(field: &'static str) -> Self {
        DeError { path: Vec::new(), kind: DeErrorKind::MissingKey(field) }
    }
}

/// Decodes `T` from a YAML value.
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, DeError> {
    T::deserialize(ValueDe(v))
}

struct ValueDe<'a>(&'a Value);

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("the bool {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a map".into(),
        Value::Tagged(t) => describe(&t.value),
    }
}

impl<'a> ValueDe<'a> {
    fn untag(&self) -> &'a Value {
        let mut v = self.0;
        while let Value::Tagged(t) = v {
            v = &t.value;
        }
        v
    }

    fn wrong(&self, expected: &str) -> DeError {
        de::Error::custom(format!("expected {expected}, found {}", describe(self.0)))
    }
}

macro_rules! int_method {
    ($method:ident, $visit:ident, $ty:ty, $what:expr) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let v = self.untag();
            let parsed: Option<$ty> = match v {
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        <$ty>::try_from(i).ok()
                    } else if let Some(u) = n.as_u64() {
                        <$ty>::try_from(u).ok()
                    } else {
                        None
                    }
                }
                Value::String(s) => s.trim().parse::<$ty>().ok(),
                _ => None,
            };
            match parsed {
                Some(x) => visitor.$visit(x),
                None => Err(self.wrong($what)),
            }
        }
    };
}

impl<'de, 'a> de::Deserializer<'de> for ValueDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.untag() {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Sequence(seq) => visitor.visit_seq(SeqDe { it: seq.iter(), i: 0 }),
            Value::Mapping(m) => visitor.visit_map(MapDe::new(m)),
            Value::Tagged(_) => Err(self.wrong("a plain value")),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.untag() {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => visitor.visit_bool(true),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => visitor.visit_bool(false),
            _ => Err(self.wrong("true or false")),
        }
    }

    int_method!(deserialize_i8, visit_i8, i8, "an integer");
    int_method!(deserialize_i16, visit_i16, i16, "an integer");
    int_method!(deserialize_i32, visit_i32, i32, "an integer");
    int_method!(deserialize_i64, visit_i64, i64, "an integer");
    int_method!(deserialize_u8, visit_u8, u8, "a non-negative integer");
    int_method!(deserialize_u16, visit_u16, u16, "a non-negative integer (0-65535)");
    int_method!(deserialize_u32, visit_u32, u32, "a non-negative integer");
    int_method!(deserialize_u64, visit_u64, u64, "a non-negative integer");

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let x = match self.untag() {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match x {
            Some(x) => visitor.visit_f64(x),
            None => Err(self.wrong("a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.untag() {
            // `key:` with no value is the empty string, as in the Go collector.
            Value::Null => visitor.visit_str(""),
            v => match scalar_text(v) {
                Some(s) => visitor.visit_string(s),
                None => Err(self.wrong("a string")),
            },
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // A present key is `Some` even when empty: `grpc:` turns the protocol on with defaults.
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.untag() {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.wrong("nothing")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.untag() {
            Value::Null => visitor.visit_seq(SeqDe { it: [].iter(), i: 0 }),
            Value::Sequence(seq) => visitor.visit_seq(SeqDe { it: seq.iter(), i: 0 }),
            _ => Err(self.wrong("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        static EMPTY: std::sync::OnceLock<Mapping> = std::sync::OnceLock::new();
        match self.untag() {
            Value::Null => visitor.visit_map(MapDe::new(EMPTY.get_or_init(Mapping::new))),
            Value::Mapping(m) => visitor.visit_map(MapDe::new(m)),
            _ => Err(self.wrong("a map of keys to values")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.untag() {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => Err(self.wrong("one of the listed words")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqDe<'a> {
    it: std::slice::Iter<'a, Value>,
    i: usize,
}

impl<'de, 'a> de::SeqAccess<'de> for SeqDe<'a> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.it.next() {
            Some(v) => {
                let i = self.i;
                self.i += 1;
                seed.deserialize(ValueDe(v)).map(Some).map_err(|e| e.prefixed(i.to_string()))
            }
            None => Ok(None),
        }
    }
}

struct MapDe<'a> {
    it: serde_yaml_ng::mapping::Iter<'a>,
    value: Option<&'a Value>,
    key: String,
}

impl<'a> MapDe<'a> {
    fn new(m: &'a Mapping) -> Self {
        MapDe { it: m.iter(), value: None, key: String::new() }
    }
}

impl<'de, 'a> de::MapAccess<'de> for MapDe<'a> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        match self.it.next() {
            Some((k, v)) => {
                self.key = scalar_text(k).unwrap_or_else(|| "?".to_string());
                self.value = Some(v);
                seed.deserialize(ValueDe(k)).map(Some).map_err(|e| e.prefixed(self.key.clone()))
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let v = self.value.take().unwrap_or(&Value::Null);
        seed.deserialize(ValueDe(v)).map_err(|e| e.prefixed(self.key.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        endpoint: String,
        port: u16,
        on: bool,
    }

    #[derive(Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Outer {
        grpc: Option<Inner>,
        http: Option<Inner>,
        list: Vec<Inner>,
    }

    fn yaml(s: &str) -> Value {
        serde_yaml_ng::from_str(s).unwrap()
    }

    #[test]
    fn empty_key_is_present_section() {
        let o: Outer = from_value(&yaml("grpc:\n")).unwrap();
        assert!(o.grpc.is_some());
        assert!(o.http.is_none());
    }

    #[test]
    fn text_scalars_are_loosely_typed() {
        let o: Outer = from_value(&yaml("grpc: {port: '4317', on: 'true', endpoint: 12}")).unwrap();
        let g = o.grpc.unwrap();
        assert_eq!((g.port, g.on, g.endpoint.as_str()), (4317, true, "12"));
    }

    #[test]
    fn unknown_key_has_path_and_expected() {
        let e = from_value::<Outer>(&yaml("list: [{}, {endpint: x}]")).unwrap_err();
        assert_eq!(e.path, vec!["list", "1", "endpint"]);
        match e.kind {
            DeErrorKind::UnknownKey { key, expected } => {
                assert_eq!(key, "endpint");
                assert_eq!(expected, &["endpoint", "port", "on"]);
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn type_errors_have_path() {
        let e = from_value::<Outer>(&yaml("http: {port: big}")).unwrap_err();
        assert_eq!(e.path, vec!["http", "port"]);
        assert!(e.to_string().contains("expected a non-negative integer"), "{e}");
    }
}
