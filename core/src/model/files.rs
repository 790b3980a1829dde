//! The room's file tree: files and folders by path, with each file's size, type,
//! content hash, author and the versions it went through. The bytes live in an object
//! store (the edge's R2 bucket) under [`blob_key`]; a text file is also a shared
//! document (`doc`), so it opens as a co-editable body.
//!
//! Each entry is one plain value under its path in the `files` root map, replaced
//! whole: two concurrent writes of one path leave one of them, never a mix of both.
//! Only the room writes this map (the write gate refuses it from clients), so an entry
//! appears only once its upload completed. A deleted entry stays as a tombstone with
//! its versions: deleted files remain in the room's history and can be restored.

use serde::{Deserialize, Serialize};
use yrs::{Any, Map, Out, ReadTxn, Transact, WriteTxn};

use crate::doc::schema::FILES;
use crate::doc::{Participant, RoomDoc};
use crate::error::{Error, Result};

/// Longest path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest path segment (a file or folder name), in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// Deepest folder nesting.
pub const MAX_DEPTH: usize = 32;
/// Versions kept per file (the oldest are dropped from the list).
pub const MAX_VERSIONS: usize = 50;

/// One stored content of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileVersion {
    /// SHA-256 of the bytes, lowercase hex.
    pub hash: String,
    /// Size in bytes.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size: u64,
    /// Media type.
    #[serde(rename = "type")]
    pub content_type: String,
    /// Who wrote it (user id).
    pub author: String,
    /// When, ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at: u64,
}

/// Who wrote an entry, as the tree records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileAuthor {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `person` or `agent`.
    pub kind: String,
}

impl From<&Participant> for FileAuthor {
    fn from(p: &Participant) -> Self {
        FileAuthor {
            id: p.id.clone(),
            name: p.name.clone(),
            kind: p.kind.as_str().to_owned(),
        }
    }
}

/// A file or folder in the room's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileEntry {
    /// Where it is: `/`-separated, no leading or trailing `/` (see [`normalize_path`]).
    pub path: String,
    /// A folder (no content) rather than a file.
    pub folder: bool,
    /// Size of the current content, in bytes (0 for a folder).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size: u64,
    /// Media type (empty for a folder).
    #[serde(rename = "type")]
    pub content_type: String,
    /// SHA-256 of the current content, lowercase hex (empty for a folder).
    pub hash: String,
    /// The shared document holding a text file's body, if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub doc: Option<String>,
    /// Who wrote the current content (or made the folder).
    pub author: FileAuthor,
    /// Created, ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created_at: u64,
    /// Last written, moved or restored, ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated_at: u64,
    /// When it was deleted (a tombstone kept for history), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub deleted_at: Option<u64>,
    /// Who deleted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub deleted_by: Option<FileAuthor>,
    /// Every content it had, oldest first (at most [`MAX_VERSIONS`]).
    #[serde(default)]
    pub versions: Vec<FileVersion>,
}

impl FileEntry {
    /// Not deleted.
    pub fn live(&self) -> bool {
        self.deleted_at.is_none()
    }

    /// Under folder `dir` (a path, without the trailing `/`), or `dir` itself.
    pub fn within(&self, dir: &str) -> bool {
        within(&self.path, dir)
    }

    /// As the plain value the tree stores. Numbers are stored as floats, as Yjs
    /// writes them (a stock Yjs client reads them as numbers, not bigints).
    fn to_any(&self) -> Result<Any> {
        let mut value = serde_json::to_value(self)
            .map_err(|e| Error::malformed("file entry", e.to_string()))?;
        numbers(&mut value, |n| {
            n.as_f64().and_then(serde_json::Number::from_f64)
        });
        serde_json::from_value(value).map_err(|e| Error::malformed("file entry", e.to_string()))
    }

    fn from_any(any: &Any) -> Option<FileEntry> {
        let mut value = serde_json::to_value(any).ok()?;
        numbers(&mut value, |n| {
            let f = n.as_f64()?;
            (f >= 0.0 && f.fract() == 0.0).then(|| serde_json::Number::from(f as u64))
        });
        serde_json::from_value(value).ok()
    }
}

