//! Search: the index brought up to date as updates are stored, and queries answered
//! from it (over REST, and for sockets, the requests the room deferred), ordered by
//! meaning too when an embeddings endpoint is configured.

use confab_core::authority::op::SearchArgs;
use confab_core::authority::Actor;
use confab_core::room::search::{plan, rerank, RERANK_CANDIDATES, ROWS_PER_HIT};
use serde_json::{json, Value};
use worker::{Fetch, Headers, Method, Request, RequestInit};

use super::{now_ms, RoomObject};
use crate::config::Embeddings;
use crate::error::EdgeError;
use crate::search_index::SearchIndex;
use crate::worker_entry::config;

/// Longest text of a hit sent for its embedding, in characters.
const EMBED_CHARS: usize = 2000;

impl RoomObject {
    /// The index, checked once per instance: built again from the room when it was
    /// made with another layout (or a write to it failed).
    fn search_index(&self) -> Result<SearchIndex, EdgeError> {
        if self.search_ready.get() {
            // Its tables were made (or found) by this instance already.
            return Ok(SearchIndex::attach(self.state.storage().sql()));
        }
        let index = SearchIndex::open(self.state.storage().sql())?;
        if !index.current()? {
            let changes = self.with_room(|room| room.search_rebuild(now_ms()))?;
            index.clear()?;
            index.apply(&changes)?;
            index.mark(true)?;
        }
        self.search_ready.set(true);
        Ok(index)
    }

    /// Write what changed since the last call to the index (called as updates are
    /// stored). A failure marks the index for a rebuild; the room goes on.
    pub(super) fn index_search(&self) {
        let result = (|| {
            // Nothing to write (presence, awareness, most relayed frames): no SQL at all.
            if self.search_ready.get() && !self.with_room(|room| room.has_search_changes())? {
                return Ok(());
            }
            let index = self.search_index()?;
            let changes = self.with_room(|room| room.take_search_changes())?;
            if changes.is_empty() {
                return Ok(());
            }
            index.apply(&changes).map(drop).inspect_err(|_| {
                let _ = index.mark(false);
            })
        })();
        if let Err(e) = result {
            self.search_ready.set(false);
            worker::console_error!("updating the search index failed: {e}");
        }
    }

    /// Rows in the index, brought up to date first.
    pub(super) fn search_rows(&self) -> Result<u64, EdgeError> {
        self.index_search();
        self.search_index()?.size()
    }

    /// Answer a search.
    pub(super) async fn search(
        &self,
        _actor: &Actor,
        args: SearchArgs,
    ) -> Result<Value, EdgeError> {
        let plan = plan(&args).map_err(EdgeError::Op)?;
        self.index_search();
        let index = self.search_index()?;
        let mut semantic_error = None;
        if let Some(endpoint) = config(&self.env)?.embeddings {
            let raw = index.query(&plan, &plan.any_term, RERANK_CANDIDATES * ROWS_PER_HIT)?;
            // Each hit is embedded by the text of its best row.
            let mut best: std::collections::HashMap<String, String> = Default::default();
            for h in &raw {
                best.entry(h.target.clone())
                    .or_insert_with(|| h.text.chars().take(EMBED_CHARS).collect());
            }
            let mut hits =
                self.with_room(|room| room.search_hits(raw, RERANK_CANDIDATES as usize))?;
            let texts: Vec<String> = hits
                .iter()
                .map(|h| {
                    let target = h["target"].as_str().unwrap_or_default();
                    best.get(target).cloned().unwrap_or_default()
                })
                .collect();
            if hits.is_empty() {
                return Ok(json!({ "hits": hits, "semantic": true }));
            }
            match embed(&endpoint, &plan.query, &texts).await {
                Ok((query, vectors)) => {
                    rerank(&mut hits, &query, &vectors);
                    hits.truncate(plan.limit as usize);
                    return Ok(json!({ "hits": hits, "semantic": true }));
                }
                Err(e) => semantic_error = Some(e),
            }
        }
        let raw = index.query(&plan, &plan.all_terms, plan.limit * ROWS_PER_HIT)?;
        let hits = self.with_room(|room| room.search_hits(raw, plan.limit as usize))?;
        let mut answer = json!({ "hits": hits, "semantic": false });
        if let Some(e) = semantic_error {
            answer["semanticError"] = json!(e);
        }
        Ok(answer)
    }

    /// Answer the search requests sockets sent (the room deferred them to here).
    pub(super) async fn answer_deferred(&self) {
        let Ok(deferred) = self.with_room(|room| room.take_deferred()) else {
            return;
        };
        for d in deferred {
            let result = match self.search(&d.actor, d.args).await {
                Ok(value) => Ok(value),
                Err(EdgeError::Op(e)) => Err(e),
                Err(e) => Err(confab_core::authority::OpError::invalid(format!(
                    "search failed: {e}"
                ))),
            };
            if let Ok(answer) = self.with_room(|room| room.deferred_answer(d.conn, d.id, result)) {
                self.deliver(&[answer], None);
            }
        }
    }
}

/// The query's embedding and each text's, from `endpoint`; `Err` says why not.
async fn embed(
    endpoint: &Embeddings,
    query: &str,
    texts: &[String],
) -> Result<(Vec<f32>, Vec<Vec<f32>>), String> {
    let mut input = vec![query.to_owned()];
    input.extend(texts.iter().cloned());
    let body = json!({ "model": endpoint.model, "input": input });
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("Content-Type", "application/json")?;
    if let Some(key) = &endpoint.key {
        set("Authorization", &format!("Bearer {key}"))?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.to_string().into()));
    let url = format!("{}/embeddings", endpoint.url);
    let req = Request::new_with_init(&url, &init).map_err(|e| e.to_string())?;
    let mut res = Fetch::Request(req)
        .send()
        .await
        .map_err(|e| format!("the embeddings endpoint did not answer: {e}"))?;
    if !(200..300).contains(&res.status_code()) {
        return Err(format!(
            "the embeddings endpoint answered {}",
            res.status_code()
        ));
    }
    let answer: Value = res
        .json()
        .await
        .map_err(|e| format!("the embeddings endpoint's answer is not JSON: {e}"))?;
    let mut data: Vec<(u64, Vec<f32>)> = answer["data"]
        .as_array()
        .ok_or("the embeddings endpoint's answer has no `data`")?
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let index = d["index"].as_u64().unwrap_or(i as u64);
            let vector = d["embedding"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(Value::as_f64)
                        .map(|x| x as f32)
                        .collect()
                })
                .unwrap_or_default();
            (index, vector)
        })
        .collect();
    if data.len() != input.len() {
        return Err(format!(
            "the embeddings endpoint gave {} embeddings for {} inputs",
            data.len(),
            input.len()
        ));
    }
    data.sort_by_key(|(i, _)| *i);
    let mut vectors = data.into_iter().map(|(_, v)| v);
    let query = vectors.next().unwrap_or_default();
    Ok((query, vectors.collect()))
}
