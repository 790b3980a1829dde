//! The room's files: uploads in two steps around the edge's object store, the file
//! tree's operations, and their rules (roles, `path:` leases with fencing, sizes, the
//! room's quota, names). The tree itself is [`crate::model::files`].
//!
//! An upload is [`Room::prepare_upload`] (checked, hashed, nothing written), then the
//! edge stores the bytes under the plan's hash, then [`Room::commit_upload`] (checked
//! again, since others wrote meanwhile) writes the entry: others see a file only once
//! its bytes are stored. [`Room::upload_failed`] audits one that never completed.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::*;
use crate::authority::op::{FileListArgs, FileMoveArgs, FileWriteArgs, PathArgs};
use crate::authority::token::{hex, Role};
use crate::authority::{Actor, Authority, Op, OpCode, OpError};
use crate::model::files::{
    file_name, guess_type, is_text_type, normalize_path, parent_of, FileAuthor, FileEntry,
    FileVersion, MAX_VERSIONS,
};

/// An upload checked and hashed, waiting for its bytes to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPlan {
    /// The file's path, normalized.
    pub path: String,
    /// Its media type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, lowercase hex: the blob's name in the object store.
    pub hash: String,
    /// The bytes as text, when it is a text file small enough to open as a document.
    pub text: Option<String>,
    /// The room already keeps these bytes (an earlier upload): nothing to store.
    pub stored: bool,
}

/// What a download serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Download {
    /// A text file's current text (its document).
    Text {
        /// The entry.
        entry: FileEntry,
        /// The text.
        text: String,
    },
    /// Bytes kept in the object store under this hash.
    Blob {
        /// The entry.
        entry: FileEntry,
        /// The content asked for.
        version: FileVersion,
    },
}

fn path_arg(what: &str, path: &str) -> std::result::Result<String, OpError> {
    normalize_path(path).map_err(|why| OpError::invalid(format!("{what}: {why}")))
}

impl Room {
    /// Check an upload of `declared` bytes (if the request says) before its body is
    /// read: role, name, size, and the leases on its path.
    pub fn check_upload(
        &mut self,
        actor: &Actor,
        path: &str,
        declared: Option<u64>,
        fence: Option<u64>,
        now_ms: u64,
    ) -> std::result::Result<String, OpError> {
        Authority::require(actor, "file upload", Role::Editor)?;
        let path = path_arg("file upload", path)?;
        if let Some(size) = declared {
            self.check_file_size(&path, size)?;
        }
        self.check_path_write(actor, &path, false, fence, now_ms)?;
        self.check_not_folder(&path)?;
        Ok(path)
    }

    /// Hash an upload's bytes and check it whole (see [`Room::check_upload`], and the
    /// room's quota). Nothing is written.
    pub fn prepare_upload(
        &mut self,
        actor: &Actor,
        path: &str,
        content_type: Option<&str>,
        bytes: &[u8],
        fence: Option<u64>,
        now_ms: u64,
    ) -> std::result::Result<UploadPlan, OpError> {
        let path = self.check_upload(actor, path, Some(bytes.len() as u64), fence, now_ms)?;
        let hash = hex(&Sha256::digest(bytes));
        let content_type = match content_type.map(str::trim) {
            Some(t) if !t.is_empty() && t != "application/octet-stream" => t.to_owned(),
            _ => guess_type(&path).to_owned(),
        };
        let size = bytes.len() as u64;
        let stored = self.stored_hashes().contains_key(&hash);
        if !stored {
            self.check_quota(size)?;
        }
        let text = (is_text_type(&content_type, &path) && size <= self.limits.max_text_file_bytes)
            .then(|| std::str::from_utf8(bytes).ok().map(str::to_owned))
            .flatten();
        Ok(UploadPlan {
            path,
            content_type,
            size,
            hash,
            text,
            stored,
        })
    }

