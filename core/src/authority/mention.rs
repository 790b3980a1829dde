//! @mentions: who a message names, among the people a room knows (its members, everyone
//! it has seen present, everyone present now). A mention is `@` at the start of a word
//! followed by someone's display name or id, matched without regard to case, the
//! longest name first, and ending where a word ends ("@Ada," names Ada; "@Adam" does
//! not).

use serde::{Deserialize, Serialize};

/// Someone a message may mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// The ids of the people `text` mentions among `known`, each once, in order of first
/// mention.
pub fn mentioned(text: &str, known: &[Known]) -> Vec<String> {
    // Longest first, so "@Ada Lovelace" is Ada Lovelace and not Ada.
    let mut names: Vec<(String, &str)> = known
        .iter()
        .flat_map(|k| {
            [
                (k.name.to_lowercase(), k.id.as_str()),
                (k.id.to_lowercase(), k.id.as_str()),
            ]
        })
        .filter(|(n, _)| !n.is_empty())
        .collect();
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let lower = text.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    for (at, _) in lower.match_indices('@') {
        let starts_word = lower[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '@');
        if !starts_word {
            continue;
        }
        let after = &lower[at + 1..];
        let matches = |name: &str| {
            after.starts_with(name)
                && after[name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '-')
        };
        // The longest name that matches; everyone who goes by it (two people with one
        // name are both told: better twice than to the wrong one only).
        let Some((hit, _)) = names.iter().find(|(name, _)| matches(name)) else {
            continue;
        };
        for (_, id) in names.iter().filter(|(name, _)| name == hit) {
            if !out.iter().any(|o| o == id) {
                out.push((*id).to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<Known> {
        [
            ("ada", "Ada"),
            ("ada-l", "Ada Lovelace"),
            ("g1", "Guest 123"),
        ]
        .into_iter()
        .map(|(id, name)| Known {
            id: id.into(),
            name: name.into(),
        })
        .collect()
    }

    #[test]
    fn names_ids_and_word_ends_decide_who_is_mentioned() {
        let k = known();
        assert_eq!(mentioned("hi @Ada, look", &k), ["ada"]);
        assert_eq!(
            mentioned("@ada lovelace and @guest 123!", &k),
            ["ada-l", "g1"]
        );
        assert_eq!(mentioned("@g1 @G1 again", &k), ["g1"]);
        assert!(mentioned("@Adam is not Ada", &k).is_empty());
        assert!(
            mentioned("mail ada@Ada", &k).is_empty(),
            "not at a word start"
        );
        assert!(mentioned("no mention here", &k).is_empty());
        let mut twins = known();
        twins.push(Known {
            id: "ada-2".into(),
            name: "Ada".into(),
        });
        assert_eq!(
            mentioned("@Ada", &twins),
            ["ada", "ada-2"],
            "both who go by it"
        );
    }
}
