//! `POST /oauth2/token`: every success and error case of the contract.

use crate::helpers::{basic_header, claims_of, form_body, spawn_app, spawn_app_with};
use serde_json::Value;
use tessera_admin::Acting;
use time::Duration;

const SMS: &str = "search-match-sandbox";
const SMS_AUD: &str = "https://sandbox.registry.example/search-match";
const DMS: &str = "data-manager-sandbox";
const DMS_AUD: &str = "https://sandbox.registry.example/data-manager";

#[tokio::test]
async fn basic_authentication_gets_a_token_that_verifies_against_the_jwks() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;

    let response = app.request_token(&client, &[]).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], SMS);
    let claims = app
        .verify(body["access_token"].as_str().unwrap(), SMS_AUD)
        .await;
    assert_eq!(claims["sub"], client.client_id.to_string());
    assert_eq!(claims["client_id"], client.client_id.to_string());
    assert_eq!(claims["aud"], SMS_AUD);
    assert_eq!(claims["scope"], SMS);
    assert_eq!(claims["iss"], app.issuer);
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["nbf"].as_i64().unwrap(), iat);
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 900);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["org"].as_str().is_some());
}

#[tokio::test]
async fn client_secret_post_gets_a_token() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let id = client.client_id.to_string();

    let response = app
        .post_token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &client.secret),
            ],
            None,
        )
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    app.verify(body["access_token"].as_str().unwrap(), SMS_AUD)
        .await;
}

#[tokio::test]
async fn every_token_has_its_own_jti() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let a = app.token_for(&client, &[]).await;
    let b = app.token_for(&client, &[]).await;
    assert_ne!(
        claims_of(a["access_token"].as_str().unwrap())["jti"],
        claims_of(b["access_token"].as_str().unwrap())["jti"]
    );
}

#[tokio::test]
async fn token_lifetime_follows_configuration() {
    let app = spawn_app_with(|s| s.token.ttl_seconds = 120).await;
    let client = app.create_client(&[SMS]).await;
    let body = app.token_for(&client, &[]).await;
    assert_eq!(body["expires_in"], 120);
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
}

#[tokio::test]
async fn without_scope_or_resource_every_held_resource_is_granted_with_an_audience_array() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS, DMS]).await;
    let body = app.token_for(&client, &[]).await;
    assert_eq!(body["scope"], format!("{DMS} {SMS}"));
    let claims = app
        .verify(body["access_token"].as_str().unwrap(), SMS_AUD)
        .await;
    assert_eq!(claims["aud"], serde_json::json!([DMS_AUD, SMS_AUD]));
}

#[tokio::test]
async fn scope_narrows_the_grant() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS, DMS]).await;
    let body = app.token_for(&client, &[("scope", DMS)]).await;
    assert_eq!(body["scope"], DMS);
    let claims = app
        .verify(body["access_token"].as_str().unwrap(), DMS_AUD)
        .await;
    assert_eq!(claims["aud"], DMS_AUD);
}

#[tokio::test]
async fn resource_indicator_narrows_the_grant() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS, DMS]).await;
    let body = app.token_for(&client, &[("resource", SMS_AUD)]).await;
    assert_eq!(body["scope"], SMS);
    let claims = app
        .verify(body["access_token"].as_str().unwrap(), SMS_AUD)
        .await;
    assert_eq!(claims["aud"], SMS_AUD);
}

#[tokio::test]
async fn repeated_resource_indicators_grant_each() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS, DMS]).await;
    let body = app
        .token_for(&client, &[("resource", SMS_AUD), ("resource", DMS_AUD)])
        .await;
    assert_eq!(body["scope"], format!("{DMS} {SMS}"));
}

async fn assert_error(
    response: reqwest::Response,
    status: u16,
    error: &str,
) -> reqwest::header::HeaderMap {
    assert_eq!(response.status(), status);
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    headers
}

#[tokio::test]
async fn scope_not_held_is_invalid_scope() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let id = client.client_id.to_string();
    for scope in [
        "search-match-production",
        "no-such-resource",
        "search-match-sandbox data-manager-sandbox",
    ] {
        let response = app
            .post_token(
                &[("grant_type", "client_credentials"), ("scope", scope)],
                Some((&id, &client.secret)),
            )
            .await;
        assert_error(response, 400, "invalid_scope").await;
    }
}

#[tokio::test]
async fn resource_not_held_is_invalid_target() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let id = client.client_id.to_string();
    for resource in [DMS_AUD, "https://elsewhere.example/api", "not a uri"] {
        let response = app
            .post_token(
                &[("grant_type", "client_credentials"), ("resource", resource)],
                Some((&id, &client.secret)),
            )
            .await;
        assert_error(response, 400, "invalid_target").await;
    }
}

