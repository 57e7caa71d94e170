//! The Workers runtime side: entry points and I/O only (collector calls, Cache API, Queue,
//! assets). Every decision is made by the plain modules of the crate.

use std::cell::RefCell;
use std::time::Duration;

use contract::enrich::DailySalt;
use contract::enriched::EnrichedEvent;
use contract::ids::MINTED_ID_RANDOM_BYTES;
use contract::internal::{day_of, key_path, salt_path, IngestAnswer, KeyInfo, SaltInfo, DAY_MS, INGEST_PATH};
use contract::keys::ApiKey;
use contract::limits::MAX_BODY_BYTES;
use contract::wire::parse_body;
use futures_util::future::{select, Either};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::worker_sys::{Message as MessageSys, MessageBatch as MessageBatchSys};
use worker::*;

use crate::assets::{asset_for, etag};
use crate::cache::{KeyLookup, TtlCache, MAX_CACHED_KEYS};
use crate::config::Config;
use crate::error::{body_error, ApiError};
use crate::forward::{
    backoff_secs, classify, ingest_body, oversized, queue_batches, signature_headers, Delivery, DIRECT_BACKOFF_MS,
    MAX_ATTEMPTS, MAX_EVENTS_PER_FORWARD,
};
use crate::pipeline::{check_content_type, enrich_submission, gif_body, request_context, CfProperties, PIXEL_GIF};
use crate::ratelimit::RateLimiter;

/// The queue producer binding; without it events are forwarded directly in `waitUntil`.
const QUEUE_BINDING: &str = "EVENTS_QUEUE";
/// The static assets binding (`tracker/dist`, copied by `scripts/build-edge.sh`).
const ASSETS_BINDING: &str = "ASSETS";
/// How long a call to the collector may take before it counts as failed.
const COLLECTOR_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-isolate state: survives between requests of one isolate, never shared between isolates.
struct State {
    config: Config,
    keys: TtlCache<KeyLookup>,
    salts: TtlCache<DailySalt>,
    ip_limit: RateLimiter,
    key_limit: RateLimiter,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|s| f(s.borrow_mut().as_mut().expect("state initialised by config()")))
}

fn now_ms() -> i64 {
    Date::now().as_millis() as i64
}

fn read_setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}

/// The isolate's configuration, read from the environment once.
fn config(env: &Env) -> std::result::Result<Config, ApiError> {
    if let Some(config) = STATE.with(|s| s.borrow().as_ref().map(|s| s.config.clone())) {
        return Ok(config);
    }
    let config = Config::from_lookup(|name| read_setting(env, name)).map_err(|e| {
        console_error!("edge: misconfigured: {e}");
        ApiError::internal()
    })?;
    STATE.with(|s| {
        *s.borrow_mut() = Some(State {
            keys: TtlCache::new(MAX_CACHED_KEYS),
            salts: TtlCache::new(4),
            ip_limit: RateLimiter::new(config.ip_per_minute),
            key_limit: RateLimiter::new(config.key_per_minute),
            config: config.clone(),
        })
    });
    Ok(config)
}

/// Logs a runtime error (never request data or secrets) and turns it into a 500.
fn internal(context: &str, e: impl std::fmt::Display) -> ApiError {
    console_error!("edge: {context}: {e}");
    ApiError::internal()
}

// ---------------------------------------------------------------------------------------------
// fetch

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let cors = req.path().starts_with("/api/");
    let response = match route(req, &env, &ctx).await {
        Ok(response) => response,
        Err(error) => error_response(&error),
    };
    if cors {
        let mut response = response;
        let headers = response.headers_mut();
        let _ = headers.set("access-control-allow-origin", "*");
        return Ok(response);
    }
    Ok(response)
}

fn error_response(error: &ApiError) -> Response {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", "no-store");
    if let Some(secs) = error.retry_after {
        let _ = headers.set("retry-after", &secs.to_string());
    }
    Response::from_bytes(error.body().into_bytes())
        .unwrap_or_else(|_| Response::empty().expect("an empty response"))
        .with_status(error.status)
        .with_headers(headers)
}

fn json_response(status: u16, body: &impl Serialize) -> std::result::Result<Response, ApiError> {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", "no-store");
    let bytes = serde_json::to_vec(body).map_err(|e| internal("serialize", e))?;
    Ok(Response::from_bytes(bytes)
        .map_err(|e| internal("response", e))?
        .with_status(status)
        .with_headers(headers))
}