/// Rewrite every number in `value` with `f` (kept when `f` gives `None`).
fn numbers(
    value: &mut serde_json::Value,
    f: impl Fn(&serde_json::Number) -> Option<serde_json::Number> + Copy,
) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(m) = f(n) {
                *n = m;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| numbers(v, f)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| numbers(v, f)),
        _ => {}
    }
}

/// `path` is `dir` or lies under it.
pub fn within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// `path` in the tree's form, or why it cannot name a file: one leading and one
/// trailing `/` are dropped; what remains is 1 to [`MAX_PATH_BYTES`] bytes of names
/// separated by single `/`, each name 1 to [`MAX_NAME_BYTES`] bytes, not `.` or `..`,
/// without control characters or `\`, at most [`MAX_DEPTH`] deep.
pub fn normalize_path(path: &str) -> std::result::Result<String, String> {
    let p = path.strip_prefix('/').unwrap_or(path);
    let p = p.strip_suffix('/').unwrap_or(p);
    if p.is_empty() {
        return Err("the path is empty".into());
    }
    if p.len() > MAX_PATH_BYTES {
        return Err(format!(
            "the path is {} bytes long; the limit is {MAX_PATH_BYTES}",
            p.len()
        ));
    }
    let names: Vec<&str> = p.split('/').collect();
    if names.len() > MAX_DEPTH {
        return Err(format!(
            "`{p}` is {} folders deep; the limit is {MAX_DEPTH}",
            names.len()
        ));
    }
    for name in names {
        if name.is_empty() {
            return Err(format!("`{p}` has an empty name (`//`)"));
        }
        if name == "." || name == ".." {
            return Err(format!(
                "`{p}` names `{name}`; paths are written out in full"
            ));
        }
        if name.len() > MAX_NAME_BYTES {
            return Err(format!(
                "a name in `{p}` is {} bytes long; the limit is {MAX_NAME_BYTES}",
                name.len()
            ));
        }
        if name.chars().any(|c| c.is_control() || c == '\\') {
            return Err(format!("`{p}` holds a control character or `\\`"));
        }
    }
    Ok(p.to_owned())
}

/// The last name of a path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The folder holding `path` (`""` at the top).
pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Where a room's blob with this hash lives in the object store.
pub fn blob_key(room: &str, hash: &str) -> String {
    format!("rooms/{room}/blobs/{hash}")
}

/// A media type without its parameters, in lower case (`text/plain; charset=utf-8` is
/// `text/plain`).
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The extension of a file's name, in lower case (`""` without one).
fn extension(path: &str) -> String {
    file_name(path)
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The media type of a file named `path` by its extension, when the uploader gave
/// none (or a generic one).
pub fn guess_type(path: &str) -> &'static str {
    match extension(path).as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "md" | "markdown" => "text/markdown",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "js" | "mjs" | "cjs" => "text/javascript",
        "txt" | "log" => "text/plain",
        e if CODE_EXTENSIONS.contains(&e) => "text/plain",
        _ => "application/octet-stream",
    }
}

/// The headers a download of a file with this type and name is served with, beside
/// its type: never sniffed, shown in place only when it is safe to (images, PDFs,
/// plain text), and sandboxed so content served from the app's own origin can never
/// run as the app (an uploaded HTML page or SVG with a script runs nothing).
pub fn download_headers(content_type: &str, path: &str) -> Vec<(&'static str, String)> {
    let t = media_type(content_type);
    let inline = t == "application/pdf"
        || (t.starts_with("image/") && t != "image/svg+xml")
        || t == "text/plain"
        || t == "text/markdown"
        || t == "text/csv";
    let name: String = file_name(path)
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let disposition = if inline { "inline" } else { "attachment" };
    let mut headers = vec![
        ("X-Content-Type-Options", "nosniff".to_owned()),
        (
            "Content-Disposition",
            format!("{disposition}; filename*=UTF-8''{name}"),
        ),
    ];
    // Chromium shows no PDF in a sandboxed frame; a PDF runs no script of the page.
    if t != "application/pdf" {
        headers.push((
            "Content-Security-Policy",
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
                .to_owned(),
        ));
    }
    headers
}

