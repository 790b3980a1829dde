//! Typed reads over `yrs` values: the accessors every layer uses to read the room
//! document's maps without matching on `Out` and `Any` by hand.

use yrs::{Any, GetString, Map, MapRef, Out, ReadTxn};

/// A string value, if `any` is one.
pub fn any_str(any: &Any) -> Option<String> {
    match any {
        Any::String(s) => Some(s.to_string()),
        _ => None,
    }
}

/// `map[key]` as a string (a plain string or a text's contents).
pub fn get_str<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<String> {
    match map.get(txn, key)? {
        Out::Any(any) => any_str(&any),
        Out::YText(t) => Some(t.get_string(txn)),
        _ => None,
    }
}

/// `map[key]` as a number.
pub fn get_num<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<f64> {
    match map.get(txn, key)? {
        Out::Any(Any::Number(n)) => n.as_f64(),
        _ => None,
    }
}
