//! Core's layers depend downwards only. Each folder of `core/src` may name (`crate::…`)
//! only the folders the table below allows; a new dependency is a decision, made here,
//! in one place. Unit tests (`tests.rs`, `tests/`, and `#[cfg(test)]` modules) may reach
//! across layers and are not checked.
//!
//! The model is rust-analyzer's architecture tests: a plain test over the source text,
//! so the rule holds without any tooling beyond `cargo test`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Each layer, bottom to top, and what it may use. `error`, `names` and `clock` are
/// shared utilities every layer may use.
const LAYERS: &[(&str, &[&str])] = &[
    ("protocol", &[]),
    ("doc", &[]),
    ("model", &["doc"]),
    ("conflict", &["doc", "model"]),
    ("authority", &["protocol", "doc", "model"]),
    (
        "client",
        &["protocol", "doc", "model", "conflict", "authority"],
    ),
    (
        "room",
        &["protocol", "doc", "model", "conflict", "authority"],
    ),
];

const SHARED: &[&str] = &["error", "names", "clock"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("core/src is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "tests" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// The code of a file without its `#[cfg(test)]` module and without comments.
fn code(text: &str) -> String {
    let cut = text.find("#[cfg(test)]\nmod tests {").unwrap_or(text.len());
    text[..cut]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every top-level module of the crate a piece of code names as `crate::<module>`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
        rest = after;
    }
    out
}

#[test]
fn every_layer_depends_downwards_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    let mut seen_layers = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let Some(layer) = rel.components().next().and_then(|c| c.as_os_str().to_str()) else {
            continue;
        };
        let Some(may_use) = allowed.get(layer) else {
            continue; // lib.rs and the shared utilities
        };
        seen_layers.insert(layer.to_owned());
        let text = fs::read_to_string(file).expect("a readable source file");
        for module in named_modules(&code(&text)) {
            let ok = module == layer
                || SHARED.contains(&module.as_str())
                || may_use.contains(&module.as_str());
            if !ok {
                broken.push(format!("{} ({layer}) uses crate::{module}", rel.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "layering broken (see the table in core/tests/layering.rs):\n{}",
        broken.join("\n")
    );
    let expected: BTreeSet<String> = LAYERS.iter().map(|(l, _)| (*l).to_owned()).collect();
    assert_eq!(
        seen_layers, expected,
        "every layer in the table is a folder of core/src"
    );
}

#[test]
fn the_table_has_no_cycles() {
    // Each layer may use only layers listed before it.
    for (i, (layer, uses)) in LAYERS.iter().enumerate() {
        let below: BTreeSet<&str> = LAYERS[..i].iter().map(|(l, _)| *l).collect();
        for used in *uses {
            assert!(
                below.contains(used),
                "{layer} uses {used}, which is not below it"
            );
        }
    }
}

#[test]
fn the_scanner_finds_what_a_file_names() {
    let names = named_modules("use crate::doc::RoomDoc;\nlet x = crate::model::turn::f();");
    assert_eq!(
        names,
        BTreeSet::from(["doc".to_owned(), "model".to_owned()])
    );
    assert!(code("// crate::room\nfn f() {}")
        .find("crate::room")
        .is_none());
    assert!(
        code("fn f() {}\n#[cfg(test)]\nmod tests {\n use crate::room;\n}")
            .find("crate::room")
            .is_none()
    );
}
