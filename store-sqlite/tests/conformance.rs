//! The backend-independent suite, on a fresh database file per test.

use std::sync::Arc;

use async_trait::async_trait;
use contract::ids::ProjectId;
use store::conformance::Backend;
use store::{Millis, Store, UserId};
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

    /// A row without the columns version 4 added: it gets their defaults, as the projects of a
    /// migrated file did.
    async fn create_old_shape_project(&self, id: ProjectId, owner: UserId, name: &str, created_at: Millis) {
        let conn = rusqlite::Connection::open(self.store.path()).expect("open the file");
        conn.execute(
            "INSERT INTO projects (id, owner_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id.bytes(), owner.bytes(), name, created_at],
        )
        .expect("insert a project of the old shape");
    }
}

async fn sqlite() -> Sqlite {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in(dir.path()).expect("open store"));
    Sqlite { store, dir }
}

store::conformance_tests!(sqlite());
