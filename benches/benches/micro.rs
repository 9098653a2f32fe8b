//! Micro-benchmarks of the token path's pieces: signing a realistic access
//! token with each algorithm, and parsing a token request.
//!
//! `cargo bench -p tessera-bench` (or `make bench-micro`).

#![expect(
    clippy::expect_used,
    reason = "a benchmark with a broken set-up should stop at once"
)]

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tessera_core::ids::{ClientId, OrganisationId};
use tessera_core::token::{AccessTokenClaims, Audience};
use tessera_server::keys::{Algorithm, SigningKey};
use tessera_server::token::request;

fn signing(c: &mut Criterion) {
    let client_id = ClientId::generate();
    let jti = uuid::Uuid::new_v4().simple().to_string();
    // The claims of a token for two resources, as the end-to-end benchmark's
    // applications get.
    let claims = AccessTokenClaims {
        iss: "https://auth.registry.example",
        sub: client_id,
        client_id,
        aud: Audience::Many(vec![
            "https://api.registry.example/search-match",
            "https://api.registry.example/match-connect",
        ]),
        scope: "search-match-production match-connect-production",
        iat: 1_767_225_600,
        nbf: 1_767_225_600,
        exp: 1_767_226_500,
        jti: &jti,
        org: OrganisationId::generate(),
    };
    let mut group = c.benchmark_group("sign_jwt");
    for alg in Algorithm::ALL {
        let (key, _) = SigningKey::generate(alg).expect("key generation");
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| key.sign_jwt(black_box(&claims)).expect("signing"));
        });
    }
    group.finish();
}

fn parsing(c: &mut Criterion) {
    let secret = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";
    let credentials = format!("{}:{secret}", ClientId::generate());
    let mut basic = HeaderMap::new();
    basic.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        ))
        .expect("header"),
    );
    basic.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let body = b"grant_type=client_credentials".as_slice();
    c.bench_function("parse_token_request/basic", |b| {
        b.iter(|| request::parse(black_box(&basic), black_box(body)).expect("parses"));
    });
    let post_body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={secret}&scope=search-match-production",
        ClientId::generate()
    );
    let mut form = HeaderMap::new();
    form.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    c.bench_function("parse_token_request/post", |b| {
        b.iter(|| {
            request::parse(black_box(&form), black_box(post_body.as_bytes())).expect("parses")
        });
    });
}

// A cache-hit micro-benchmark belongs here once the verified-secret cache
// exists (crates/server/src/cache.rs): look up a warmed client_id + secret.

criterion_group!(benches, signing, parsing);
criterion_main!(benches);
