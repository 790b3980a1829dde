//! Webhook delivery: the queue lives in storage (written with the event by
//! [`RoomObject::settle`]); the alarm posts what is due, signed, and stores the outcome.

use confab_core::authority::webhook::{self, Answer, Attempt};
use serde_json::Value;
use worker::{Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

use super::{now_ms, RoomObject};
use crate::error::EdgeError;

impl RoomObject {
    /// Deliver due webhooks: signed POSTs; failures retried with backoff, each attempt
    /// audited.
    pub(super) async fn deliver_webhooks(&self) -> Result<(), EdgeError> {
        let due = self.store()?.due_deliveries(now_ms())?;
        for (id, hook_id, body, attempts) in due {
            let hook = self
                .room
                .borrow()
                .as_ref()
                .and_then(|r| r.authority().hook(&hook_id).cloned());
            let Some(hook) = hook else {
                // The hook was deleted: drop its queue.
                self.store()?.settle_delivery(id, attempts, None)?;
                continue;
            };
            // The body was written by `record`: one that is not JSON with an id is a
            // corrupt row, not something to post.
            let delivery = serde_json::from_str::<Value>(&body)
                .ok()
                .map(|b| b["id"].clone())
                .filter(Value::is_string)
                .ok_or_else(|| {
                    EdgeError::Storage(format!("queued webhook delivery {id} has no id"))
                })?;
            let attempt = attempts + 1;
            let sent_at = now_ms();
            let allowed = self
                .room
                .borrow()
                .as_ref()
                .map_or(Ok(()), |r| r.authority().check_hook_target(&hook));
            let answer = match allowed {
                Ok(()) => {
                    let signature = webhook::signature(&hook.secret, sent_at, &body);
                    post(&hook.url, &body, &signature, &hook_id).await
                }
                Err(refused) => Answer::Refused(refused),
            };
            let judged = Attempt::judge(answer, attempt, sent_at);
            self.store()?
                .settle_delivery(id, attempt, judged.retry_at())?;
            let event =
                confab_core::authority::delivery_event(&hook, delivery, attempt, &judged, sent_at);
            self.with_room(|room| room.record_event(event))?;
        }
        Ok(())
    }
}

/// POST a webhook body without following redirects (the signature must reach only the
/// subscribed host; a 3xx comes back as the answer): the receiver's status, or why it
/// could not be reached (its URL redacted).
async fn post(url: &str, body: &str, signature: &str, hook: &str) -> Answer {
    let sent = async {
        let headers = Headers::new();
        headers.set("Content-Type", "application/json")?;
        headers.set("Confab-Signature", signature)?;
        headers.set("Confab-Webhook", hook)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual)
            .with_body(Some(wasm_bindgen::JsValue::from_str(body)));
        let req = Request::new_with_init(url, &init)?;
        Fetch::Request(req).send().await.map(|r| r.status_code())
    };
    match sent.await {
        Ok(status) => Answer::Status(status),
        Err(e) => Answer::Unreachable(format!("could not reach {}: {e}", webhook::redact_url(url))),
    }
}
