//! Embeds the dashboard (`web/dist/`, built by `scripts/build-web.sh`) and the tracker
//! (`tracker/dist/`, built by `scripts/build-tracker.sh`), both committed, into the binary: a
//! table of every file with its bytes, a gzip copy compressed once here rather than on every
//! request, and a content hash for its ETag. So `cargo build -p collector` on a fresh clone gives
//! a binary that serves the dashboard and `/pixel.js` with no Node, no wasm toolchain and no
//! files around it (ARCHITECTURE.md, "Why the built apps are committed").

use std::io::Write;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Writes `$OUT_DIR/<table>.rs`: `pub static <NAME>: &[WebAsset] = &[…]` over the files of `dir`
/// that `keep` accepts.
fn embed(dir: &Path, table: &str, name: &str, keep: impl Fn(&str) -> bool) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let mut found = Vec::new();
    files(dir, &mut found);
    found.sort();
    // Each file too, not only the folder: cargo reads a folder's files by their times, so a file
    // only deleted (no other file newer) would not rerun this script, and the table would still
    // `include_bytes!` it and fail the build.
    for path in &found {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let mut code = format!("pub static {name}: &[WebAsset] = &[\n");
    let mut count = 0;
    for path in found.iter() {
        let rel = path
            .strip_prefix(dir)
            .expect("under dir")
            .to_string_lossy()
            .replace('\\', "/");
        if !keep(&rel) {
            continue;
        }
        let bytes = std::fs::read(path).expect("reading a file to embed");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).expect("gzip in memory");
        let gz = gz.finish().expect("gzip in memory");
        let gz_path = out_dir.join(format!("{table}-{count}.gz"));
        count += 1;
        std::fs::write(&gz_path, &gz).expect("writing into OUT_DIR");
        let hash = {
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(&bytes);
            digest[..8].iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        code.push_str(&format!(
            "    WebAsset {{ path: {rel:?}, bytes: include_bytes!({raw:?}), gzip: include_bytes!({gz:?}), etag: \"\\\"{hash}\\\"\" }},\n",
            raw = path.canonicalize().expect("canonical path").display().to_string(),
            gz = gz_path.display().to_string(),
        ));
    }
    code.push_str("];\n");
    if count == 0 {
        println!(
            "cargo:warning={} is empty: the binary will not serve it (build it: scripts/build-web.sh, scripts/build-tracker.sh)",
            dir.display()
        );
    }
    std::fs::write(out_dir.join(format!("{table}.rs")), code).expect("writing into OUT_DIR");
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    embed(&manifest.join("../web/dist"), "web_assets", "WEB_ASSETS", |_| true);
    // The script and its content-hashed wasm; not the build's bookkeeping (SOURCES.sha256).
    embed(
        &manifest.join("../tracker/dist"),
        "tracker_assets",
        "TRACKER_ASSETS",
        |name| name == "pixel.js" || (name.starts_with("pixel.") && name.ends_with(".wasm")),
    );
}
