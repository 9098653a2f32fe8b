//! Micro-benchmarks of the token path's pieces: signing a realistic access
//! token with each algorithm and verifying its signature (introspection's
//! cost), parsing a token request, and a hit in the verified-secret cache.
//!
//! `cargo bench -p tessera-bench` (or `make bench-micro`).

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark with a broken set-up should stop at once"
)]

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tessera_core::application::{Application, ApplicationKind};
use tessera_core::ids::{ClientId, OrganisationId, SecretId};
use tessera_core::organisation::NewOrganisation;
use tessera_core::resource::ResourceCatalog;
use tessera_core::secret::PlainSecret;
use tessera_core::token::{AccessTokenClaims, Audience};
use tessera_core::{Clock as _, SystemClock};
use tessera_token::cache::{Lookup, SecretCache};
use tessera_token::keys::{Algorithm, SigningKey};
use tessera_token::request;

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
        credential_id: SecretId::generate(),
    };
    let mut group = c.benchmark_group("sign_jwt");
    for alg in Algorithm::ALL {
        let (key, _) = SigningKey::generate(alg).expect("key generation");
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| key.sign_jwt(black_box(&claims)).expect("signing"));
        });
    }
    group.finish();
    // What introspection pays for the signature of such a token.
    let mut group = c.benchmark_group("verify_jwt");
    for alg in Algorithm::ALL {
        let (key, _) = SigningKey::generate(alg).expect("key generation");
        let jwt = key.sign_jwt(&claims).expect("signing");
        let (message, signature) = jwt.rsplit_once('.').expect("a JWS");
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .expect("base64url");
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| {
                assert!(key.verify(black_box(message.as_bytes()), black_box(&signature)));
            });
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

/// A cache hit as the token endpoint pays it: the keyed hash of client_id and
/// secret, then the lookup, in a cache holding 100,000 entries.
fn cache_hit(c: &mut Criterion) {
    let now = SystemClock.now();
    let catalog =
        ResourceCatalog::new(ResourceCatalog::default_resources()).expect("default catalog");
    let organisation = NewOrganisation {
        name: "BenchOrganisation".into(),
        country: "NL".into(),
    }
    .validate(now)
    .expect("organisation");
    let cache = SecretCache::new(1_000_000, 3600, now.unix_timestamp());
    let expires_at = now.unix_timestamp() + 86_400;
    let mut warmed = Vec::new();
    for n in 0..20_000u32 {
        let api: String = [n / 676, n / 26, n]
            .iter()
            .map(|k| char::from(b'A' + u8::try_from(k % 26).expect("letter")))
            .collect();
        let application = Application::create(
            &organisation,
            &api,
            ApplicationKind::Partner,
            &["search-match-production", "match-connect-production"],
            &catalog,
            now,
        )
        .expect("application");
        for _ in 0..5 {
            let secret = PlainSecret::generate();
            let tag = cache.tag(application.client_id, secret.expose());
            cache
                .insert(
                    tag,
                    &application,
                    SecretId::generate(),
                    expires_at,
                    cache.generation(application.client_id),
                )
                .expect("cached");
            if warmed.len() < 1000 {
                warmed.push((application.client_id, secret));
            }
        }
    }
    let mut next = 0;
    let at = now.unix_timestamp();
    c.bench_function("secret_cache/hit_of_100000", |b| {
        b.iter(|| {
            let (client_id, secret) = &warmed[next % warmed.len()];
            next += 1;
            let tag = cache.tag(*client_id, black_box(secret.expose()));
            match cache.lookup(tag, *client_id, at) {
                Lookup::Hit(verified) => verified,
                Lookup::Miss => panic!("a warmed secret missed"),
            }
        });
    });
}

criterion_group!(benches, signing, parsing, cache_hit);
criterion_main!(benches);