/// Extensions read as source code (text, opened in the code editor).
pub const CODE_EXTENSIONS: &[&str] = &[
    "rs", "ts", "tsx", "js", "jsx", "mjs", "cjs", "py", "go", "java", "kt", "c", "h", "cc", "cpp",
    "hpp", "cs", "rb", "php", "swift", "sh", "bash", "zsh", "toml", "yaml", "yml", "sql", "lua",
    "scala", "zig", "ini", "cfg", "xml", "vue", "svelte",
];

/// Is content of this media type (for a file named `path`) text that can open as a
/// shared document?
pub fn is_text_type(content_type: &str, path: &str) -> bool {
    let t = media_type(content_type);
    let ext = extension(path);
    t.starts_with("text/")
        || matches!(
            t.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/toml"
                | "application/yaml"
                | "application/x-yaml"
                | "application/x-sh"
        )
        || (t == "application/octet-stream" || t.is_empty())
            && (CODE_EXTENSIONS.contains(&ext.as_str()) || matches!(ext.as_str(), "md" | "txt"))
}

/// What lies at `path` as one string, read in `txn`: each live file at or under it
/// with its content (a text file's current text, else its hash), in path order.
/// Empty when nothing is there. A change to any of it changes this string.
pub(crate) fn content_under<T: ReadTxn>(txn: &T, path: &str) -> String {
    let Some(root) = txn.get_map(FILES) else {
        return String::new();
    };
    let path = normalize_path(path).unwrap_or_default();
    let mut entries: Vec<FileEntry> = root
        .iter(txn)
        .filter_map(|(_, v)| match v {
            Out::Any(any) => FileEntry::from_any(&any),
            _ => None,
        })
        .filter(|e| e.live() && !e.folder && e.within(&path))
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = String::new();
    for e in entries {
        out.push_str(&e.path);
        out.push('\0');
        match &e.doc {
            Some(doc) => {
                let text = txn
                    .get_text(crate::doc::doc_text_name(doc).as_str())
                    .map(|t| yrs::GetString::get_string(&t, txn))
                    .unwrap_or_default();
                out.push_str(&text);
            }
            None => out.push_str(&e.hash),
        }
        out.push('\0');
    }
    out
}

/// The path of the live file whose body is document `doc`, read in `txn`.
pub(crate) fn path_of_document<T: ReadTxn>(txn: &T, doc: &str) -> Option<String> {
    let root = txn.get_map(FILES)?;
    root.iter(txn).find_map(|(_, v)| match v {
        Out::Any(any) => FileEntry::from_any(&any)
            .filter(|e| e.live() && e.doc.as_deref() == Some(doc))
            .map(|e| e.path),
        _ => None,
    })
}