    /// Record an upload whose bytes are stored: its entry (and, for a text file, its
    /// document) is written and relayed, and `file.added` or `file.updated` raised.
    pub fn commit_upload(
        &mut self,
        actor: &Actor,
        plan: UploadPlan,
        fence: Option<u64>,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        self.clock.set(now_ms);
        // Others may have written since the plan was made.
        self.check_path_write(actor, &plan.path, false, fence, now_ms)?;
        self.check_not_folder(&plan.path)?;
        if !self.stored_hashes().contains_key(&plan.hash) {
            self.check_quota(plan.size)?;
        }
        let entry = self.write_file_entry(actor, &plan, now_ms)?;
        self.relay_own_writes(actor, now_ms);
        Ok(json!({ "file": entry }))
    }

    /// Audit an upload that did not complete (the body was cut off, or storing it
    /// failed): nothing was added.
    pub fn upload_failed(&mut self, actor: &Actor, path: &str, reason: &str, now_ms: u64) {
        self.clock.set(now_ms);
        self.event(
            EventKind::FileUploadFailed,
            Some(actor),
            Some(path),
            json!({ "path": path.trim_start_matches('/'), "reason": reason }),
        );
    }

    /// Bytes of files the room wrote itself since the last call, by hash: the edge
    /// stores each in the object store (so every version can be downloaded).
    pub fn take_blobs(&mut self) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut self.blobs)
    }

    /// What downloading `path` (its current content, or the version with `hash`)
    /// serves, for anyone who may read the room.
    pub fn download(
        &self,
        path: &str,
        hash: Option<&str>,
    ) -> std::result::Result<Download, OpError> {
        let path = path_arg("file download", path)?;
        let reader = self.reader();
        let entry = reader
            .file_entry(&path)
            .filter(|e| !e.folder)
            .ok_or_else(|| OpError::not_found(format!("no file at `{path}`")))?;
        if let Some(hash) = hash {
            let version = entry
                .versions
                .iter()
                .rev()
                .find(|v| v.hash == hash)
                .cloned()
                .ok_or_else(|| {
                    OpError::not_found(format!("`{path}` never had content with hash {hash}"))
                })?;
            return Ok(Download::Blob { entry, version });
        }
        if !entry.live() {
            return Err(OpError::not_found(format!(
                "`{path}` was deleted; restore it, or ask for a version by its hash"
            )));
        }
        if let Some(doc) = &entry.doc {
            let text = reader
                .document_text(doc)
                .map_err(|e| OpError::invalid(e.to_string()))?;
            return Ok(Download::Text { entry, text });
        }
        let version = entry
            .versions
            .last()
            .cloned()
            .ok_or_else(|| OpError::not_found(format!("`{path}` has no content")))?;
        Ok(Download::Blob { entry, version })
    }

    /// The file operations (`file.*`, `folder.create`).
    pub(super) fn file_op(
        &mut self,
        actor: &Actor,
        op: Op,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let name = op.name();
        if !op.reads_only() {
            Authority::require(actor, name, Role::Editor)?;
        }
        let result = match op {
            Op::FileList(a) => return self.list_files(a),
            Op::FileGet(a) => return self.get_file(&a.path),
            Op::FileWrite(a) => self.write_file(actor, a, now_ms)?,
            Op::FileMove(a) => self.move_path(actor, a, now_ms)?,
            Op::FileDelete(a) => self.delete_path(actor, a, now_ms)?,
            Op::FileRestore(a) => self.restore_path(actor, a, now_ms)?,
            Op::FolderCreate(a) => self.create_folder(actor, a, now_ms)?,
            other => {
                return Err(OpError::invalid(format!(
                    "{} is not a file operation",
                    other.name()
                )))
            }
        };
        self.relay_own_writes(actor, now_ms);
        Ok(result)
    }

    fn list_files(&self, a: FileListArgs) -> std::result::Result<Value, OpError> {
        let prefix = match a.prefix.as_deref() {
            None | Some("") | Some("/") => String::new(),
            Some(p) => path_arg("file.list", p)?,
        };
        let files: Vec<FileEntry> = self
            .reader()
            .file_entries()
            .into_iter()
            .filter(|e| e.within(&prefix) && (e.live() || a.deleted == Some(true)))
            .collect();
        Ok(json!({ "files": files }))
    }

    fn get_file(&self, path: &str) -> std::result::Result<Value, OpError> {
        let path = path_arg("file.get", path)?;
        let reader = self.reader();
        let entry = reader
            .file_entry(&path)
            .ok_or_else(|| OpError::not_found(format!("no file or folder at `{path}`")))?;
        let mut out = json!({ "file": entry });
        if let (Some(doc), true) = (&entry.doc, entry.live()) {
            out["text"] = json!(reader
                .document_text(doc)
                .map_err(|e| OpError::invalid(e.to_string()))?);
        }
        Ok(out)
    }

    fn write_file(
        &mut self,
        actor: &Actor,
        a: FileWriteArgs,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let path = path_arg("file.write", &a.path)?;
        let size = a.text.len() as u64;
        self.check_file_size(&path, size)?;
        self.check_path_write(actor, &path, false, a.fence, now_ms)?;
        self.check_not_folder(&path)?;
        if size > self.limits.max_text_file_bytes {
            return Err(OpError::new(
                OpCode::FileTooLarge,
                format!(
                    "file.write: `{path}` is {size} bytes; text files written as text are at most {} bytes (upload bigger ones)",
                    self.limits.max_text_file_bytes
                ),
            ));
        }
        let hash = hex(&Sha256::digest(a.text.as_bytes()));
        if !self.stored_hashes().contains_key(&hash) {
            self.check_quota(size)?;
        }
        let content_type = a
            .content_type
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| match guess_type(&path) {
                "application/octet-stream" => "text/plain".to_owned(),
                t => t.to_owned(),
            });
        let stored = self.stored_hashes().contains_key(&hash);
        let plan = UploadPlan {
            path,
            content_type,
            size,
            hash,
            text: Some(a.text),
            stored,
        };
        let entry = self.write_file_entry(actor, &plan, now_ms)?;
        if !stored {
            let text = plan.text.unwrap_or_default();
            self.blobs.push((plan.hash, text.into_bytes()));
        }
        Ok(json!({ "file": entry }))
    }

    /// Write `plan`'s entry: a new version of the file at its path (a text file's
    /// document created or its text replaced), the folders above it created.
    fn write_file_entry(
        &mut self,
        actor: &Actor,
        plan: &UploadPlan,
        now_ms: u64,
    ) -> std::result::Result<FileEntry, OpError> {
        let existing = self.reader().file_entry(&plan.path);
        self.check_room_for(&plan.path, existing.is_none())?;
        let who = actor.participant();
        let author = FileAuthor::from(&who);
        let version = FileVersion {
            hash: plan.hash.clone(),
            size: plan.size,
            content_type: plan.content_type.clone(),
            author: who.id.clone(),
            at: now_ms,
        };
        let (created_at, mut versions, mut doc) = match &existing {
            Some(e) => (e.created_at, e.versions.clone(), e.doc.clone()),
            None => (now_ms, Vec::new(), None),
        };
        versions.push(version);
        if versions.len() > MAX_VERSIONS {
            versions.drain(..versions.len() - MAX_VERSIONS);
        }
        let writer = self.writer(now_ms);
        match &plan.text {
            Some(text) => {
                let id = match doc.clone() {
                    Some(id) => id,
                    None => writer
                        .create_document(None, file_name(&plan.path), now_ms)
                        .map_err(|e| OpError::invalid(e.to_string()))?,
                };
                let len = writer
                    .document_text(&id)
                    .map_err(|e| OpError::invalid(e.to_string()))?
                    .encode_utf16()
                    .count() as u32;
                writer
                    .replace_text(&id, 0, len, text)
                    .map_err(|e| OpError::invalid(e.to_string()))?;
                doc = Some(id);
            }
            // Binary content: the file no longer reads from its old document.
            None => doc = None,
        }
        let entry = FileEntry {
            path: plan.path.clone(),
            folder: false,
            size: plan.size,
            content_type: plan.content_type.clone(),
            hash: plan.hash.clone(),
            doc,
            author,
            created_at,
            updated_at: now_ms,
            deleted_at: None,
            deleted_by: None,
            versions,
        };
        let mut entries = self.missing_folders(parent_of(&plan.path), &who, now_ms);
        entries.push(entry.clone());
        self.writer(now_ms)
            .put_file_entries(&entries, &[])
            .map_err(|e| OpError::invalid(e.to_string()))?;
        let kind = if existing.as_ref().is_some_and(FileEntry::live) {
            EventKind::FileUpdated
        } else {
            EventKind::FileAdded
        };
        self.event(
            kind,
            Some(actor),
            Some(&entry.path),
            json!({ "path": entry.path, "size": entry.size, "type": entry.content_type, "hash": entry.hash }),
        );
        Ok(entry)
    }

    fn move_path(
        &mut self,
        actor: &Actor,
        a: FileMoveArgs,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let from = path_arg("file.move: from", &a.from)?;
        let to = path_arg("file.move: to", &a.to)?;
        let reader = self.reader();
        let entry = reader
            .file_entry(&from)
            .filter(FileEntry::live)
            .ok_or_else(|| OpError::not_found(format!("file.move: nothing at `{from}`")))?;
        if to == from || (entry.folder && crate::model::files::within(&to, &from)) {
            return Err(OpError::invalid(format!(
                "file.move: `{from}` cannot move into itself (`{to}`)"
            )));
        }
        if reader.file_entry(&to).is_some_and(|e| e.live()) {
            return Err(OpError::conflict(format!(
                "file.move: `{to}` exists; delete or move it first"
            )));
        }
        self.check_path_write(actor, &from, entry.folder, a.fence, now_ms)?;
        self.check_path_write(actor, &to, entry.folder, a.fence, now_ms)?;
        let moving: Vec<FileEntry> = reader
            .file_entries()
            .into_iter()
            .filter(|e| e.live() && e.within(&from))
            .collect();
        let who = actor.participant();
        let mut entries = self.missing_folders(parent_of(&to), &who, now_ms);
        let mut removed = Vec::new();
        for e in &moving {
            let path = format!("{to}{}", &e.path[from.len()..]);
            if reader.file_entry(&path).is_some_and(|x| x.live()) {
                return Err(OpError::conflict(format!("file.move: `{path}` exists")));
            }
            removed.push(e.path.clone());
            entries.push(FileEntry {
                path,
                updated_at: now_ms,
                ..e.clone()
            });
        }
        self.writer(now_ms)
            .put_file_entries(&entries, &removed)
            .map_err(|e| OpError::invalid(e.to_string()))?;
        // A renamed text file's document takes its new name (its tab follows).
        for e in &entries {
            if let Some(doc) = &e.doc {
                let name = file_name(&e.path).to_owned();
                self.writer(now_ms)
                    .set_document_title(doc, &name)
                    .map_err(|e| OpError::invalid(e.to_string()))?;
            }
        }
        // The index drops the old paths (a removed key is not in the update it reads).
        for e in moving.iter().chain(&entries) {
            self.note_search_item(format!("file:{}", e.path), actor, now_ms);
            if let Some(doc) = &e.doc {
                self.note_search_item(format!("doc:{doc}"), actor, now_ms);
            }
        }
        self.event(
            EventKind::FileMoved,
            Some(actor),
            Some(&to),
            json!({ "from": from, "to": to, "folder": entry.folder, "entries": moving.len() }),
        );
        Ok(json!({ "from": from, "to": to, "moved": moving.len() }))
    }

    fn delete_path(
        &mut self,
        actor: &Actor,
        a: PathArgs,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let path = path_arg("file.delete", &a.path)?;
        let reader = self.reader();
        let entry = reader
            .file_entry(&path)
            .filter(FileEntry::live)
            .ok_or_else(|| OpError::not_found(format!("file.delete: nothing at `{path}`")))?;
        self.check_path_write(actor, &path, entry.folder, a.fence, now_ms)?;
        let by = FileAuthor::from(&actor.participant());
        let gone: Vec<FileEntry> = reader
            .file_entries()
            .into_iter()
            .filter(|e| e.live() && e.within(&path))
            .map(|e| FileEntry {
                deleted_at: Some(now_ms),
                deleted_by: Some(by.clone()),
                ..e
            })
            .collect();
        self.writer(now_ms)
            .put_file_entries(&gone, &[])
            .map_err(|e| OpError::invalid(e.to_string()))?;
        self.note_documents(&gone, actor, now_ms);
        self.event(
            EventKind::FileDeleted,
            Some(actor),
            Some(&path),
            json!({ "path": path, "folder": entry.folder, "entries": gone.len() }),
        );
        Ok(json!({ "deleted": path, "entries": gone.len() }))
    }

    fn restore_path(
        &mut self,
        actor: &Actor,
        a: PathArgs,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let path = path_arg("file.restore", &a.path)?;
        let reader = self.reader();
        let entry = reader
            .file_entry(&path)
            .ok_or_else(|| OpError::not_found(format!("file.restore: nothing was at `{path}`")))?;
        let Some(deleted_at) = entry.deleted_at else {
            return Err(OpError::conflict(format!(
                "file.restore: `{path}` is not deleted"
            )));
        };
        self.check_path_write(actor, &path, entry.folder, a.fence, now_ms)?;
        // What went with it (the same deletion), not what was deleted before.
        let back: Vec<FileEntry> = reader
            .file_entries()
            .into_iter()
            .filter(|e| e.within(&path) && e.deleted_at == Some(deleted_at))
            .map(|e| FileEntry {
                deleted_at: None,
                deleted_by: None,
                updated_at: now_ms,
                ..e
            })
            .collect();
        let mut entries = self.missing_folders(parent_of(&path), &actor.participant(), now_ms);
        entries.extend(back.iter().cloned());
        self.writer(now_ms)
            .put_file_entries(&entries, &[])
            .map_err(|e| OpError::invalid(e.to_string()))?;
        self.note_documents(&back, actor, now_ms);
        self.event(
            EventKind::FileRestored,
            Some(actor),
            Some(&path),
            json!({ "path": path, "folder": entry.folder, "entries": back.len() }),
        );
        Ok(json!({ "restored": path, "entries": back.len() }))
    }

    fn create_folder(
        &mut self,
        actor: &Actor,
        a: PathArgs,
        now_ms: u64,
    ) -> std::result::Result<Value, OpError> {
        let path = path_arg("folder.create", &a.path)?;
        if let Some(e) = self.reader().file_entry(&path).filter(FileEntry::live) {
            return if e.folder {
                Ok(json!({ "folder": e, "created": false }))
            } else {
                Err(OpError::conflict(format!(
                    "folder.create: `{path}` is a file"
                )))
            };
        }
        self.check_path_write(actor, &path, true, a.fence, now_ms)?;
        let entries = self.missing_folders(&path, &actor.participant(), now_ms);
        self.check_room_for(&path, true)?;
        self.writer(now_ms)
            .put_file_entries(&entries, &[])
            .map_err(|e| OpError::invalid(e.to_string()))?;
        self.event(
            EventKind::FolderCreated,
            Some(actor),
            Some(&path),
            json!({ "path": path }),
        );
        let folder = entries.last().cloned();
        Ok(json!({ "folder": folder, "created": true }))
    }

    /// The index reads these text files' documents again (a deleted file's text is not
    /// found; a restored one's is).
    fn note_documents(&mut self, entries: &[FileEntry], actor: &Actor, now_ms: u64) {
        for doc in entries.iter().filter_map(|e| e.doc.as_ref()) {
            self.note_search_item(format!("doc:{doc}"), actor, now_ms);
        }
    }

    /// Folder entries for `dir` and each folder above it that has no live entry.
    fn missing_folders(
        &self,
        dir: &str,
        who: &crate::doc::Participant,
        now_ms: u64,
    ) -> Vec<FileEntry> {
        if dir.is_empty() {
            return Vec::new();
        }
        let reader = self.reader();
        let mut out = Vec::new();
        let mut at = String::new();
        for name in dir.split('/') {
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(name);
            if reader.file_entry(&at).is_some_and(|e| e.live()) {
                continue;
            }
            out.push(FileEntry {
                path: at.clone(),
                folder: true,
                size: 0,
                content_type: String::new(),
                hash: String::new(),
                doc: None,
                author: FileAuthor::from(who),
                created_at: now_ms,
                updated_at: now_ms,
                deleted_at: None,
                deleted_by: None,
                versions: Vec::new(),
            });
        }
        out
    }

    /// Refuse a write at `path` while someone else holds a lease over it (or with a
    /// fence the caller does not hold).
    fn check_path_write(
        &self,
        actor: &Actor,
        path: &str,
        folder: bool,
        fence: Option<u64>,
        now_ms: u64,
    ) -> std::result::Result<(), OpError> {
        self.authority
            .locks
            .path_write_check(path, folder, &actor.id, fence, now_ms)
            .map_err(OpError::from)
    }

    /// A file may not replace a folder, nor sit below a file.
    fn check_not_folder(&self, path: &str) -> std::result::Result<(), OpError> {
        let reader = self.reader();
        if reader
            .file_entry(path)
            .is_some_and(|e| e.live() && e.folder)
        {
            return Err(OpError::conflict(format!("`{path}` is a folder")));
        }
        let mut dir = parent_of(path);
        while !dir.is_empty() {
            if reader
                .file_entry(dir)
                .is_some_and(|e| e.live() && !e.folder)
            {
                return Err(OpError::conflict(format!(
                    "`{dir}` is a file, so `{path}` cannot be under it"
                )));
            }
            dir = parent_of(dir);
        }
        Ok(())
    }

    fn check_file_size(&self, path: &str, size: u64) -> std::result::Result<(), OpError> {
        let max = self.limits.max_file_bytes;
        if size > max {
            return Err(OpError::new(
                OpCode::FileTooLarge,
                format!(
                    "`{path}` is {size} bytes; the largest file this room takes is {max} bytes"
                ),
            ));
        }
        Ok(())
    }

    fn check_quota(&self, size: u64) -> std::result::Result<(), OpError> {
        let used: u64 = self.stored_hashes().values().sum();
        let quota = self.limits.max_files_bytes;
        if used.saturating_add(size) > quota {
            return Err(OpError::new(
                OpCode::QuotaExceeded,
                format!(
                    "the room's files use {used} of their {quota} bytes; {size} more would pass the quota (deleted files count until the room is cleaned up)"
                ),
            ));
        }
        Ok(())
    }

    /// Room for one more entry at `path` (a new path only).
    fn check_room_for(&self, path: &str, new: bool) -> std::result::Result<(), OpError> {
        let count = self.reader().file_entries().len();
        if new && count >= self.limits.max_files {
            return Err(OpError::new(
                OpCode::QuotaExceeded,
                format!(
                    "`{path}`: the room's tree holds {count} entries, its limit (deleted ones count)"
                ),
            ));
        }
        Ok(())
    }

    /// Every content the room keeps, by hash, with its size.
    fn stored_hashes(&self) -> BTreeMap<String, u64> {
        self.reader()
            .file_entries()
            .iter()
            .flat_map(|e| e.versions.iter())
            .map(|v| (v.hash.clone(), v.size))
            .collect()
    }
}
