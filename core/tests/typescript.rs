//! The TypeScript declarations of the values core hands to JavaScript are generated from
//! core's own types (ts-rs, behind the `ts` feature) and checked in as
//! `wasm/src/types.gen.ts`, which the wasm crate puts in its `.d.ts`. This test fails
//! when that file no longer matches the Rust types; `CONFAB_BLESS=1` rewrites it.
//!
//! Run it with `cargo test -p confab-core --features ts --test typescript` (part of
//! `make test`); regenerate with `make types`.

#![cfg(feature = "ts")]

use std::any::TypeId;
use std::collections::BTreeSet;
use std::path::PathBuf;

use confab_core::authority::locks::{Lease, LeasePolicy};
use confab_core::authority::op::{
    AcquireArgs, ActivityArgs, AgentInviteArgs, CollabArgs, CompleteArgs, DecideArgs,
    DocumentWriteArgs, EndArgs, FileListArgs, FileMoveArgs, FileWriteArgs, IdArgs, InviteArgs,
    LeaseArgs, MessageListArgs, MessagePostArgs, PathArgs, PolicyArgs, RenewArgs, RoleArgs,
    SearchArgs, StatusArgs, UserArgs, WebhookArgs,
};
use confab_core::authority::token::Role as MemberRole;
use confab_core::authority::{
    Activity, ActivityKind, ActivityStatus, AgentState, Collaboration, CollaborationStatus,
    Decision, Op,
};
use confab_core::client::connection::SaveState;
use confab_core::client::session::ConflictNotice;
use confab_core::conflict::{
    BasedWrite, BlameSpan, Choice, Conflict, ConflictKind, ConflictSide, ConflictStatus,
    Granularity, NoticeKind, Proposal, Resolution, StalePolicy,
};
use confab_core::doc::{Participant, ParticipantKind};
use confab_core::model::comment::{Comment, CommentAnchor, CommentReply};
use confab_core::model::context::{
    ContextEntry, ContextEvent, ContextEventKind, ContextKind, ContextStatus, HandoffSummary,
    Holding,
};
use confab_core::model::conversation::{
    Conversation, ForkPoint, MergeRecord, Message, Reaction, Role, TurnStatus,
};
use confab_core::model::files::{FileAuthor, FileEntry, FileVersion};
use confab_core::model::history::{DiffSpan, SpanChange, VersionInfo};
use confab_core::model::presence::{Cursor, Presence, PresenceStatus};
use confab_core::model::turn::BranchInfo;
use confab_core::model::view::{SyncInfo, View, ViewPatch, ViewState};
use confab_core::model::DocumentInfo;
use ts_rs::{Dependency, TS};

const HEADER: &str = "\
// Generated from confab-core's Rust types by ts-rs (core/tests/typescript.rs): do not
// edit. Regenerate with `make types`, i.e.
// CONFAB_BLESS=1 cargo test -p confab-core --features ts --test typescript
";

/// One exported type: its declaration, and the types it names.
struct Declaration {
    id: TypeId,
    name: String,
    text: String,
    dependencies: Vec<Dependency>,
}

fn declaration<T: TS + 'static>() -> Declaration {
    Declaration {
        id: TypeId::of::<T>(),
        name: T::ident(),
        text: format!(
            "{}export {}\n",
            T::DOCS.unwrap_or_default(),
            tidy(&T::decl())
        ),
        dependencies: T::dependencies(),
    }
}

/// ts-rs writes an object's fields on one line each, after a `{ ` and before a
/// trailing ` };`, with their doc comments flush left: indent the fields and their
/// docs, and drop trailing spaces, so the checked-in file reads (and diffs) cleanly.
fn tidy(decl: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for line in decl.lines() {
        let line = line.trim_end();
        let (line, closes) = match line.strip_suffix(" };") {
            Some(field) if !field.trim().is_empty() => (field, true),
            _ => (line, false),
        };
        if line.starts_with('}') {
            depth = depth.saturating_sub(1);
        }
        out.push_str(&"  ".repeat(depth));
        out.push_str(line);
        out.push('\n');
        if line.ends_with('{') {
            depth += 1;
        }
        if closes {
            depth = depth.saturating_sub(1);
            out.push_str(&"  ".repeat(depth));
            out.push_str("};\n");
        }
    }
    out.trim_end().to_owned()
}

