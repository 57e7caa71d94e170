//! Error answers, in the collector's shape and with its status codes:
//! `{"error": "what was wrong", "code": "…"}` (README, "Sending events").

use contract::internal::RejectedEvent;
use contract::wire::BodyError;
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Extra fields merged into the body (`rejected` of an all-invalid batch).
    pub details: Option<Box<Value>>,
    /// `Retry-After` in seconds (429, 503).
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", format!("{what} not found"))
    }
    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(405, "method_not_allowed", format!("method not allowed; use {allowed}"))
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(413, "payload_too_large", message)
    }
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "unsupported_media_type", message)
    }
    pub fn too_many_requests(what: &str, retry_after: u32) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                429,
                "rate_limited",
                format!("too many requests from this {what}; retry in {} s", retry_after.max(1)),
            )
        }
    }
    /// The collector could not be reached to check a key or fetch the salt: retry.
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(5),
            ..Self::new(503, "unavailable", "the collector is unavailable; retry later")
        }
    }
    /// A bug or a missing setting; the cause is logged, not shown.
    pub fn internal() -> Self {
        Self::new(500, "internal", "internal error")
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let mut body = json!({ "error": self.message, "code": self.code });
        if let (Some(map), Some(Value::Object(details))) = (body.as_object_mut(), self.details.as_deref()) {
            map.extend(details.clone());
        }
        body.to_string()
    }
}

/// Maps a whole-body error as the collector's `ingest::body_error` does.
pub fn body_error(e: BodyError) -> ApiError {
    let message = e.to_string();
    match e {
        BodyError::TooLarge => ApiError::payload_too_large(message),
        BodyError::NotUtf8 => ApiError::bad_request("invalid_utf8", message),
        BodyError::Json(_) => ApiError::bad_request("invalid_json", message),
        BodyError::MissingKey => ApiError::unauthorized(message),
        BodyError::TooManyEvents(_) => ApiError::bad_request("too_many_events", message),
        _ => ApiError::bad_request("invalid_body", message),
    }
}

/// 400 for a request none of whose events is valid, listing each reason (as the collector).
pub fn no_valid_event(rejected: Vec<RejectedEvent>) -> ApiError {
    let message = match rejected.as_slice() {
        [only] => format!("invalid event: {}", only.error),
        _ => format!("none of the {} events is valid", rejected.len()),
    };
    ApiError {
        details: Some(Box::new(json!({ "rejected": rejected }))),
        ..ApiError::bad_request("invalid_event", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_collector_shape() {
        let v: Value = serde_json::from_str(&ApiError::unauthorized("unknown API key").body()).unwrap();
        assert_eq!(v, json!({"error": "unknown API key", "code": "unauthorized"}));
        let e = no_valid_event(vec![RejectedEvent {
            index: 0,
            error: "missing field \"n\"".into(),
        }]);
        let v: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["code"], "invalid_event");
        assert_eq!(v["rejected"][0]["index"], 0);
        assert_eq!(e.status, 400);
    }

    #[test]
    fn body_errors_map_like_the_collector() {
        assert_eq!(body_error(BodyError::TooLarge).status, 413);
        assert_eq!(body_error(BodyError::MissingKey).status, 401);
        assert_eq!(body_error(BodyError::Json("x".into())).code, "invalid_json");
        assert_eq!(body_error(BodyError::NotUtf8).code, "invalid_utf8");
        assert_eq!(body_error(BodyError::TooManyEvents(101)).code, "too_many_events");
        assert_eq!(body_error(BodyError::Empty).code, "invalid_body");
        assert_eq!(ApiError::too_many_requests("IP", 0).retry_after, Some(1));
    }
}