impl RoomDoc {
    /// Every entry of the file tree, deleted ones included, by path.
    pub fn file_entries(&self) -> Vec<FileEntry> {
        let txn = self.doc.transact();
        let Some(root) = txn.get_map(FILES) else {
            return Vec::new();
        };
        let mut out: Vec<FileEntry> = root
            .iter(&txn)
            .filter_map(|(_, v)| match v {
                Out::Any(any) => FileEntry::from_any(&any),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// The entry at `path` (live or deleted).
    pub fn file_entry(&self, path: &str) -> Option<FileEntry> {
        let txn = self.doc.transact();
        match txn.get_map(FILES)?.get(&txn, path)? {
            Out::Any(any) => FileEntry::from_any(&any),
            _ => None,
        }
    }

    /// The live file whose body is document `doc`, if one is.
    pub fn file_of_document(&self, doc: &str) -> Option<FileEntry> {
        self.file_entries()
            .into_iter()
            .find(|e| e.live() && e.doc.as_deref() == Some(doc))
    }

    /// Write `entries` (each replacing what its path held) and remove `removed`, in one
    /// transaction.
    pub fn put_file_entries(&mut self, entries: &[FileEntry], removed: &[String]) -> Result<()> {
        let values = entries
            .iter()
            .map(|e| Ok((e.path.clone(), e.to_any()?)))
            .collect::<Result<Vec<_>>>()?;
        let mut txn = self.doc.transact_mut();
        let root = txn.get_or_insert_map(FILES);
        for path in removed {
            root.remove(&mut txn, path);
        }
        for (path, value) in values {
            root.insert(&mut txn, path, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized_or_refused_by_name() {
        assert_eq!(
            normalize_path("/output/report.pdf").unwrap(),
            "output/report.pdf"
        );
        assert_eq!(normalize_path("src/").unwrap(), "src");
        for (bad, why) in [
            ("", "empty"),
            ("/", "empty"),
            ("a//b", "empty name"),
            ("a/../b", "`..`"),
            ("a\\b", "control character or `\\`"),
            ("a\u{7}b", "control character"),
        ] {
            let err = normalize_path(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(normalize_path(&"a/".repeat(40))
            .unwrap_err()
            .contains("deep"));
        assert!(normalize_path(&"x".repeat(300))
            .unwrap_err()
            .contains("255"));
    }

    #[test]
    fn folders_contain_what_lies_under_them_only() {
        assert!(within("src/main.rs", "src"));
        assert!(within("src", "src"));
        assert!(!within("srcx/main.rs", "src"));
        assert!(within("anything", ""));
        assert_eq!(parent_of("a/b/c.txt"), "a/b");
        assert_eq!(parent_of("c.txt"), "");
    }

    #[test]
    fn text_is_told_from_binary_by_type_and_name() {
        assert!(is_text_type("text/plain; charset=utf-8", "a.txt"));
        assert!(is_text_type("", "main.rs"));
        assert!(is_text_type("application/json", "x"));
        assert!(!is_text_type("image/png", "a.png"));
        assert!(!is_text_type("application/octet-stream", "blob.bin"));
        assert_eq!(guess_type("Report.PDF"), "application/pdf");
    }

    #[test]
    fn downloads_never_run_as_the_app() {
        let get = |t: &str, p: &str| {
            download_headers(t, p)
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>()
        };
        let html = get("text/html", "page.html");
        assert!(html["Content-Disposition"].starts_with("attachment"));
        assert!(html["Content-Security-Policy"].ends_with("sandbox"));
        let png = get("image/png", "a b.png");
        assert_eq!(
            png["Content-Disposition"],
            "inline; filename*=UTF-8''a%20b.png"
        );
        let pdf = get("application/pdf", "r.pdf");
        assert!(!pdf.contains_key("Content-Security-Policy"));
        assert_eq!(pdf["X-Content-Type-Options"], "nosniff");
        assert!(get("image/svg+xml", "x.svg")["Content-Disposition"].starts_with("attachment"));
    }

    #[test]
    fn entries_round_trip_and_replace_whole() {
        let mut doc = RoomDoc::new(1);
        let author = FileAuthor::from(&Participant::person("ana", "Ana"));
        let entry = FileEntry {
            path: "out/a.bin".into(),
            folder: false,
            size: 3,
            content_type: "application/octet-stream".into(),
            hash: "ab".into(),
            doc: None,
            author: author.clone(),
            created_at: 1,
            updated_at: 1,
            deleted_at: None,
            deleted_by: None,
            versions: vec![FileVersion {
                hash: "ab".into(),
                size: 3,
                content_type: "application/octet-stream".into(),
                author: "ana".into(),
                at: 1,
            }],
        };
        doc.put_file_entries(std::slice::from_ref(&entry), &[])
            .unwrap();
        assert_eq!(doc.file_entry("out/a.bin"), Some(entry.clone()));
        let moved = FileEntry {
            path: "b.bin".into(),
            ..entry
        };
        doc.put_file_entries(&[moved], &["out/a.bin".into()])
            .unwrap();
        let paths: Vec<String> = doc.file_entries().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["b.bin"]);
    }
}
