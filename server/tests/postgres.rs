//! Two replicas of one evaluator over one real PostgreSQL database share one quota and one
//! budget: concurrent batches across both never overspend, a refusal spends nothing, and a
//! restarted replica sees what the other spent. `.ci/run` installs and starts PostgreSQL and
//! sets `BLINDNYM_TEST_POSTGRES`; without it the test says so and passes, except under CI.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

mod support;

use blindnym::pseudonym::bulk::DataHolder;
use blindnym_server::config::Config;
use blindnym_server::dev::DEV_DOMAIN;
use support::{Running, code, dev_config, key_set, post, start};

/// A fresh database on the server of `BLINDNYM_TEST_POSTGRES`, as a connection string.
async fn fresh_database(admin: String) -> String {
    let name = format!(
        "blindnym_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let create = name.clone();
    let admin_url = admin.clone();
    // The synchronous client runs its own runtime: off the test's async workers.
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {create}"))
            .unwrap();
    })
    .await
    .unwrap();
    let without_db: Vec<&str> = admin
        .split_whitespace()
        .filter(|part| !part.starts_with("dbname="))
        .collect();
    format!("{} dbname={name}", without_db.join(" "))
}

fn replica_config(dir: &std::path::Path, url_file: &std::path::Path, quota: u64) -> Config {
    let mut config = dev_config(dir);
    config.server.postgres_url_file = Some(url_file.to_path_buf());
    config.keys.quota = quota;
    config
}

async fn batch(replica: &Running, body: Vec<u8>) -> (u16, String) {
    let signer = support::data_holder(&replica.dev_dir);
    let (status, bytes) = post(
        &format!("{}/v1/flow-b/evaluate", replica.url),
        Some(&signer),
        body,
    )
    .await;
    let code = if status == 200 {
        "ok".to_owned()
    } else {
        code(&bytes)
    };
    (status, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_quota_and_budget_in_postgres() {
    let Ok(admin) = std::env::var("BLINDNYM_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test against PostgreSQL (.ci/run sets BLINDNYM_TEST_POSTGRES)"
        );
        eprintln!("skipped: set BLINDNYM_TEST_POSTGRES to a PostgreSQL connection string");
        return;
    };
    let url = fresh_database(admin).await;
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("postgres.url");
    blindnym_server::config::write_private(&url_file, url.as_bytes()).unwrap();
    // One evaluator (the same keys), two replicas, each with its own local folder.
    let (first_dir, second_dir) = (dir.path().join("first"), dir.path().join("second"));
    std::fs::create_dir_all(&first_dir).unwrap();
    std::fs::create_dir_all(&second_dir).unwrap();
    for secret in ["root.seed", "signer.key", "data-holder.key", "holder.key"] {
        let _ = dev_config(&first_dir);
        std::fs::copy(first_dir.join(secret), second_dir.join(secret)).unwrap();
    }
    let quota = 2500;
    let first = start(&replica_config(&first_dir, &url_file, quota)).await;
    let second = start(&replica_config(&second_dir, &url_file, quota)).await;
    let config = replica_config(&first_dir, &url_file, quota);
    let keys = key_set(&first, &config).await;
    let holder = DataHolder::new(keys, DEV_DOMAIN.as_bytes()).unwrap();
    let ids: Vec<String> = (0..1000).map(|i| format!("id-{i}")).collect();
    let (_, thousand) = holder.blind_batch(&ids, &mut rand::rng()).unwrap();

    // Four batches of 1000 at once, two to each replica: exactly two fit the shared 2500.
    let results = futures_join(&first, &second, thousand.to_bytes()).await;
    let accepted = results.iter().filter(|(status, _)| *status == 200).count();
    let refused = results
        .iter()
        .filter(|r| *r == &(429, "QuotaExceeded".to_owned()))
        .count();
    assert_eq!((accepted, refused), (2, 2), "{results:?}");
    let used = |replica: &Running| {
        let store = replica.state.store();
        (
            store
                .quota_used(b"dev data holder", DEV_DOMAIN.as_bytes())
                .unwrap(),
            store
                .budget_used(&replica.state.budget_key(1, "bulk"))
                .unwrap(),
        )
    };
    // Both replicas read the same counts; the budget was spent before the quota refused.
    assert_eq!(used(&first), (2000, 4000));
    assert_eq!(used(&second), (2000, 4000));

    // A replica restarted over the same database sees what both spent.
    first.stop().await;
    let first = start(&replica_config(&first_dir, &url_file, quota)).await;
    assert_eq!(used(&first), (2000, 4000));
    let (_, five_hundred) = holder.blind_batch(&ids[..500], &mut rand::rng()).unwrap();
    let (_, one) = holder.blind_batch(&ids[..1], &mut rand::rng()).unwrap();
    assert_eq!(batch(&second, five_hundred.to_bytes()).await.0, 200);
    assert_eq!(
        batch(&first, one.to_bytes()).await,
        (429, "QuotaExceeded".to_owned())
    );
    assert_eq!(used(&first), (2500, 4501));
    first.stop().await;
    second.stop().await;
}

/// Two batches to each replica, all in flight at once.
async fn futures_join(first: &Running, second: &Running, body: Vec<u8>) -> Vec<(u16, String)> {
    let (a, b, c, d) = tokio::join!(
        batch(first, body.clone()),
        batch(second, body.clone()),
        batch(first, body.clone()),
        batch(second, body),
    );
    vec![a, b, c, d]
}
