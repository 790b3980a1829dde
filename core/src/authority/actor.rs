//! Who is asking: a participant with their effective role in the room.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::locks::Holder;
use super::token::Role;
use crate::doc::{Participant, ParticipantKind};

/// The user id of anyone connecting without a token in development mode.
pub const ANONYMOUS: &str = "anonymous";
/// The user id of the app's backend calling with the server API key.
pub const SERVER: &str = "server";

/// Who is asking: a participant with their effective role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Person or agent.
    pub kind: ParticipantKind,
    /// Effective role in this room.
    pub role: Role,
}

impl Actor {
    /// The app's backend, calling with the server API key: an owner.
    pub fn server() -> Self {
        Actor {
            id: SERVER.into(),
            name: SERVER.into(),
            kind: ParticipantKind::Agent,
            role: Role::Owner,
        }
    }

    /// True for [`Actor::anonymous`]: no token vouches for who this is.
    pub fn is_anonymous(&self) -> bool {
        self.id == ANONYMOUS
    }

    /// Anyone connecting without a token in development mode: an editor.
    pub fn anonymous() -> Self {
        Actor {
            id: ANONYMOUS.into(),
            name: ANONYMOUS.into(),
            kind: ParticipantKind::Person,
            role: Role::Editor,
        }
    }

    /// The participant part.
    pub fn participant(&self) -> Participant {
        Participant {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind,
        }
    }

    pub(crate) fn holder(&self) -> Holder {
        Holder {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind,
        }
    }

    pub(crate) fn summary(&self) -> Value {
        json!({ "id": self.id, "name": self.name, "kind": self.kind.as_str() })
    }
}
