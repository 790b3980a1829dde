//! One Durable Object per person: their notification inbox (core's
//! [`Inbox`](confab_core::authority::inbox::Inbox)), kept while they are offline and
//! sent live to each of their open pages.
//!
//! - Rooms deliver (`/internal/deliver`); so does the app's backend with the server key
//!   (`POST /users/<user>/inbox`), and anyone in development mode.
//! - The person reads and marks read with any valid room token of theirs.
//! - With `CONFAB_INBOX_WEBHOOK` set, every notification is also POSTed there, signed
//!   like room webhooks: that is how an app sends it on by email or chat. A failed
//!   attempt is retried on the alarm with backoff (core's queue, kept in storage).

use std::cell::RefCell;

use confab_core::authority::inbox::{Inbox, InboxCall, NewNotification, Notification};
use confab_core::authority::token::{hex, hmac_sha256};
use confab_core::authority::webhook::{self, redact_url, Attempt};
use confab_core::authority::OpError;
use serde_json::{json, Value};
use worker::{
    durable_object, DurableObject, Env, Fetch, Headers, Method, Request, RequestInit,
    RequestRedirect, Response, Result, State, WebSocket, WebSocketIncomingMessage,
};

use crate::error::EdgeError;
use crate::identity::Identity;
use crate::objects::{self, Answer, LazyStore, INTERNAL};
use crate::sql_store::SqlStore;
use crate::worker_entry::config;

/// Notifications a live page gets with each change (the REST list has them all).
const LIVE_ITEMS: usize = 100;

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// A person's inbox object.
#[durable_object]
pub struct InboxObject {
    state: State,
    env: Env,
    inbox: RefCell<Option<Inbox>>,
    store: LazyStore,
}

impl InboxObject {
    fn with_store<T>(
        &self,
        f: impl FnOnce(&mut SqlStore) -> std::result::Result<T, EdgeError>,
    ) -> std::result::Result<T, EdgeError> {
        self.store.with(&self.state, f)
    }

    fn with_inbox<T>(&self, f: impl FnOnce(&mut Inbox) -> T) -> std::result::Result<T, EdgeError> {
        let mut slot = self.inbox.borrow_mut();
        if slot.is_none() {
            let loaded = match self.with_store(|s| s.get("inbox"))? {
                Some(json) => Inbox::from_json(&json).map_err(EdgeError::Storage)?,
                None => Inbox::default(),
            };
            *slot = Some(loaded);
        }
        Ok(f(slot.as_mut().expect("just loaded")))
    }

    fn save(&self) -> std::result::Result<(), EdgeError> {
        let json = self.with_inbox(|i| i.to_json())?;
        self.with_store(|s| s.put("inbox", &json))
    }

    /// The live message: the newest notifications, the unread count, and what was just
    /// added (pages show an urgent one as a toast).
    fn live(&self, added: Option<&Notification>) -> std::result::Result<Value, EdgeError> {
        let mut list = self.with_inbox(|i| i.list(false))?;
        if let Some(items) = list["notifications"].as_array_mut() {
            items.truncate(LIVE_ITEMS);
        }
        list["type"] = json!("inbox");
        list["added"] = json!(added);
        Ok(list)
    }

    async fn deliver(
        &self,
        new: NewNotification,
        from: Option<Value>,
    ) -> std::result::Result<Value, EdgeError> {
        let kept = self
            .with_inbox(|i| i.deliver(new, from, now_ms()).cloned())?
            .map_err(EdgeError::Op)?;
        if self.webhook().is_some() {
            self.with_inbox(|i| i.queue_forward(&kept.id, now_ms()))?;
        }
        self.save()?;
        objects::broadcast(&self.state, &self.live(Some(&kept))?);
        self.forward_due().await?;
        Ok(json!(kept))
    }

    /// The deployment's inbox webhook, when one is set.
    fn webhook(&self) -> Option<String> {
        self.env
            .var("CONFAB_INBOX_WEBHOOK")
            .ok()
            .map(|v| v.to_string())
            .filter(|u| !u.is_empty())
    }

    /// Forward what is due to the inbox webhook; what fails waits for its retry, and
    /// the alarm is set for the next one. The inbox keeps every notification whatever
    /// the receiver says.
    async fn forward_due(&self) -> std::result::Result<(), EdgeError> {
        let Some(url) = self.webhook() else {
            return Ok(());
        };
        let due = self.with_inbox(|i| i.due_forwards(now_ms()))?;
        if due.is_empty() {
            return Ok(());
        }
        for (notification, attempt) in due {
            let sent_at = now_ms();
            let answer = self.post(&url, &notification, attempt).await;
            let judged =
                self.with_inbox(|i| i.settle_forward(&notification.id, attempt, answer, sent_at))?;
            if let Attempt::Failed {
                error, retry_at, ..
            } = judged
            {
                let next = retry_at.map_or("given up".to_owned(), |at| format!("retry at {at}"));
                worker::console_error!(
                    "inbox webhook, {} attempt {attempt}: {error}; {next}",
                    notification.id
                );
            }
        }
        self.save()?;
        if let Some(next) = self.with_inbox(|i| i.next_forward_at())? {
            self.state
                .storage()
                .set_alarm(next.saturating_sub(now_ms()) as i64)
                .await
                .map_err(|e| EdgeError::Storage(format!("setting the alarm: {e}")))?;
        }
        Ok(())
    }