async fn route(req: Request, env: &Env, ctx: &Context) -> std::result::Result<Response, ApiError> {
    let path = req.path();
    let method = req.method();
    match (path.as_str(), method) {
        ("/api/event" | "/api/event.gif", Method::Options) => preflight(),
        ("/api/event", Method::Post) => post_event(req, env, ctx).await,
        ("/api/event", _) => Err(ApiError::method_not_allowed("POST")),
        ("/api/event.gif", Method::Get | Method::Head) => gif_event(req, env, ctx).await,
        ("/api/event.gif", _) => Err(ApiError::method_not_allowed("GET")),
        ("/healthz", Method::Get | Method::Head) => json_response(200, &serde_json::json!({"status": "ok"})),
        (_, Method::Get | Method::Head) if asset_for(&path).is_some() => serve_asset(req, env).await,
        _ => Err(ApiError::not_found("route")),
    }
}

fn preflight() -> std::result::Result<Response, ApiError> {
    let headers = Headers::new();
    let _ = headers.set("access-control-allow-methods", "GET, POST, OPTIONS");
    let _ = headers.set("access-control-allow-headers", "content-type");
    let _ = headers.set("access-control-max-age", "86400");
    Ok(Response::empty()
        .map_err(|e| internal("response", e))?
        .with_status(204)
        .with_headers(headers))
}

async fn post_event(mut req: Request, env: &Env, ctx: &Context) -> std::result::Result<Response, ApiError> {
    let config = config(env)?;
    check_content_type(req.headers().get("content-type").ok().flatten().as_deref())?;
    let length = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.parse::<usize>().ok());
    if length.is_some_and(|l| l > MAX_BODY_BYTES) {
        return Err(body_error(contract::wire::BodyError::TooLarge));
    }
    let body = req
        .bytes()
        .await
        .map_err(|_| ApiError::bad_request("unreadable_body", "the body could not be read"))?;
    let answer = accept(&req, &body, &config, env, ctx).await?;
    json_response(202, &answer)
}

async fn gif_event(req: Request, env: &Env, ctx: &Context) -> std::result::Result<Response, ApiError> {
    let config = config(env)?;
    let url = req.url().map_err(|e| internal("url", e))?;
    let referer = req.headers().get("referer").ok().flatten();
    let body = gif_body(url.query().unwrap_or(""), referer.as_deref());
    accept(&req, &body, &config, env, ctx).await?;
    let headers = Headers::new();
    let _ = headers.set("content-type", "image/gif");
    let _ = headers.set("cache-control", "no-store");
    Ok(Response::from_bytes(PIXEL_GIF.to_vec())
        .map_err(|e| internal("response", e))?
        .with_headers(headers))
}

/// Rate limits, key, salt, enrichment, hand-off to the queue: the whole ingest path.
async fn accept(
    req: &Request,
    body: &[u8],
    config: &Config,
    env: &Env,
    ctx: &Context,
) -> std::result::Result<crate::pipeline::Accepted, ApiError> {
    let received_at = now_ms();
    let ip = req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_default();
    with_state(|s| s.ip_limit.check(&ip, received_at))
        .map_err(|secs| ApiError::too_many_requests("IP address", secs))?;
    let submission = parse_body(body).map_err(body_error)?;
    let key =
        ApiKey::parse(submission.key.trim()).map_err(|e| ApiError::unauthorized(format!("invalid API key: {e}")))?;
    let hash = key.hash(&config.key_pepper);
    let project_id = match resolve_key(config, hash.as_str(), received_at).await? {
        KeyLookup::Active { project_id } => project_id,
        KeyLookup::Revoked => return Err(ApiError::forbidden("this API key has been revoked")),
        KeyLookup::Unknown => return Err(ApiError::unauthorized("unknown API key")),
    };
    with_state(|s| s.key_limit.check(hash.as_str(), received_at))
        .map_err(|secs| ApiError::too_many_requests("API key", secs))?;
    let salt = salt_for(config, day_of(received_at), received_at).await?;
    let user_agent = req.headers().get("user-agent").ok().flatten().unwrap_or_default();
    let cf = cf_properties(req);
    let request = request_context(received_at, &ip, &user_agent, cf);
    let (events, answer) = enrich_submission(submission, project_id, &request, &salt, random_id)?;
    drop(request); // the raw IP goes no further
    if !events.is_empty() {
        hand_off(events, config, env, ctx).await;
    }
    Ok(answer)
}

