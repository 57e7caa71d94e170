//! Serves the demo SPA (`tracker/demo/`) with its placeholders filled in, so a newcomer sees
//! events arrive (`scripts/run.sh` starts it next to the collector):
//!
//! ```sh
//! cargo run -p tracker --example demo -- --api http://127.0.0.1:8080 --key mtr_… [--port 8081]
//! ```
//!
//! Open `http://127.0.0.1:8081/` (the SPA) or `http://localhost:8081/landing.html` (another
//! "site" linking in with UTM parameters). The pages use `data-allow-local`, so local visits count.

use std::path::PathBuf;

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

#[derive(Clone)]
struct Demo {
    dir: PathBuf,
    replacements: Vec<(&'static str, String)>,
}

async fn page(State(demo): State<Demo>, uri: Uri) -> Response {
    let file = match uri.path() {
        "/landing.html" => "landing.html",
        "/hash.html" => "hash.html",
        "/favicon.ico" => return StatusCode::NOT_FOUND.into_response(),
        // Any other path is the SPA (its router renders /pricing, /about on reload too).
        _ => "index.html",
    };
    match std::fs::read_to_string(demo.dir.join(file)) {
        Ok(html) => {
            let html = demo
                .replacements
                .iter()
                .fold(html, |html, (from, to)| html.replace(from, to));
            ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut api, mut key, mut port, mut outbound) = (None, None, 8081u16, "https://example.com/".to_owned());
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--api" => api = Some(value.trim_end_matches('/').to_owned()),
            "--key" => key = Some(value),
            "--port" => port = value.parse().unwrap_or_else(|_| usage("--port: a port number")),
            "--outbound" => outbound = value,
            other => usage(&format!("unknown flag {other}")),
        }
    }
    let (Some(api), Some(key)) = (api, key) else {
        usage("--api and --key are required")
    };
    let site = format!("http://127.0.0.1:{port}");
    let demo = Demo {
        dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo"),
        replacements: vec![
            ("{{API}}", api),
            ("{{KEY}}", key),
            ("{{SITE}}", site.clone()),
            ("{{OUTBOUND}}", outbound),
        ],
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| usage(&format!("port {port}: {e}")));
    println!("demo site: {site}/   (a referring site: http://localhost:{port}/landing.html)");
    axum::serve(listener, axum::Router::new().fallback(page).with_state(demo))
        .await
        .expect("demo server");
}

fn usage(why: &str) -> ! {
    eprintln!("demo: {why}\nusage: demo --api COLLECTOR_URL --key mtr_… [--port 8081] [--outbound URL]");
    std::process::exit(2)
}
