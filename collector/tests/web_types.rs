//! The dashboard's API types (`web/src/api/generated.ts`) are generated from the Rust types, so
//! the app cannot drift from the server: this test regenerates them and fails when the committed
//! file differs. `UPDATE_WEB_TYPES=1 cargo test -p collector --test web_types` rewrites it.

use contract::api;
use query::response;
use ts_rs::{Config, TS};

fn declaration<T: TS>(cfg: &Config) -> String {
    format!("export {}\n", T::decl(cfg))
}

fn generated() -> String {
    // Counts are JSON numbers: far below 2^53 for anything the API returns.
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust types (contract::api, query::response, query::request) by\n\
         // `UPDATE_WEB_TYPES=1 cargo test -p collector --test web_types`. Do not edit by hand.\n\n",
    );
    for decl in [
        declaration::<api::User>(&cfg),
        declaration::<api::SignUpAccepted>(&cfg),
        declaration::<api::Instance>(&cfg),
        declaration::<api::Session>(&cfg),
        declaration::<api::Project>(&cfg),
        declaration::<api::ProjectList>(&cfg),
        declaration::<api::ProjectStatus>(&cfg),
        declaration::<api::Key>(&cfg),
        declaration::<api::KeyList>(&cfg),
        declaration::<api::CreatedKey>(&cfg),
        declaration::<api::ApiToken>(&cfg),
        declaration::<api::TokenList>(&cfg),
        declaration::<api::CreatedToken>(&cfg),
        declaration::<api::ShareLink>(&cfg),
        declaration::<api::ShareList>(&cfg),
        declaration::<api::SharedSite>(&cfg),
        declaration::<api::Credentials>(&cfg),
        declaration::<api::PasswordChange>(&cfg),
        declaration::<api::NewProject>(&cfg),
        declaration::<api::ProjectPatch>(&cfg),
        declaration::<api::NewLabelled>(&cfg),
        declaration::<api::NewShareLink>(&cfg),
        declaration::<api::ShareUnlock>(&cfg),
        declaration::<api::Goal>(&cfg),
        declaration::<api::GoalList>(&cfg),
        declaration::<api::NewGoal>(&cfg),
        declaration::<api::Annotation>(&cfg),
        declaration::<api::AnnotationList>(&cfg),
        declaration::<api::NewAnnotation>(&cfg),
        declaration::<api::Segment>(&cfg),
        declaration::<api::SegmentList>(&cfg),
        declaration::<api::NewSegment>(&cfg),
        declaration::<api::FunnelStepSpec>(&cfg),
        declaration::<api::FunnelStep>(&cfg),
        declaration::<api::FunnelResult>(&cfg),
        declaration::<api::SavedFunnel>(&cfg),
        declaration::<api::SavedFunnelList>(&cfg),
        declaration::<api::NewSavedFunnel>(&cfg),
        declaration::<api::JourneyNode>(&cfg),
        declaration::<api::JourneyLink>(&cfg),
        declaration::<api::JourneyDepth>(&cfg),
        declaration::<api::JourneyPath>(&cfg),
        declaration::<api::JourneyNodeRef>(&cfg),
        declaration::<api::JourneyResult>(&cfg),
        declaration::<api::SessionSummary>(&cfg),
        declaration::<api::SessionList>(&cfg),
        declaration::<api::SessionEvent>(&cfg),
        declaration::<api::SessionDetail>(&cfg),
        declaration::<response::ComparisonValues>(&cfg),
        declaration::<response::Row>(&cfg),
        declaration::<response::Totals>(&cfg),
        declaration::<response::Meta>(&cfg),
        declaration::<response::QueryResult>(&cfg),
    ] {
        out.push_str(&decl);
        out.push('\n');
    }
    let list = |names: Vec<String>| names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
    out.push_str(&format!(
        "/** Every metric of the query API (docs/query-api.md, Metrics). */\nexport const METRICS = [{}] as const;\nexport type MetricName = (typeof METRICS)[number];\n\n",
        list(query::request::Metric::ALL.iter().map(|m| m.name().to_owned()).collect())
    ));
    out.push_str(&format!(
        "/** The fields a query groups and filters by (besides `props.<key>`). */\nexport const FIELDS = [{}] as const;\nexport type FieldName = (typeof FIELDS)[number] | `props.${{string}}`;\n\n",
        list(store::analytics::Field::FIXED.iter().map(|f| f.name()).collect())
    ));
    out.push_str(&format!(
        "/** Most rows one query returns. */\nexport const MAX_LIMIT = {};\n/** Most filters in one query. */\nexport const MAX_FILTERS = {};\n",
        query::request::MAX_LIMIT,
        query::request::MAX_FILTERS
    ));
    out
}

#[test]
fn web_types_match_the_rust_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/api/generated.ts");
    let fresh = generated();
    if std::env::var_os("UPDATE_WEB_TYPES").is_some() {
        std::fs::write(&path, &fresh).expect("writing web/src/api/generated.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "web/src/api/generated.ts is out of date with the Rust API types: run\n  UPDATE_WEB_TYPES=1 cargo test -p collector --test web_types\nthen rebuild the app (scripts/build-web.sh)"
    );
}
