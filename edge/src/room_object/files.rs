//! Files' bytes: uploads stored in the R2 bucket before core records them, and
//! downloads served from it (or, for a text file, from its document). Core decides
//! everything else (see `confab_core::room::files`).

use confab_core::authority::Actor;
use confab_core::model::files::{blob_key, download_headers};
use confab_core::room::files::Download;
use serde_json::Value;
use worker::{HttpMetadata, Request, Response};

use super::{now_ms, RoomObject};
use crate::error::EdgeError;

/// A refused upload's body is still read when it is at most this many times the
/// largest file (see [`RoomObject::upload`]).
const DRAIN_FACTOR: u64 = 4;

/// Binding name of the bucket holding files' bytes (see `wrangler.toml`).
pub const FILES_BINDING: &str = "FILES";

impl RoomObject {
    /// The room's name, as the Worker gave it (blobs are stored under it).
    fn room_name(&self) -> Result<String, EdgeError> {
        self.store()?
            .get("name")?
            .ok_or_else(|| EdgeError::Internal("the room does not know its name yet".into()))
    }

    /// Store the request's body as the file at `path`: checked before the body is read,
    /// hashed and checked whole, stored in the bucket, then recorded. A body that
    /// does not arrive whole, or bytes the bucket does not take, add nothing and are
    /// audited as `file.upload-failed`.
    pub(super) async fn upload(
        &self,
        mut req: Request,
        actor: &Actor,
        path: &str,
        fence: Option<u64>,
    ) -> Result<Value, EdgeError> {
        let declared = req
            .headers()
            .get("Content-Length")?
            .and_then(|v| v.trim().parse::<u64>().ok());
        let checked = self.with_room(|room| {
            let max = room.limits().max_file_bytes;
            (
                room.check_upload(actor, path, declared, fence, now_ms()),
                max,
            )
        })?;
        let path = match checked {
            (Ok(path), _) => path,
            (Err(refused), max) => {
                // Read what was sent before answering: a connection whose request body
                // was left unread is reset, and a client that reuses it loses its next
                // request. Only a body far over the limit is left unread (its sender
                // sees the connection close).
                if declared.is_none_or(|n| n <= max.saturating_mul(DRAIN_FACTOR)) {
                    let _ = req.bytes().await;
                }
                return Err(EdgeError::Op(refused));
            }
        };
        let bytes = match req.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                let reason = format!("the body did not arrive whole: {e}");
                return Err(self.upload_failed(actor, &path, reason).await);
            }
        };
        if declared.is_some_and(|n| n != bytes.len() as u64) {
            let reason = format!(
                "the body was {} bytes of the {} its Content-Length announced",
                bytes.len(),
                declared.unwrap_or_default()
            );
            return Err(self.upload_failed(actor, &path, reason).await);
        }
        let content_type = req.headers().get("Content-Type")?;
        let plan = self
            .with_room(|room| {
                room.prepare_upload(
                    actor,
                    &path,
                    content_type.as_deref(),
                    &bytes,
                    fence,
                    now_ms(),
                )
            })?
            .map_err(EdgeError::Op)?;
        if !plan.stored {
            let key = blob_key(&self.room_name()?, &plan.hash);
            let stored = async {
                self.env
                    .bucket(FILES_BINDING)?
                    .put(key, bytes)
                    .http_metadata(HttpMetadata {
                        content_type: Some(plan.content_type.clone()),
                        ..HttpMetadata::default()
                    })
                    .execute()
                    .await
            }
            .await;
            if let Err(e) = stored {
                let reason = format!("the file store did not take the bytes: {e}");
                return Err(self.upload_failed(actor, &path, reason).await);
            }
        }
        let result = self
            .with_room(|room| room.commit_upload(actor, plan, fence, now_ms()))?
            .map_err(EdgeError::Op)?;
        self.after_op().await?;
        Ok(result)
    }

    /// Store the bytes of files the room wrote itself (`file.write`), so each version
    /// downloads like an upload's. A failure is logged: the file's current text is
    /// its document, so only that version's download is missing.
    pub(super) async fn store_blobs(&self) {
        let Ok(blobs) = self.with_room(|room| room.take_blobs()) else {
            return;
        };
        if blobs.is_empty() {
            return;
        }
        let stored = async {
            let bucket = self.env.bucket(FILES_BINDING)?;
            let name = self.room_name()?;
            for (hash, bytes) in blobs {
                bucket.put(blob_key(&name, &hash), bytes).execute().await?;
            }
            Ok::<(), EdgeError>(())
        }
        .await;
        if let Err(e) = stored {
            worker::console_error!("storing a written file's bytes failed: {e}");
        }
    }

    /// Audit an upload that did not complete, and the error to answer with.
    async fn upload_failed(&self, actor: &Actor, path: &str, reason: String) -> EdgeError {
        let audited = self.with_room(|room| room.upload_failed(actor, path, &reason, now_ms()));
        if audited.is_ok() {
            if let Err(e) = self.after_op().await {
                worker::console_error!("auditing a failed upload: {e}");
            }
        }
        EdgeError::BadRequest(format!("upload of `{path}` failed: {reason}"))
    }

    /// The content of the file at `path` (or its version `hash`).
    pub(super) async fn download(
        &self,
        path: &str,
        hash: Option<&str>,
    ) -> Result<Response, EdgeError> {
        let found = self
            .with_room(|room| room.download(path, hash))?
            .map_err(EdgeError::Op)?;
        match found {
            Download::Text { entry, text } => {
                let mut res = Response::ok(text)?;
                let headers = res.headers_mut();
                headers.set("Content-Type", &with_charset(&entry.content_type))?;
                headers.set("Cache-Control", "no-store")?;
                for (name, value) in download_headers(&entry.content_type, &entry.path) {
                    headers.set(name, &value)?;
                }
                Ok(res)
            }
            Download::Blob { entry, version } => {
                let key = blob_key(&self.room_name()?, &version.hash);
                let object = self
                    .env
                    .bucket(FILES_BINDING)?
                    .get(key)
                    .execute()
                    .await?
                    .ok_or_else(|| {
                        EdgeError::Storage(format!(
                            "the bytes of `{}` ({}) are missing from the file store",
                            entry.path, version.hash
                        ))
                    })?;
                let body = object
                    .body()
                    .ok_or_else(|| EdgeError::Storage("the file store gave no body".into()))?
                    .response_body()?;
                let mut res = Response::from_body(body)?;
                let headers = res.headers_mut();
                headers.set("Content-Type", &version.content_type)?;
                headers.set("Content-Length", &version.size.to_string())?;
                headers.set("ETag", &format!("\"{}\"", version.hash))?;
                // The bytes under a hash never change; the current version may.
                let cache = if hash.is_some() {
                    "private, max-age=31536000, immutable"
                } else {
                    "no-store"
                };
                headers.set("Cache-Control", cache)?;
                for (name, value) in download_headers(&version.content_type, &entry.path) {
                    headers.set(name, &value)?;
                }
                Ok(res)
            }
        }
    }
}

fn with_charset(content_type: &str) -> String {
    if content_type.contains("charset") {
        content_type.to_owned()
    } else {
        format!("{content_type}; charset=utf-8")
    }
}
