//! The store's atomic guarantees, on SQLite and on PostgreSQL (a fresh database per test on the
//! server named by PASSLOGIC_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).

use passlogic_idp_core::policy::AuthPolicy;
use passlogic_idp_server::store::{AttemptRow, AttemptState, NewUser, Store};
use sqlx::Connection;

const NOW: i64 = 1_800_000_000;

struct Db {
    store: Store,
    _dir: tempfile::TempDir,
    drop_url: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.drop_url.take() {
            // Drop runs inside the test's runtime, which cannot block: use a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

async fn open(postgres: bool) -> Db {
    let dir = tempfile::tempdir().unwrap();
    if !postgres {
        return Db {
            store: Store::open_sqlite(dir.path()).await.unwrap(),
            _dir: dir,
            drop_url: None,
        };
    }
    let admin = std::env::var("PASSLOGIC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
    let name = format!(
        "plidp_store_{}",
        passlogic_idp_server::tokens::new_token()
            .to_lowercase()
            .replace(['-', '_'], "")[..16]
            .to_owned()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let store = Store::open(&format!("{base}/{name}")).await.unwrap();
    Db {
        store,
        _dir: dir,
        drop_url: Some((admin, name)),
    }
}

async fn user(store: &Store) -> (i64, i64) {
    let t = store.ensure_tenant("t", "T", NOW).await.unwrap();
    let u = store
        .create_user(
            &NewUser {
                tenant_id: t,
                name: "alice".into(),
                display_name: "Alice".into(),
                email: None,
                is_admin: false,
            },
            NOW,
        )
        .await
        .unwrap()
        .unwrap();
    (t, u)
}

async fn parallel_lockout_never_exceeds_threshold(postgres: bool) {
    let db = open(postgres).await;
    let (_, uid) = user(&db.store).await;
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let s = db.store.clone();
        tasks.push(tokio::spawn(async move {
            s.reserve_answer_slot(uid, 5, NOW).await.unwrap()
        }));
    }
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap().is_some() {
            granted += 1;
        }
    }
    assert_eq!(
        granted, 5,
        "exactly the threshold of answers may be checked"
    );
    let u = db.store.user_by_id(uid).await.unwrap().unwrap();
    assert!(u.locked);
    assert_eq!(u.failed_attempts, 5);
    assert!(db
        .store
        .reserve_answer_slot(uid, 5, NOW)
        .await
        .unwrap()
        .is_none());
    db.store.unlock(uid, NOW).await.unwrap();
    assert_eq!(
        db.store.reserve_answer_slot(uid, 5, NOW).await.unwrap(),
        Some(1)
    );
}

async fn challenge_is_taken_once(postgres: bool) {
    let db = open(postgres).await;
    let (t, uid) = user(&db.store).await;
    let a = AttemptRow {
        id: "a1".into(),
        tenant_id: t,
        user_id: Some(uid),
        login_name: "alice".into(),
        state: AttemptState::Steps,
        return_to: "/".into(),
        expires_at: NOW + 600,
        pipeline: String::new(),
        version: 0,
    };
    db.store.create_attempt(&a, NOW).await.unwrap();
    db.store
        .put_challenge("a1", "matrix", "{\"g\":1}", NOW + 300)
        .await
        .unwrap();
    db.store
        .put_challenge("a1", "matrix", "{\"g\":2}", NOW + 300)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = db.store.clone();
        tasks.push(tokio::spawn(async move {
            s.take_challenge("a1", "matrix").await.unwrap()
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        if let Some(d) = t.await.unwrap() {
            got.push(d);
        }
    }
    assert_eq!(
        got,
        vec!["{\"g\":2}".to_owned()],
        "only the newest grid, only once"
    );
    assert!(db
        .store
        .advance_attempt("a1", AttemptState::Steps, AttemptState::PatternChange)
        .await
        .unwrap());
    assert!(!db
        .store
        .advance_attempt("a1", AttemptState::Steps, AttemptState::PatternChange)
        .await
        .unwrap());
    assert!(db.store.finish_attempt("a1").await.unwrap());
    assert!(!db.store.finish_attempt("a1").await.unwrap());
    assert!(db.store.attempt("a1", NOW).await.unwrap().is_none());
}

async fn use_once_and_policies(postgres: bool) {
    let db = open(postgres).await;
    let (t, uid) = user(&db.store).await;
    assert!(db
        .store
        .use_once("totp", "alice:123", NOW + 90)
        .await
        .unwrap());
    assert!(!db
        .store
        .use_once("totp", "alice:123", NOW + 90)
        .await
        .unwrap());
    assert!(db
        .store
        .use_once("totp", "alice:124", NOW + 90)
        .await
        .unwrap());
    db.store.purge_expired(NOW + 91).await.unwrap();
    assert!(db
        .store
        .use_once("totp", "alice:123", NOW + 200)
        .await
        .unwrap());

    assert_eq!(
        db.store.effective_policy(t, Some(uid)).await.unwrap(),
        AuthPolicy::default()
    );
    let strict = AuthPolicy {
        lockout_threshold: 3,
        ..AuthPolicy::default()
    };
    let pid = db.store.put_policy(t, "strict", &strict).await.unwrap();
    let g = db
        .store
        .ensure_group(t, "finance", "department")
        .await
        .unwrap();
    db.store.add_to_group(uid, g).await.unwrap();
    assert_eq!(
        db.store.effective_policy(t, Some(uid)).await.unwrap(),
        AuthPolicy::default(),
        "group without policy"
    );
    sqlx_set_group_policy(&db.store, g, pid).await;
    assert_eq!(
        db.store.effective_policy(t, Some(uid)).await.unwrap(),
        strict
    );
    assert_eq!(
        db.store.user_groups(uid).await.unwrap(),
        vec!["finance".to_owned()]
    );
}

async fn sqlx_set_group_policy(store: &Store, group: i64, policy: i64) {
    store.set_group_policy(group, Some(policy)).await.unwrap();
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(false).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(true).await
            }
        }
    };
}

both!(parallel_lockout_never_exceeds_threshold);
both!(challenge_is_taken_once);
both!(use_once_and_policies);