#[tokio::test]
async fn missing_grant_type_is_invalid_request() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let response = app
        .post_token(
            &[("scope", SMS)],
            Some((&client.client_id.to_string(), &client.secret)),
        )
        .await;
    assert_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn other_grant_types_are_unsupported() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    for grant in ["password", "authorization_code", "refresh_token"] {
        let response = app
            .post_token(
                &[("grant_type", grant)],
                Some((&client.client_id.to_string(), &client.secret)),
            )
            .await;
        assert_error(response, 400, "unsupported_grant_type").await;
    }
}

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let response = app
        .request_token(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn both_authentication_methods_at_once_is_invalid_request() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let id = client.client_id.to_string();
    let response = app
        .post_token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &client.secret),
            ],
            Some((&id, &client.secret)),
        )
        .await;
    assert_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn no_client_authentication_is_invalid_client() {
    let app = spawn_app().await;
    let response = app
        .post_token(&[("grant_type", "client_credentials")], None)
        .await;
    let headers = assert_error(response, 401, "invalid_client").await;
    assert!(!headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn wrong_secret_with_basic_is_invalid_client_with_a_challenge() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    // Same first three characters, so it reaches argon2, and a wholly wrong one.
    let near_miss = format!("{}{}", &client.secret[..3], "x".repeat(40));
    for secret in [near_miss.as_str(), "wrong"] {
        let response = app
            .post_token(
                &[("grant_type", "client_credentials")],
                Some((&client.client_id.to_string(), secret)),
            )
            .await;
        let headers = assert_error(response, 401, "invalid_client").await;
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
}

#[tokio::test]
async fn wrong_secret_with_post_is_invalid_client() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let id = client.client_id.to_string();
    let response = app
        .post_token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", "wrong"),
            ],
            None,
        )
        .await;
    assert_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn unknown_or_malformed_client_is_invalid_client() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let response = app
            .post_token(
                &[("grant_type", "client_credentials")],
                Some((&id, &client.secret)),
            )
            .await;
        assert_error(response, 401, "invalid_client").await;
    }
}

#[tokio::test]
async fn malformed_basic_header_is_invalid_client() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/oauth2/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Basic %%%not-base64")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let headers = assert_error(response, 401, "invalid_client").await;
    assert!(headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn basic_credentials_are_form_urldecoded() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    // A client id with its dashes percent-encoded, as some clients send it.
    let encoded_id = client.client_id.to_string().replace('-', "%2D");
    let credentials = format!("{encoded_id}:{}", client.secret);
    let response = app
        .client
        .post(format!("{}/oauth2/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!(
                "Basic {}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, credentials)
            ),
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn deleted_secret_is_invalid_client() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    app.token_for(&client, &[]).await;

    app.admin
        .delete_secret(&Acting::cli(), client.client_id, client.secret_id)
        .await
        .unwrap();

    let response = app.request_token(&client, &[]).await;
    assert_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn expired_secret_is_invalid_client() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let (_, short_lived) = app
        .add_secret(client.client_id, Some(app.clock_now() + Duration::hours(1)))
        .await;
    let id = client.client_id.to_string();
    let ok = app
        .post_token(
            &[("grant_type", "client_credentials")],
            Some((&id, &short_lived)),
        )
        .await;
    assert_eq!(ok.status(), 200);

    app.clock.advance(Duration::hours(1));

    let response = app
        .post_token(
            &[("grant_type", "client_credentials")],
            Some((&id, &short_lived)),
        )
        .await;
    assert_error(response, 401, "invalid_client").await;
    // The other, year-long secret still works.
    let response = app
        .post_token(
            &[("grant_type", "client_credentials")],
            Some((&id, &client.secret)),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn successful_request_records_last_used_at() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let before = app
        .admin
        .secrets(&Acting::cli(), client.client_id)
        .await
        .unwrap();
    assert_eq!(before[0].last_used_at, None);

    app.token_for(&client, &[]).await;

    let at = app
        .wait_for_last_used(client.client_id, client.secret_id)
        .await;
    assert_eq!(at.unix_timestamp(), app.clock_now().unix_timestamp());
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let app = spawn_app().await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .client
            .request(method, format!("{}/oauth2/token", app.address))
            .send()
            .await
            .unwrap();
        let headers = assert_error(response, 405, "invalid_request").await;
        assert_eq!(headers["allow"], "POST");
    }
    assert_eq!(
        app.metric("tessera_token_requests_total", &[("outcome", "rejected")])
            .await,
        3.0,
        "every 405 is counted as rejected"
    );
}

#[tokio::test]
async fn other_content_types_are_415() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let response = app
        .client
        .post(format!("{}/oauth2/token", app.address))
        .header("content-type", "application/json")
        .header(
            "authorization",
            basic_header(&client.client_id.to_string(), &client.secret),
        )
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_error(response, 415, "invalid_request").await;
}

#[tokio::test]
async fn bodies_over_8_kib_are_413() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let padding = "a".repeat(8 * 1024);
    let response = app.request_token(&client, &[("padding", &padding)]).await;
    assert_error(response, 413, "invalid_request").await;
}

#[tokio::test]
async fn a_body_of_exactly_8_kib_is_accepted() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    let base = form_body(&[("grant_type", "client_credentials"), ("padding", "")]);
    let padding = "a".repeat(8 * 1024 - base.len());
    let body = form_body(&[("grant_type", "client_credentials"), ("padding", &padding)]);
    assert_eq!(body.len(), 8 * 1024);
    let response = app.request_token(&client, &[("padding", &padding)]).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn rs256_and_eddsa_tokens_verify_against_the_jwks() {
    for alg in ["RS256", "EdDSA"] {
        let app = spawn_app_with(|s| s.token.algorithm = alg.parse().unwrap()).await;
        let client = app.create_client(&[SMS]).await;
        let body = app.token_for(&client, &[]).await;
        let token = body["access_token"].as_str().unwrap();
        app.verify(token, SMS_AUD).await;
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(format!("{:?}", header.alg), alg);
    }
}

#[tokio::test]
async fn token_requests_are_counted_by_outcome() {
    let app = spawn_app().await;
    let client = app.create_client(&[SMS]).await;
    app.token_for(&client, &[]).await;
    app.post_token(&[("grant_type", "client_credentials")], None)
        .await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"tessera_token_requests_total{outcome="issued"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"tessera_token_requests_total{outcome="invalid_client"} 1"#));
    assert!(metrics.contains(r#"tessera_argon2_verifications_total{result="match"} 1"#));
}
