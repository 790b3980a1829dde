//! Enums whose values travel as lowercase names (in the room document, on the wire and
//! in JavaScript): one list of variant ⇄ name pairs gives `parse`, `as_str` and
//! serialization, so the three can never disagree. With the `ts` feature the enum's
//! TypeScript type is the union of its wire names.

/// Declare an enum whose variants each have one wire name.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        // The derives come first, so `$meta` may hold `#[cfg_attr(feature = "ts", ts(..))]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* #[cfg_attr(feature = "ts", ts(rename = $text))] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$(Self::$variant,)+];

            /// Every wire name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text,)+];

            /// Parse a wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom($crate::names::unknown(stringify!($name), &s, Self::NAMES))
                })
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use named_enum;

/// "unknown role `root` (expected owner, editor, reviewer or viewer)": the type's name
/// in words, the value, and every name it could have been.
pub(crate) fn unknown(type_name: &str, value: &str, names: &[&str]) -> String {
    let mut noun = String::new();
    for (i, c) in type_name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            noun.push(' ');
        }
        noun.extend(c.to_lowercase());
    }
    let expected = match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    format!("unknown {noun} `{value}` (expected {expected})")
}

#[cfg(test)]
mod tests {
    use crate::model::context::ContextKind;
    use crate::model::TurnStatus;

    #[test]
    fn names_parse_print_and_serialize_alike() {
        for kind in [ContextKind::InProgress, ContextKind::Decision] {
            assert_eq!(ContextKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        assert_eq!(ContextKind::InProgress.as_str(), "in-progress");
        assert_eq!(TurnStatus::parse("Done"), None, "names are exact");
    }
}
