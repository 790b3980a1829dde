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
    /// A development-mode guest: no token vouches for the id and name; the socket
    /// claimed them ([`super::guest`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
}

impl Actor {
    /// The app's backend, calling with the server API key: an owner.
    pub fn server() -> Self {
        Actor {
            id: SERVER.into(),
            name: SERVER.into(),
            kind: ParticipantKind::Agent,
            role: Role::Owner,
            guest: false,
        }
    }

    /// The upstream connection of a fan-out object (see [`crate::room::fanout`]): it
    /// watches the room for many viewers, and may not change it.
    pub fn fanout(name: &str) -> Self {
        Actor {
            id: format!("fanout:{name}"),
            name: format!("Fan-out {name}"),
            kind: ParticipantKind::Agent,
            role: Role::Viewer,
            guest: false,
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
            guest: false,
        }
    }

    /// True when a token (or the server key) vouches for who this is: not an anonymous
    /// caller, nor a guest who named themselves.
    pub fn verified(&self) -> bool {
        !self.is_anonymous() && !self.guest
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
