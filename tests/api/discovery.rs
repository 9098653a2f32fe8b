//! Discovery (RFC 8414) and the JWKS.

use crate::helpers::spawn_app;

#[tokio::test]
async fn both_discovery_documents_describe_the_token_endpoint() {
    let app = spawn_app().await;
    let oauth = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let openid = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(oauth, openid);
    assert_eq!(oauth["issuer"], app.issuer);
    assert_eq!(
        oauth["token_endpoint"],
        format!("{}/oauth2/token", app.issuer)
    );
    assert_eq!(
        oauth["jwks_uri"],
        format!("{}/.well-known/jwks.json", app.issuer)
    );
    assert_eq!(
        oauth["grant_types_supported"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(
        oauth["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        oauth["introspection_endpoint"],
        format!("{}/oauth2/introspect", app.issuer)
    );
    assert_eq!(
        oauth["introspection_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    let scopes = oauth["scopes_supported"].as_array().unwrap();
    assert_eq!(scopes.len(), 6);
    assert!(scopes.contains(&"match-connect-sandbox".into()));
}

#[tokio::test]
async fn configured_issuer_is_used_verbatim() {
    let app =
        crate::helpers::spawn_app_with(|s| s.issuer = "https://auth.registry.example/".into())
            .await;
    let doc = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(doc["issuer"], "https://auth.registry.example");
    assert_eq!(
        doc["token_endpoint"],
        "https://auth.registry.example/oauth2/token"
    );
}

#[tokio::test]
async fn jwks_publishes_the_active_key_with_kid_alg_and_use() {
    let app = spawn_app().await;
    let jwks = app.get_json("/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].as_str().is_some_and(|k| k.len() == 43));
    assert!(
        key.get("d").is_none(),
        "the private part must never be published"
    );
}

#[tokio::test]
async fn health_and_readiness_answer_on_the_ops_listener() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = app
            .client
            .get(format!("{}{path}", app.ops_address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    // And not on the main listener.
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn server_stops_gracefully_and_closes_its_listeners() {
    let mut app = spawn_app().await;
    let address = app.address.clone();
    let client = app.client.clone();
    app.stop().await;
    assert!(
        client
            .get(format!("{address}/.well-known/jwks.json"))
            .send()
            .await
            .is_err()
    );
}
