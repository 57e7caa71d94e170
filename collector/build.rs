//! Embeds the dashboard (`web/dist/`, built by `scripts/build-web.sh` and committed) into the
//! binary: a table of every file with its bytes, a gzip copy compressed once here rather than on
//! every request, and a content hash for its ETag. So `cargo build -p collector` on a fresh clone
//! gives a binary that serves the dashboard with no Node and no files around it
//! (ARCHITECTURE.md, "Why web/dist is committed").

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

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = manifest.join("../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));

    let mut found = Vec::new();
    files(&dist, &mut found);
    found.sort();
    if found.is_empty() {
        println!("cargo:warning=web/dist is missing: the binary will answer 503 on the dashboard's pages (run scripts/build-web.sh)");
    }

    let mut table = String::from("pub static WEB_ASSETS: &[WebAsset] = &[\n");
    for (i, path) in found.iter().enumerate() {
        let bytes = std::fs::read(path).expect("reading a web/dist file");
        let name = path
            .strip_prefix(&dist)
            .expect("under dist")
            .to_string_lossy()
            .replace('\\', "/");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).expect("gzip in memory");
        let gz = gz.finish().expect("gzip in memory");
        let gz_path = out_dir.join(format!("web-asset-{i}.gz"));
        std::fs::write(&gz_path, &gz).expect("writing into OUT_DIR");
        let hash = {
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(&bytes);
            digest[..8].iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        table.push_str(&format!(
            "    WebAsset {{ path: {name:?}, bytes: include_bytes!({raw:?}), gzip: include_bytes!({gz:?}), etag: \"\\\"{hash}\\\"\" }},\n",
            raw = path.canonicalize().expect("canonical path").display().to_string(),
            gz = gz_path.display().to_string(),
        ));
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("web_assets.rs"), table).expect("writing into OUT_DIR");
}
