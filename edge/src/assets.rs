//! The tracker script: `/pixel.js` and its content-hashed wasm, from wrangler's static assets
//! (the `ASSETS` binding over `edge/build/assets`, a copy of `tracker/dist` made by
//! `scripts/build-edge.sh`). Same cache policy as the collector's `routes::assets`.

/// `Cache-Control` of `/pixel.js`: sites embed this stable URL, so an hour, then revalidate (by
/// ETag); a stale copy may serve a day meanwhile.
pub const SCRIPT_CACHE_CONTROL: &str = "public, max-age=3600, stale-while-revalidate=86400";
/// `Cache-Control` of `pixel.<hash>.wasm`: its name changes with its content.
pub const HASHED_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// An asset route: the file's path and its `Cache-Control` and content type.
#[derive(Debug, PartialEq, Eq)]
pub struct Asset {
    pub path: String,
    pub cache_control: &'static str,
    pub content_type: &'static str,
}

/// The asset served at `path`, if any: `/pixel.js` and `/pixel.<hex>.wasm` (and
/// `/pixel.<hex>.js`), nothing else of the folder.
pub fn asset_for(path: &str) -> Option<Asset> {
    if path == "/pixel.js" {
        return Some(Asset {
            path: path.into(),
            cache_control: SCRIPT_CACHE_CONTROL,
            content_type: "text/javascript; charset=utf-8",
        });
    }
    let rest = path.strip_prefix("/pixel.")?;
    let (hash, content_type) = if let Some(hash) = rest.strip_suffix(".wasm") {
        (hash, "application/wasm")
    } else {
        (rest.strip_suffix(".js")?, "text/javascript; charset=utf-8")
    };
    let hashed = !hash.is_empty() && hash.len() <= 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    hashed.then(|| Asset {
        path: path.into(),
        cache_control: HASHED_CACHE_CONTROL,
        content_type,
    })
}

/// A strong ETag from the content: the first 16 hex digits of its SHA-256.
pub fn etag(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", &contract::encode_hex(&Sha256::digest(bytes))[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tracker_files_are_reachable() {
        assert_eq!(asset_for("/pixel.js").unwrap().cache_control, SCRIPT_CACHE_CONTROL);
        let wasm = asset_for("/pixel.0a1b2c3d.wasm").unwrap();
        assert_eq!(
            (wasm.cache_control, wasm.content_type),
            (HASHED_CACHE_CONTROL, "application/wasm")
        );
        for no in [
            "/pixel..wasm",
            "/pixel.zz.wasm",
            "/index.html",
            "/pixel.js.map",
            "/x/pixel.js",
            "/pixel.abc.txt",
        ] {
            assert_eq!(asset_for(no), None, "{no}");
        }
        assert_eq!(etag(b"x").len(), 18);
    }
}
