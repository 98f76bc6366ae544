//! An attribute list with pcommon.Map's `Put*` semantics: putting a key that is there replaces
//! its value in place (so the order is that of first insertion), as the Go translator relies on.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Attrs(Vec<KeyValue>);

fn value(v: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}

impl Attrs {
    pub fn with_capacity(n: usize) -> Attrs {
        Attrs(Vec::with_capacity(n))
    }

    pub fn into_vec(self) -> Vec<KeyValue> {
        self.0
    }

    pub fn put(&mut self, key: &str, v: any_value::Value) {
        match self.0.iter_mut().find(|kv| kv.key == key) {
            Some(kv) => kv.value = value(v),
            None => self.0.push(KeyValue { key: key.to_string(), value: value(v), ..Default::default() }),
        }
    }

    pub fn put_str(&mut self, key: &str, v: &str) {
        self.put(key, any_value::Value::StringValue(v.to_string()));
    }

    pub fn put_opt_str(&mut self, key: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.put_str(key, v);
        }
    }

    pub fn put_opt_bool(&mut self, key: &str, v: Option<bool>) {
        if let Some(v) = v {
            self.put(key, any_value::Value::BoolValue(v));
        }
    }

    pub fn put_opt_int(&mut self, key: &str, v: Option<i64>) {
        if let Some(v) = v {
            self.put(key, any_value::Value::IntValue(v));
        }
    }

    /// A new empty list under `key` (replacing any value).
    pub fn put_empty_list(&mut self, key: &str) {
        self.put(key, any_value::Value::ArrayValue(ArrayValue::default()));
    }

    /// Appends a string to the list under `key`, making the list when the key holds none
    /// (aws.go `addStringSlice`).
    pub fn append_str(&mut self, key: &str, v: &str) {
        let item = AnyValue { value: Some(any_value::Value::StringValue(v.to_string())) };
        if let Some(kv) = self.0.iter_mut().find(|kv| kv.key == key) {
            if let Some(AnyValue { value: Some(any_value::Value::ArrayValue(a)) }) = kv.value.as_mut() {
                a.values.push(item);
                return;
            }
        }
        self.put(key, any_value::Value::ArrayValue(ArrayValue { values: vec![item] }));
    }
}
