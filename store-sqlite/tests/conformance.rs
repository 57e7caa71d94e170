//! The backend-independent suite, on a fresh database file per test.

use std::sync::Arc;

use async_trait::async_trait;
use store::conformance::Backend;
use store::Store;
use store_sqlite::SqliteStore;
use tempfile::TempDir;

struct Sqlite {
    store: Arc<SqliteStore>,
    // Declared last so it is dropped (and the directory deleted) after the store.
    dir: TempDir,
}

#[async_trait]
impl Backend for Sqlite {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// A second store on the same file: what another collector process would open.
    async fn twin(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open_in(self.dir.path()).expect("open twin"))
    }
}

async fn sqlite() -> Sqlite {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in(dir.path()).expect("open store"));
    Sqlite { store, dir }
}

store::conformance_tests!(sqlite());
