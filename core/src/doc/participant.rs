//! Who is in a room: a person or an agent, as the room document records them.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use yrs::Any;

use crate::doc::read::any_str;
use crate::names::named_enum;

named_enum! {
    /// Whether a participant is a person or an AI agent.
    pub enum ParticipantKind {
        /// A human.
        Person = "person",
        /// An AI agent.
        Agent = "agent",
    }
}

/// Someone in the room: a person or an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ParticipantInfo"))]
pub struct Participant {
    /// Stable id chosen by the app.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Person or agent.
    pub kind: ParticipantKind,
}

impl Participant {
    /// A person.
    pub fn person(id: impl Into<String>, name: impl Into<String>) -> Self {
        Participant {
            id: id.into(),
            name: name.into(),
            kind: ParticipantKind::Person,
        }
    }

    /// An agent.
    pub fn agent(id: impl Into<String>, name: impl Into<String>) -> Self {
        Participant {
            id: id.into(),
            name: name.into(),
            kind: ParticipantKind::Agent,
        }
    }

    pub(crate) fn to_any(&self) -> Any {
        let mut m = HashMap::new();
        m.insert("id".to_owned(), Any::from(self.id.as_str()));
        m.insert("name".to_owned(), Any::from(self.name.as_str()));
        m.insert("kind".to_owned(), Any::from(self.kind.as_str()));
        Any::Map(Arc::new(m))
    }

    pub(crate) fn from_any(any: &Any) -> Option<Self> {
        let Any::Map(m) = any else { return None };
        Some(Participant {
            id: any_str(m.get("id")?)?,
            name: any_str(m.get("name")?)?,
            kind: ParticipantKind::parse(&any_str(m.get("kind")?)?)?,
        })
    }
}
