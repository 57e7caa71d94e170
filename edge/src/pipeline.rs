//! What `POST /api/event` and the GIF do with a request, minus the I/O: the same steps and
//! answers as the collector's direct endpoint (`collector::ingest::accept_direct`), built on the
//! same `contract` functions.

use contract::enrich::DailySalt;
use contract::enriched::{enrich, Dropped, EnrichedEvent, Geo, RequestContext};
use contract::ids::{ProjectId, MINTED_ID_RANDOM_BYTES};
use contract::internal::RejectedEvent;
use contract::wire::Submission;
pub use contract::wire::{gif_body, Accepted, PIXEL_GIF};
use serde::Deserialize;

use crate::error::{no_valid_event, ApiError};

/// The shared content-type rule ([`contract::wire::check_content_type`]) as a 415.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    contract::wire::check_content_type(content_type).map_err(ApiError::unsupported_media_type)
}

/// Enriches every valid event of a submission whose key resolved to `project_id`.
pub fn enrich_submission(
    submission: Submission,
    project_id: ProjectId,
    ctx: &RequestContext,
    salt: &DailySalt,
    mut random_id: impl FnMut() -> [u8; MINTED_ID_RANDOM_BYTES],
) -> Result<(Vec<EnrichedEvent>, Accepted), ApiError> {
    let mut valid = Vec::with_capacity(submission.events.len());
    let mut answer = Accepted::default();
    for (index, event) in submission.events.into_iter().enumerate() {
        match event {
            Ok(event) => match enrich(event, project_id, ctx, salt, submission.webdriver, &mut random_id) {
                Ok(enriched) => valid.push(enriched),
                Err(Dropped::Bot) => answer.dropped += 1,
            },
            Err(e) => answer.rejected.push(RejectedEvent {
                index,
                error: e.to_string(),
            }),
        }
    }
    if valid.is_empty() && answer.dropped == 0 {
        return Err(no_valid_event(answer.rejected));
    }
    answer.accepted = valid.len();
    Ok((valid, answer))
}

/// The parts of Cloudflare's `request.cf` the edge uses.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CfProperties {
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub timezone: Option<String>,
    pub colo: Option<String>,
    pub asn: Option<u32>,
    pub bot_management: Option<BotManagement>,
}

/// `request.cf.botManagement`, present on zones with Bot Management.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BotManagement {
    pub score: Option<u8>,
    #[serde(default)]
    pub verified_bot: bool,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The request context for enrichment. `ip` is `CF-Connecting-IP`: it only feeds the visitor id.
pub fn request_context(received_at: i64, ip: &str, user_agent: &str, cf: CfProperties) -> RequestContext {
    let bot = cf.bot_management.unwrap_or_default();
    RequestContext {
        received_at,
        ip: ip.trim().to_owned(),
        user_agent: user_agent.to_owned(),
        geo: Geo {
            country: non_empty(cf.country)
                .map(|c| c.to_ascii_uppercase())
                .filter(|c| c.len() == 2 && c != "XX" && c != "T1"),
            region: non_empty(cf.region),
            city: non_empty(cf.city),
            timezone: non_empty(cf.timezone),
            colo: non_empty(cf.colo),
            asn: cf.asn.filter(|a| *a != 0),
        },
        bot_score: bot.score.filter(|s| *s > 0),
        verified_bot: bot.verified_bot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::wire::parse_body;
    use serde_json::json;
    use serde_json::Value;

    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    fn project() -> ProjectId {
        ProjectId::parse("0123456789abcdef01234567").unwrap()
    }

    fn cf() -> CfProperties {
        serde_json::from_value(json!({
            "country": "de", "region": "Berlin", "city": "Berlin", "timezone": "Europe/Berlin",
            "colo": "TXL", "asn": 3320, "botManagement": {"score": 90, "verifiedBot": false},
            "httpProtocol": "HTTP/2"
        }))
        .unwrap()
    }

    #[test]
    fn context_takes_geo_and_bot_signals_from_cf() {
        let ctx = request_context(1_000, " 203.0.113.9 ", UA, cf());
        assert_eq!(ctx.ip, "203.0.113.9");
        assert_eq!(ctx.geo.country.as_deref(), Some("DE"));
        assert_eq!(ctx.geo.colo.as_deref(), Some("TXL"));
        assert_eq!(ctx.geo.asn, Some(3320));
        assert_eq!(ctx.bot_score, Some(90));
        let unknown = request_context(
            1_000,
            "",
            UA,
            CfProperties {
                country: Some("XX".into()),
                ..Default::default()
            },
        );
        assert_eq!(unknown.geo, Geo::default());
        assert_eq!(unknown.bot_score, None);
    }

    #[test]
    fn enriches_like_the_collector_and_counts_bots_and_rejects() {
        let body = json!({"k": "mtr_x", "e": [
            {"n": "pageview", "u": "https://www.shop.io/?utm_source=news", "r": "https://www.google.com/", "id": "e1"},
            {"n": "pageview", "u": "not a url"},
        ]});
        let submission = parse_body(body.to_string().as_bytes()).unwrap();
        let salt = DailySalt::from_bytes([3; 32]);
        let ctx = request_context(5_000, "203.0.113.9", UA, cf());
        let (events, answer) = enrich_submission(submission, project(), &ctx, &salt, || [1; 9]).unwrap();
        assert_eq!((answer.accepted, answer.dropped, answer.rejected.len()), (1, 0, 1));
        let e = &events[0];
        assert_eq!(e.source.as_deref(), Some("news"));
        assert_eq!(
            e.visitor_id,
            contract::enrich::visitor::visitor_id(&salt, &project().to_string(), "203.0.113.9", UA)
        );
        assert_eq!(e.geo.city.as_deref(), Some("Berlin"));
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["rejected"][0]["index"], 1);

        let bot = parse_body(br#"{"k":"mtr_x","b":true,"n":"pageview","u":"https://shop.io/"}"#).unwrap();
        let (events, answer) = enrich_submission(bot, project(), &ctx, &salt, || [1; 9]).unwrap();
        assert!(events.is_empty());
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"accepted": 0, "dropped": 1})
        );

        let invalid = parse_body(br#"{"k":"mtr_x","n":"pageview"}"#).unwrap();
        let err = enrich_submission(invalid, project(), &ctx, &salt, || [1; 9]).unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_event"));
    }

    #[test]
    fn content_types() {
        assert!(check_content_type(None).is_ok());
        assert!(check_content_type(Some("text/plain;charset=UTF-8")).is_ok());
        assert!(check_content_type(Some("Application/JSON")).is_ok());
        assert_eq!(
            check_content_type(Some("application/x-www-form-urlencoded"))
                .unwrap_err()
                .status,
            415
        );
    }

    #[test]
    fn gif_query_becomes_a_body() {
        let body = gif_body("k=mtr_a&u=https%3A%2F%2Fx.org%2Fp&w=1440&junk=1", None);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"k": "mtr_a", "n": "pageview", "u": "https://x.org/p", "w": 1440})
        );
        let v: Value = serde_json::from_slice(&gif_body("k=mtr_a", Some("https://x.org/from"))).unwrap();
        assert_eq!(v["u"], "https://x.org/from");
    }
}
