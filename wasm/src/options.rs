//! The shapes JavaScript passes in: room options, context drafts, merge summaries,
//! message roles. Each is parsed once here into core's types.

use serde::Deserialize;
use wasm_bindgen::JsValue;

use crate::errors::type_error;
use crate::{ContextDraft, ContextKind, MergeSummary, Role};

#[derive(Deserialize)]
pub(crate) struct UserOptions {
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) kind: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ContextDraftInput {
    kind: String,
    text: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    refs: Vec<String>,
}

impl ContextDraftInput {
    pub(crate) fn parse(value: JsValue) -> Result<ContextDraft, JsValue> {
        let input: ContextDraftInput = serde_wasm_bindgen::from_value(value)
            .map_err(|e| type_error(&format!("invalid context entry: {e}")))?;
        let kind = ContextKind::parse(&input.kind).ok_or_else(|| {
            type_error(&format!(
                "invalid context entry: kind must be convention, decision, in-progress, resolved or knowledge, got {:?}",
                input.kind
            ))
        })?;
        Ok(ContextDraft {
            kind,
            text: input.text,
            tags: input.tags,
            refs: input.refs,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MergeSummaryInput {
    summary: String,
    #[serde(default)]
    key_findings: Vec<String>,
    #[serde(default)]
    recommendations: Vec<String>,
    #[serde(default)]
    action_items: Vec<String>,
}

/// A merge summary from JavaScript.
pub(crate) fn parse_merge_summary(value: JsValue) -> Result<MergeSummary, JsValue> {
    let input: MergeSummaryInput = serde_wasm_bindgen::from_value(value)
        .map_err(|e| type_error(&format!("invalid merge summary: {e}")))?;
    Ok(MergeSummary {
        summary: input.summary,
        key_findings: input.key_findings,
        recommendations: input.recommendations,
        action_items: input.action_items,
    })
}

#[derive(Deserialize)]
pub(crate) struct PlainOptions {
    pub(crate) url: String,
    pub(crate) room: String,
    pub(crate) user: UserOptions,
    #[serde(default, rename = "clientId")]
    pub(crate) client_id: Option<f64>,
    #[serde(default)]
    pub(crate) token: Option<String>,
    #[serde(default, rename = "heartbeatTimeoutMs")]
    pub(crate) heartbeat_timeout_ms: Option<f64>,
    #[serde(default)]
    pub(crate) guest: bool,
}

/// A message role from JavaScript, `default` when omitted.
pub(crate) fn parse_role(role: Option<&str>, default: Role) -> Result<Role, JsValue> {
    match role {
        None => Ok(default),
        Some(r) => Role::parse(r).ok_or_else(|| {
            type_error(&format!(
                "role must be \"user\", \"assistant\", \"system\" or \"tool\", got {r:?}"
            ))
        }),
    }
}