fn random_id() -> [u8; MINTED_ID_RANDOM_BYTES] {
    let mut bytes = [0u8; MINTED_ID_RANDOM_BYTES];
    if getrandom::getrandom(&mut bytes).is_err() {
        // crypto.getRandomValues never fails in workerd; keep ids unique regardless.
        let now = (js_sys::Math::random() * f64::from(u32::MAX)) as u64 ^ (now_ms() as u64);
        bytes[..8].copy_from_slice(&now.to_le_bytes());
    }
    bytes
}

fn cf_properties(req: &Request) -> CfProperties {
    js_sys::Reflect::get(req.inner(), &JsValue::from_str("cf"))
        .ok()
        .filter(|v| v.is_object())
        .and_then(|v| serde_wasm_bindgen::from_value(v).ok())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// key and salt lookups

/// What the Cache API keeps for a key hash: the lookup and when it stops being trusted.
#[derive(Serialize, Deserialize)]
struct CachedKey {
    lookup: KeyLookup,
    expires_at: i64,
}

fn key_cache_url(config: &Config, hash: &str) -> String {
    format!("{}/__edge_cache/v1/keys/{hash}", config.collector_url)
}

async fn resolve_key(config: &Config, hash: &str, now: i64) -> std::result::Result<KeyLookup, ApiError> {
    if let Some(lookup) = with_state(|s| s.keys.get(hash, now)) {
        return Ok(lookup);
    }
    let cache = Cache::default();
    let cache_url = key_cache_url(config, hash);
    if let Ok(Some(mut hit)) = cache.get(cache_url.as_str(), false).await {
        if let Ok(cached) = hit.json::<CachedKey>().await {
            if cached.expires_at > now {
                with_state(|s| s.keys.insert(hash.to_owned(), cached.lookup, cached.expires_at));
                return Ok(cached.lookup);
            }
        }
    }
    let path = key_path(&contract::keys::KeyHash::parse(hash).map_err(|e| internal("key hash", e))?);
    let (status, text) = collector_get(config, &path).await.map_err(|e| {
        console_error!("edge: key lookup failed: {e}");
        ApiError::unavailable()
    })?;
    let lookup = match status {
        200 => KeyLookup::from_info(Some(
            serde_json::from_str::<KeyInfo>(&text).map_err(|e| internal("key lookup answer", e))?,
        )),
        404 => KeyLookup::Unknown,
        other => {
            console_error!("edge: key lookup answered {other}");
            return Err(ApiError::unavailable());
        }
    };
    let ttl_ms = i64::from(config.key_cache_ttl_secs) * 1000;
    let expires_at = now + ttl_ms;
    with_state(|s| s.keys.insert(hash.to_owned(), lookup, expires_at));
    let cached = serde_json::to_vec(&CachedKey { lookup, expires_at }).unwrap_or_default();
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("cache-control", &format!("max-age={}", config.key_cache_ttl_secs));
    if let Ok(response) = Response::from_bytes(cached) {
        if let Err(e) = cache.put(cache_url.as_str(), response.with_headers(headers)).await {
            console_warn!("edge: Cache API put failed: {e}");
        }
    }
    Ok(lookup)
}

/// The visitor salt of `day`, cached in the isolate until the day is over (never in the Cache
/// API: it is a secret).
async fn salt_for(config: &Config, day: i64, now: i64) -> std::result::Result<DailySalt, ApiError> {
    let name = day.to_string();
    if let Some(salt) = with_state(|s| s.salts.get(&name, now)) {
        return Ok(salt);
    }
    let (status, text) = collector_get(config, &salt_path(day)).await.map_err(|e| {
        console_error!("edge: salt fetch failed: {e}");
        ApiError::unavailable()
    })?;
    if status != 200 {
        console_error!("edge: salt fetch answered {status}");
        return Err(ApiError::unavailable());
    }
    let info: SaltInfo = serde_json::from_str(&text).map_err(|e| internal("salt answer", e))?;
    let salt = info.daily_salt().map_err(|e| internal("salt answer", e))?;
    with_state(|s| s.salts.insert(name, salt.clone(), (day + 1) * DAY_MS));
    Ok(salt)
}

/// Sends a signed internal request; `Err` on a network error or timeout.
async fn collector_call(config: &Config, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<(u16, String)> {
    let bytes = body.unwrap_or_default();
    let headers = Headers::new();
    for (name, value) in signature_headers(&config.edge_secret, now_ms() / 1000, method_name(&method), path, &bytes) {
        headers.set(name, &value)?;
    }
    let post = method == Method::Post;
    if post {
        headers.set("content-type", "application/json")?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if post {
        init.with_body(Some(js_sys::Uint8Array::from(bytes.as_slice()).into()));
    }
    let request = Request::new_with_init(&format!("{}{}", config.collector_url, path), &init)?;
    let call = Box::pin(async move {
        let mut response = Fetch::Request(request).send().await?;
        let text = response.text().await?;
        Ok::<_, Error>((response.status_code(), text))
    });
    match select(call, Delay::from(COLLECTOR_TIMEOUT)).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(Error::RustError(format!(
            "no answer within {} s",
            COLLECTOR_TIMEOUT.as_secs()
        ))),
    }
}

fn method_name(method: &Method) -> &'static str {
    if *method == Method::Post {
        "POST"
    } else {
        "GET"
    }
}

async fn collector_get(config: &Config, path: &str) -> Result<(u16, String)> {
    collector_call(config, Method::Get, path, None).await
}

/// Posts one batch; what to do with it next.
async fn post_batch(config: &Config, events: &[EnrichedEvent]) -> Delivery {
    let body = ingest_body(events);
    match collector_call(config, Method::Post, INGEST_PATH, Some(body)).await {
        Ok((status, text)) => {
            let delivery = classify(Some(status));
            match delivery {
                Delivery::Delivered => {
                    if let Ok(answer) = serde_json::from_str::<IngestAnswer>(&text) {
                        for rejected in &answer.rejected {
                            console_warn!(
                                "edge: the collector refused event {}: {}",
                                rejected.index,
                                rejected.error
                            );
                        }
                    }
                }
                Delivery::Refused => console_error!(
                    "edge: the collector refused a batch of {} events ({status}): {text}",
                    events.len()
                ),
                Delivery::Retry => console_warn!("edge: ingest answered {status}; will retry"),
            }
            delivery
        }
        Err(e) => {
            console_warn!("edge: ingest failed: {e}; will retry");
            classify(None)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// forwarding

/// Puts the events on the queue (awaited: a `202` means they are durably queued), or, without a
/// queue binding or when sending fails, forwards them directly after the response.
async fn hand_off(events: Vec<EnrichedEvent>, config: &Config, env: &Env, ctx: &Context) {
    let Ok(queue) = env.queue(QUEUE_BINDING) else {
        let config = config.clone();
        ctx.wait_until(async move { forward_direct(&config, events).await });
        return;
    };
    let messages: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("events serialize"))
        .collect();
    let sizes: Vec<usize> = messages.iter().map(String::len).collect();
    let mut direct: Vec<usize> = oversized(&sizes);
    for batch in queue_batches(&sizes) {
        let builder = BatchMessageBuilder::new().messages(batch.iter().map(|&i| {
            RawMessageBuilder::new(JsValue::from_str(&messages[i])).build_with_content_type(QueueContentType::Text)
        }));
        if let Err(e) = queue.send_raw_batch(builder.build()).await {
            console_error!(
                "edge: queue send failed ({e}); forwarding {} events directly",
                batch.len()
            );
            direct.extend(batch);
        }
    }
    if !direct.is_empty() {
        let config = config.clone();
        let events: Vec<EnrichedEvent> = events
            .into_iter()
            .enumerate()
            .filter(|(i, _)| direct.contains(i))
            .map(|(_, e)| e)
            .collect();
        ctx.wait_until(async move { forward_direct(&config, events).await });
    }
}

/// Forwards without a queue: [`MAX_ATTEMPTS`] attempts per batch with [`DIRECT_BACKOFF_MS`]
/// between them; events of a batch that still fails are logged as lost (use the queue).
async fn forward_direct(config: &Config, events: Vec<EnrichedEvent>) {
    for chunk in events.chunks(MAX_EVENTS_PER_FORWARD) {
        let mut attempt = 1;
        loop {
            match post_batch(config, chunk).await {
                Delivery::Delivered | Delivery::Refused => break,
                Delivery::Retry if attempt < MAX_ATTEMPTS => {
                    let wait = DIRECT_BACKOFF_MS[(attempt - 1) as usize];
                    Delay::from(Duration::from_millis(wait)).await;
                    attempt += 1;
                }
                Delivery::Retry => {
                    console_error!(
                        "edge: {} events not delivered after {MAX_ATTEMPTS} attempts (no queue)",
                        chunk.len()
                    );
                    break;
                }
            }
        }
    }
}

/// The queue consumer: one signed ingest per up to [`MAX_EVENTS_PER_FORWARD`] messages; acks on
/// success, retries with exponential backoff otherwise (the queue's `max_retries` and
/// `dead_letter_queue` take over after [`MAX_ATTEMPTS`]).
///
/// Exported by hand rather than with `#[event(queue)]` to reach each message's `attempts`.
#[wasm_bindgen]
pub async fn queue(
    batch: MessageBatchSys,
    env: Env,
    _ctx: worker::worker_sys::Context,
) -> std::result::Result<JsValue, JsValue> {
    let messages: Vec<MessageSys> = match batch.messages() {
        Ok(array) => array.iter().map(|m| m.unchecked_into()).collect(),
        Err(e) => return Err(e),
    };
    let config = match config(&env) {
        Ok(config) => config,
        Err(_) => {
            for message in &messages {
                let _ = message.retry(retry_options(60));
            }
            return Ok(JsValue::UNDEFINED);
        }
    };
    let mut parsed: Vec<(MessageSys, EnrichedEvent)> = Vec::with_capacity(messages.len());
    for message in messages {
        let event = message
            .body()
            .ok()
            .and_then(|b| b.as_string())
            .and_then(|s| serde_json::from_str::<EnrichedEvent>(&s).ok());
        match event {
            Some(event) => parsed.push((message, event)),
            None => {
                console_error!("edge: dropping an unreadable queue message");
                let _ = message.ack();
            }
        }
    }
    for chunk in parsed.chunks(MAX_EVENTS_PER_FORWARD) {
        let events: Vec<EnrichedEvent> = chunk.iter().map(|(_, e)| e.clone()).collect();
        match post_batch(&config, &events).await {
            Delivery::Delivered | Delivery::Refused => {
                for (message, _) in chunk {
                    let _ = message.ack();
                }
            }
            Delivery::Retry => {
                for (message, _) in chunk {
                    let attempts = js_sys::Reflect::get(message, &JsValue::from_str("attempts"))
                        .ok()
                        .and_then(|a| a.as_f64())
                        .map_or(1, |a| a.max(1.0) as u32);
                    let _ = message.retry(retry_options(backoff_secs(attempts, config.retry_base_delay_secs)));
                }
            }
        }
    }
    Ok(JsValue::UNDEFINED)
}

fn retry_options(delay_seconds: u32) -> JsValue {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(
        &options,
        &JsValue::from_str("delaySeconds"),
        &JsValue::from(delay_seconds),
    );
    options.into()
}

// ---------------------------------------------------------------------------------------------
// assets

async fn serve_asset(req: Request, env: &Env) -> std::result::Result<Response, ApiError> {
    let path = req.path();
    let Some(asset) = asset_for(&path) else {
        return Err(ApiError::not_found("asset"));
    };
    let Ok(assets) = env.assets(ASSETS_BINDING) else {
        return Err(ApiError::not_found("asset"));
    };
    let url = req.url().map_err(|e| internal("url", e))?;
    let mut found = assets
        .fetch(url.to_string(), None)
        .await
        .map_err(|e| internal("assets", e))?;
    if found.status_code() != 200 {
        return Err(ApiError::not_found(&asset.path));
    }
    let bytes = found.bytes().await.map_err(|e| internal("assets", e))?;
    let tag = etag(&bytes);
    let headers = Headers::new();
    let _ = headers.set("content-type", asset.content_type);
    let _ = headers.set("cache-control", asset.cache_control);
    let _ = headers.set("etag", &tag);
    let _ = headers.set("access-control-allow-origin", "*");
    if req.headers().get("if-none-match").ok().flatten().as_deref() == Some(tag.as_str()) {
        return Ok(Response::empty()
            .map_err(|e| internal("response", e))?
            .with_status(304)
            .with_headers(headers));
    }
    Ok(Response::from_bytes(bytes)
        .map_err(|e| internal("response", e))?
        .with_headers(headers))
}