/// Every type that crosses to JavaScript, in the order the file lists them.
fn declarations() -> Vec<Declaration> {
    vec![
        // Participants.
        declaration::<ParticipantKind>(),
        declaration::<Participant>(),
        // Conversations, messages, turns and branches.
        declaration::<Role>(),
        declaration::<TurnStatus>(),
        declaration::<ForkPoint>(),
        declaration::<Conversation>(),
        declaration::<Reaction>(),
        declaration::<MergeRecord>(),
        declaration::<Message>(),
        declaration::<BranchInfo>(),
        // Documents, views, presence.
        declaration::<DocumentInfo>(),
        declaration::<View>(),
        declaration::<ViewPatch>(),
        declaration::<SyncInfo>(),
        declaration::<ViewState>(),
        declaration::<PresenceStatus>(),
        declaration::<SaveState>(),
        declaration::<Cursor>(),
        declaration::<Presence>(),
        // Shared context.
        declaration::<ContextKind>(),
        declaration::<ContextStatus>(),
        declaration::<ContextEntry>(),
        declaration::<ContextEventKind>(),
        declaration::<ContextEvent>(),
        declaration::<Holding>(),
        declaration::<HandoffSummary>(),
        // History and authorship.
        declaration::<VersionInfo>(),
        declaration::<SpanChange>(),
        declaration::<DiffSpan>(),
        declaration::<BlameSpan>(),
        // Comments.
        declaration::<CommentAnchor>(),
        declaration::<CommentReply>(),
        declaration::<Comment>(),
        // Files.
        declaration::<FileAuthor>(),
        declaration::<FileVersion>(),
        declaration::<FileEntry>(),
        // Conflicts and stale writes.
        declaration::<Granularity>(),
        declaration::<StalePolicy>(),
        declaration::<ConflictKind>(),
        declaration::<ConflictStatus>(),
        declaration::<Choice>(),
        declaration::<ConflictSide>(),
        declaration::<Resolution>(),
        declaration::<Proposal>(),
        declaration::<Conflict>(),
        declaration::<NoticeKind>(),
        declaration::<ConflictNotice>(),
        declaration::<BasedWrite>(),
        // The room's authority: roles, leases, activities, collaborations.
        declaration::<MemberRole>(),
        declaration::<LeasePolicy>(),
        declaration::<Lease>(),
        declaration::<ActivityKind>(),
        declaration::<ActivityStatus>(),
        declaration::<Activity>(),
        declaration::<AgentState>(),
        declaration::<Decision>(),
        declaration::<CollaborationStatus>(),
        declaration::<Collaboration>(),
        // Every operation's arguments, and the map from its name to them.
        declaration::<MessageListArgs>(),
        declaration::<MessagePostArgs>(),
        declaration::<DocumentWriteArgs>(),
        declaration::<IdArgs>(),
        declaration::<AcquireArgs>(),
        declaration::<RenewArgs>(),
        declaration::<LeaseArgs>(),
        declaration::<PolicyArgs>(),
        declaration::<ActivityArgs>(),
        declaration::<CompleteArgs>(),
        declaration::<StatusArgs>(),
        declaration::<CollabArgs>(),
        declaration::<DecideArgs>(),
        declaration::<EndArgs>(),
        declaration::<RoleArgs>(),
        declaration::<UserArgs>(),
        declaration::<InviteArgs>(),
        declaration::<AgentInviteArgs>(),
        declaration::<WebhookArgs>(),
        declaration::<FileListArgs>(),
        declaration::<PathArgs>(),
        declaration::<FileWriteArgs>(),
        declaration::<FileMoveArgs>(),
        declaration::<SearchArgs>(),
    ]
}

/// The whole generated file.
fn generated() -> String {
    let mut out = String::from(HEADER);
    for d in declarations() {
        out.push('\n');
        out.push_str(&d.text);
    }
    out.push('\n');
    out.push_str(&Op::ts_args_map());
    out
}

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../wasm/src/types.gen.ts")
}

#[test]
fn every_type_a_declaration_names_is_declared_once() {
    let all = declarations();
    let declared: BTreeSet<TypeId> = all.iter().map(|d| d.id).collect();
    let names: BTreeSet<&str> = all.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(declared.len(), all.len(), "a type is listed twice");
    assert_eq!(names.len(), all.len(), "two types share a TypeScript name");
    for d in &all {
        for dep in &d.dependencies {
            assert!(
                declared.contains(&dep.type_id),
                "`{}` names `{}`, which tests/typescript.rs does not export: add it to the list",
                d.name,
                dep.ts_name
            );
        }
    }
}

#[test]
fn checked_in_typescript_matches_the_rust_types() {
    let path = checked_in();
    let want = generated();
    if std::env::var_os("CONFAB_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want).expect("write wasm/src/types.gen.ts");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "wasm/src/types.gen.ts is out of date with core's Rust types; first difference \
             at line {}:\n  checked in: {}\n  generated:  {}\n\
             Regenerate it with `make types`, i.e.\n  \
             CONFAB_BLESS=1 cargo test -p confab-core --features ts --test typescript\n\
             and commit the result.",
            line + 1,
            have.lines().nth(line).unwrap_or("(end of file)"),
            want.lines().nth(line).unwrap_or("(end of file)"),
        );
    }
}