    /// POST `notification` to `url`, signed, without following redirects: the
    /// receiver's status, or why it could not be reached (its URL redacted).
    async fn post(&self, url: &str, notification: &Notification, attempt: u32) -> webhook::Answer {
        let user = self.store.name(&self.state).ok().flatten();
        let body =
            json!({ "user": user, "notification": notification, "attempt": attempt }).to_string();
        let signature = config(&self.env).ok().and_then(|c| {
            c.secret()
                .ok()
                .map(|s| hex(&hmac_sha256(s.as_bytes(), body.as_bytes())))
        });
        let sent = async {
            let headers = Headers::new();
            headers.set("Content-Type", "application/json")?;
            if let Some(sig) = signature {
                headers.set("X-Confab-Signature", &format!("sha256={sig}"))?;
            }
            let mut init = RequestInit::new();
            init.with_method(Method::Post)
                .with_headers(headers)
                .with_redirect(RequestRedirect::Manual)
                .with_body(Some(body.into()));
            Fetch::Request(Request::new_with_init(url, &init)?)
                .send()
                .await
                .map(|r| r.status_code())
        };
        match sent.await {
            Ok(status) => webhook::Answer::Status(status),
            Err(e) => {
                webhook::Answer::Unreachable(format!("could not reach {}: {e}", redact_url(url)))
            }
        }
    }

    async fn on_internal(&self, mut req: Request) -> std::result::Result<Value, EdgeError> {
        let path = req.path();
        let mut body = objects::body(&mut req).await?;
        match path.strip_prefix(INTERNAL) {
            Some("deliver") => {
                let new: NewNotification = serde_json::from_value(body["notification"].take())
                    .map_err(|e| EdgeError::BadRequest(format!("notification: {e}")))?;
                let from = Some(body["from"].take()).filter(|f| !f.is_null());
                self.deliver(new, from).await
            }
            _ => Err(EdgeError::BadRequest(format!("no internal call {path}"))),
        }
    }

    async fn on_request(
        &self,
        mut req: Request,
        identity: Identity,
    ) -> std::result::Result<Value, EdgeError> {
        let url = req.url()?;
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let rest = match confab_core::authority::rest::route(req.method().as_ref(), url.path())? {
            confab_core::authority::rest::Route::Inbox { rest, .. } => rest,
            _ => return Err(EdgeError::BadRequest("not an inbox path".into())),
        };
        let body = if matches!(req.method(), Method::Get | Method::Head | Method::Delete) {
            None
        } else {
            confab_core::authority::rest::parse_body(&req.bytes().await?, 64 * 1024)?
        };
        match InboxCall::parse(req.method().as_ref(), &rest, &query, body)? {
            InboxCall::List { unread } => self.with_inbox(|i| i.list(unread)),
            InboxCall::Deliver(new) => {
                // People reach each other's inboxes through rooms (a mention); the app's
                // backend sends anything else.
                if matches!(identity, Identity::Token { .. }) {
                    return Err(EdgeError::Op(OpError::forbidden(
                        "notifications come from rooms or from the app's backend (the \
                         server key), not from a person's token",
                    )));
                }
                self.deliver(new, None).await
            }
            InboxCall::Read { ids, all } => {
                let changed = self
                    .with_inbox(|i| i.mark_read(&ids, all))?
                    .map_err(EdgeError::Op)?;
                if changed > 0 {
                    self.save()?;
                    objects::broadcast(&self.state, &self.live(None)?);
                }
                let unread = self.with_inbox(|i| i.unread())?;
                Ok(json!({ "changed": changed, "unread": unread }))
            }
        }
    }
}

impl DurableObject for InboxObject {
    fn new(state: State, env: Env) -> Self {
        InboxObject {
            state,
            env,
            inbox: RefCell::new(None),
            store: LazyStore::default(),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path().starts_with(INTERNAL) {
            let answer = self.on_internal(req).await.map(Answer::Json);
            return objects::respond(&self.state, answer);
        }
        let answer = async {
            let identity = objects::identity(&req)?;
            self.store.remember_name(&self.state, &req)?;
            if objects::is_upgrade(&req)? {
                return Ok(Answer::Feed(self.live(None)?));
            }
            self.on_request(req, identity).await.map(Answer::Json)
        }
        .await;
        objects::respond(&self.state, answer)
    }

    async fn websocket_message(
        &self,
        _ws: WebSocket,
        _message: WebSocketIncomingMessage,
    ) -> Result<()> {
        // The feed only speaks; what a page sends is ignored.
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        objects::closed(&ws);
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        match self.forward_due().await {
            Ok(()) => Response::ok("done"),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}
