//! Keys issued and revoked through the admin API survive a restart: they are kept (as hashes,
//! never the keys) in the keys file, by default `admin-keys.json` in `server.log_dir`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use llmgw_governance::KeyHash;
use serde_json::json;

/// Every file under `dir` (outcome logs included) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(path.display().to_string());
                }
            }
        }
    }
    hits
}

async fn key_ids(gw: &Gw) -> Vec<String> {
    let list = gw.get("/admin/keys", Some(ADMIN_KEY)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issued_keys_and_revocations_survive_a_restart() {
    let gw = start(&keys_toml()).await;
    let key = gw
        .issue_key(json!({"id": "ci-bot", "models": ["cheap"], "requests_per_minute": 2}))
        .await;
    assert_eq!(gw.chat(Some(&key), "cheap", "hi").await.status, 200);
    // A key from the config file, revoked through the admin API.
    assert_eq!(gw.revoke_key("slow").await, 200);
    let dir = gw.stop().await;

    let file = dir
        .path()
        .join("log")
        .join(llmgw_config::DEFAULT_KEYS_FILE_NAME);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&KeyHash::of(&key).to_hex()), "{text}");
    assert!(
        text.contains(&KeyHash::of(SLOW_KEY).to_hex()),
        "the revocation is kept: {text}"
    );
    assert_eq!(
        files_containing(dir.path(), &key),
        Vec::<String>::new(),
        "the key itself is nowhere on disk"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "keys file mode {mode:o}");
    }

    // Restarted on the same folder: the key works, with its limits.
    let gw = start_in(dir, &keys_toml()).await;
    assert!(key_ids(&gw).await.contains(&"ci-bot".to_string()));
    assert_eq!(gw.chat(Some(&key), "cheap", "one").await.status, 200);
    assert_eq!(gw.chat(Some(&key), "backup", "not mine").await.status, 403);
    assert_eq!(gw.chat(Some(&key), "cheap", "two").await.status, 200);
    let seen = gw.chat(Some(&key), "cheap", "three").await;
    assert_eq!(seen.status, 429, "{}", seen.body);
    assert_eq!(seen.error()["code"], "requests_per_minute_exceeded");
    // The revoked config key stays revoked; the others still work.
    assert_eq!(gw.chat(Some(SLOW_KEY), "cheap", "hi").await.status, 401);
    assert_eq!(gw.chat(Some(TEAM_KEY), "cheap", "hi").await.status, 200);

    // Revoked, restarted: gone for good.
    assert_eq!(gw.revoke_key("ci-bot").await, 200);
    assert_eq!(gw.chat(Some(&key), "cheap", "hi").await.status, 401);
    let dir = gw.stop().await;
    assert_eq!(files_containing(dir.path(), &key), Vec::<String>::new());
    let gw = start_in(dir, &keys_toml()).await;
    assert_eq!(gw.chat(Some(&key), "cheap", "hi").await.status, 401);
    let ids = key_ids(&gw).await;
    assert_eq!(ids, ["pool", "team", "thrifty"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_cannot_be_saved_is_not_issued() {
    let extra = format!("{}keys_file = \"state/keys.json\"\n", keys_toml());
    let gw = start(&extra).await;
    // The keys file's folder turns out to be a plain file: nothing can be written there.
    std::fs::write(gw.dir.path().join("state"), "not a folder").unwrap();
    let seen = gw
        .send(
            reqwest::Method::POST,
            "/admin/keys",
            Some(ADMIN_KEY),
            Some(json!({"id": "doomed"})),
        )
        .await;
    assert_eq!(seen.status, 500, "{}", seen.body);
    let err = seen.error();
    assert_eq!(err["code"], "keys_not_saved");
    assert!(!seen.body.contains("sk-llmgw-"), "{}", seen.body);
    assert!(!key_ids(&gw).await.contains(&"doomed".to_string()));
    // Revocations are refused the same way, and the key keeps working.
    assert_eq!(gw.revoke_key("team").await, 500);
    assert_eq!(gw.chat(Some(TEAM_KEY), "cheap", "hi").await.status, 200);
    gw.stop().await;
}

#[test]
fn an_unreadable_keys_file_stops_the_start_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.toml"), CATALOG).unwrap();
    std::fs::write(
        dir.path().join("keys.json"),
        "{\"version\": 1, \"issued\": [",
    )
    .unwrap();
    let config = "catalog = \"catalog.toml\"\n[providers.simoa]\nkind = \"openai\"\n\
                  [providers.simant]\nkind = \"anthropic\"\n[providers.nokey]\nkind = \"openai\"\n\
                  [admin]\nkeys_file = \"keys.json\"\n";
    let path = dir.path().join("llmgw.toml");
    std::fs::write(&path, config).unwrap();
    let config = llmgw_config::Config::load(&path).unwrap();
    let err = llmgw_server::governance::governor_from_config(&config)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("keys.json") && err.contains("not valid"),
        "{err}"
    );
}
