//! Signing keys: first start, rotation without restart, old tokens still valid.

use crate::helpers::{spawn_app, verify_with};
use jsonwebtoken::jwk::JwkSet;
use std::time::Duration;

const SMS: &str = "search-match-sandbox";
const SMS_AUD: &str = "https://sandbox.registry.example/search-match";

#[tokio::test]
async fn first_start_generates_one_private_es256_key_file() {
    let app = spawn_app().await;
    let files: Vec<_> = std::fs::read_dir(&app.keys_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let pem = std::fs::read_to_string(&files[0]).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key file must be private to its owner");
    }
    let listed = app.cli_json(&["keys", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["alg"], "ES256");
    assert_eq!(listed[0]["active"], true);
    let kid = listed[0]["kid"].as_str().unwrap();
    assert!(files[0].ends_with(format!("{kid}.pem")));
}

#[tokio::test]
async fn activated_key_signs_without_restart_and_old_tokens_keep_validating() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let old_token = app.token_for(&client, &[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = jsonwebtoken::decode_header(&old_token)
        .unwrap()
        .kid
        .unwrap();

    let generated = app.cli_json(&["keys", "generate", "--alg", "EdDSA", "--activate"]);
    let new_kid = generated["kid"].as_str().unwrap().to_owned();
    assert_eq!(generated["alg"], "EdDSA");
    assert_ne!(new_kid, old_kid);

    // The server checks for a new active key every second in tests.
    let mut new_token = String::new();
    for _ in 0..50 {
        new_token = app.token_for(&client, &[]).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        if jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .as_deref()
            == Some(new_kid.as_str())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .unwrap(),
        new_kid
    );

    let jwks: JwkSet =
        serde_json::from_value(app.get_json("/.well-known/jwks.json").await).unwrap();
    assert!(jwks.find(&old_kid).is_some() && jwks.find(&new_kid).is_some());
    verify_with(&jwks, &old_token, &app.issuer, SMS_AUD).unwrap();
    verify_with(&jwks, &new_token, &app.issuer, SMS_AUD).unwrap();

    let listed = app.cli_json(&["keys", "list"]);
    let active: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["kid"], new_kid.as_str());
}

#[tokio::test]
async fn retired_key_leaves_the_jwks_after_a_token_lifetime() {
    let app = spawn_app().await;
    let old_kid = app.cli_json(&["keys", "list"])[0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    app.cli_json(&["keys", "generate", "--activate"]);

    // Move past one token lifetime (900 s) and the grace minute.
    app.clock.advance(time::Duration::seconds(900 + 61));
    let mut still_there = true;
    for _ in 0..50 {
        let jwks: JwkSet =
            serde_json::from_value(app.get_json("/.well-known/jwks.json").await).unwrap();
        still_there = jwks.find(&old_kid).is_some();
        if !still_there {
            assert_eq!(jwks.keys.len(), 1);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !still_there,
        "the retired key should no longer be published"
    );
}

#[tokio::test]
async fn activating_an_unknown_kid_fails_and_changes_nothing() {
    let app = spawn_app().await;
    let before = app.cli_json(&["keys", "list"]);
    let output = app.cli(&["keys", "activate", "no-such-kid"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no key no-such-kid"));
    assert_eq!(app.cli_json(&["keys", "list"]), before);
}
