//! Enums whose values travel as lowercase names (in the room document, on the wire and
//! in JavaScript): one list of variant ⇄ name pairs gives `parse`, `as_str` and
//! serialization, so the three can never disagree.

/// Declare an enum whose variants each have one wire name.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
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
    };
}

pub(crate) use named_enum;

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
