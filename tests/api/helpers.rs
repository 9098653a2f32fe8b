//! Starting the application for a test and talking to it.

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use tessera_admin::{Acting, Admin};
use tessera_core::ManualClock;
use tessera_core::application::ApplicationKind;
use tessera_core::ids::{ClientId, SecretId};
use tessera_server::{Application, Settings};
use tessera_storage::testing::TestDatabase;

/// A running application and what a test needs to drive it.
pub struct TestApp {
    pub address: String,
    pub ops_address: String,
    pub issuer: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub admin: Admin,
    pub keys_dir: PathBuf,
    pub reminders: Arc<tessera_server::reminders::Reminders>,
    pub outbox: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    // Dropped last: the database and the folder outlive the server.
    pub database: TestDatabase,
    pub dir: tempfile::TempDir,
}

/// A client with a secret.
pub struct TestClient {
    pub client_id: ClientId,
    pub secret: String,
    pub secret_id: SecretId,
}

/// The test settings: loopback port 0, a temporary key folder, fast key reload.
pub fn test_settings(dir: &std::path::Path, database_url: &str) -> Settings {
    let mut settings = Settings::load(None).expect("default settings load");
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.ops_listen = "127.0.0.1:0".parse().unwrap();
    settings.issuer = String::new();
    settings.database_url = database_url.to_owned().into();
    settings.keys_dir = dir.join("keys");
    settings.keys.reload_interval_seconds = 1;
    // Background work at test speed: uses written and the change log read
    // within a fraction of a second.
    settings.usage.flush_interval_seconds = 1;
    settings.cache.sync_interval_milliseconds = 100;
    // Reminder passes are driven by the tests, with the test clock; mail
    // goes to the test's own outbox.
    settings.reminders.enabled = false;
    settings.reminders.retry_backoff_milliseconds = 10;
    settings.email.outbox_dir = dir.join("outbox");
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let mut settings = test_settings(dir.path(), database.url());
    configure(&mut settings);
    start(settings, dir, database).await
}

/// Another server on the database and keys of `existing`, as a second
/// replica or a restart would be; the database stays `existing`'s.
pub async fn spawn_app_on(existing: &TestApp) -> TestApp {
    spawn_app_on_with(existing, |_| {}).await
}

/// [`spawn_app_on`], with settings changed by `configure`.
pub async fn spawn_app_on_with(
    existing: &TestApp,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::existing(existing.database.url());
    let mut settings = test_settings(dir.path(), database.url());
    settings.keys_dir = existing.keys_dir.clone();
    configure(&mut settings);
    start(settings, dir, database).await
}

async fn start(settings: Settings, dir: tempfile::TempDir, database: TestDatabase) -> TestApp {
    let keys_dir = settings.keys_dir.clone();
    let outbox = settings.email.outbox_dir.clone();
    let clock = Arc::new(ManualClock::starting_now());
    let app = Application::build(settings, clock.clone())
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let ops_address = format!("http://127.0.0.1:{}", app.ops_port());
    let issuer = app.issuer().to_owned();
    let admin = app.admin().clone();
    let reminders = app.reminders().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        ops_address,
        issuer,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        admin,
        keys_dir,
        reminders,
        outbox,
        shutdown: Some(tx),
        server: Some(server),
        database,
        dir,
    }
}

impl TestApp {
    /// The test clock's current time.
    pub fn clock_now(&self) -> time::OffsetDateTime {
        tessera_core::Clock::now(self.clock.as_ref())
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// An organisation, an application holding `permissions`, and one secret.
    pub async fn create_client(&self, permissions: &[&str]) -> TestClient {
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let cli = Acting::cli();
        let org = self
            .admin
            .create_organisation(&cli, &format!("Org{suffix}"), "NL")
            .await
            .unwrap();
        let app = self
            .admin
            .create_application(&cli, org.id, "SMC", ApplicationKind::Partner, permissions)
            .await
            .unwrap();
        let created = self
            .admin
            .create_secret(&cli, app.client_id, "Secret by test", None)
            .await
            .unwrap();
        TestClient {
            client_id: app.client_id,
            secret: created.secret.expose().to_owned(),
            secret_id: created.record.id,
        }
    }

    /// Another secret for the same client.
    pub async fn add_secret(
        &self,
        client_id: ClientId,
        expires_at: Option<time::OffsetDateTime>,
    ) -> (SecretId, String) {
        let created = self
            .admin
            .create_secret(&Acting::cli(), client_id, "Another secret", expires_at)
            .await
            .unwrap();
        (created.record.id, created.secret.expose().to_owned())
    }

    /// `POST /oauth2/token` with a form body and optional Basic credentials
    /// (form-urlencoded before base64, as RFC 6749 §2.3.1 requires).
    pub async fn post_token(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/oauth2/token", self.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form));
        if let Some((id, secret)) = basic {
            request = request.header("authorization", basic_header(id, secret));
        }
        request.send().await.unwrap()
    }

    /// A client-credentials request with HTTP Basic and the given extra parameters.
    pub async fn request_token(
        &self,
        client: &TestClient,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        self.post_token(&form, Some((&client.client_id.to_string(), &client.secret)))
            .await
    }

    /// A token with HTTP Basic and the given extra parameters; panics unless 200.
    pub async fn token_for(&self, client: &TestClient, extra: &[(&str, &str)]) -> Value {
        let response = self.request_token(client, extra).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Verifies `token` as a resource server would, with nothing but the
    /// published JWKS: signature, kid, typ, iss, aud and exp, using an
    /// implementation independent of the signer.
    pub async fn verify(&self, token: &str, audience: &str) -> Value {
        let jwks: JwkSet =
            serde_json::from_value(self.get_json("/.well-known/jwks.json").await).unwrap();
        verify_with(&jwks, token, &self.issuer, audience).unwrap()
    }

    /// Runs the `tessera` binary on this app's database and key folder.
    pub fn cli(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .current_dir(self.dir.path())
            .env("TESSERA_DATABASE_URL", self.database.url())
            .env("TESSERA_KEYS_DIR", &self.keys_dir)
            .env("TESSERA_LOG__LEVEL", "warn")
            .output()
            .unwrap()
    }

    /// Runs the binary with `--json` and parses what it prints; panics on failure.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let output = self.cli(&all);
        assert!(
            output.status.success(),
            "tessera {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.ops_address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// Independent verification against a JWKS.
pub fn verify_with(
    jwks: &JwkSet,
    token: &str,
    issuer: &str,
    audience: &str,
) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    if header.typ.as_deref() != Some("at+jwt") {
        return Err(format!("typ is {:?}", header.typ));
    }
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} not in the JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat", "nbf"]);
    validation.leeway = 0;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

pub fn form_body(form: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

pub fn basic_header(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(id), encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// The claims of a JWT, without verifying it (for inspecting test tokens).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// A user of the management API with the credentials handed out at creation.
pub struct TestUser {
    pub email: String,
    pub password: String,
    pub totp: totp_rs::TOTP,
    pub organisation_id: Option<tessera_core::ids::OrganisationId>,
}

impl TestApp {
    /// A new organisation with a unique name.
    pub async fn create_org(&self) -> tessera_core::ids::OrganisationId {
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        self.admin
            .create_organisation(&Acting::cli(), &format!("Org{suffix}"), "NL")
            .await
            .unwrap()
            .id
    }

    /// A user created as `tessera user create` would.
    pub async fn create_user(
        &self,
        role: tessera_core::user::Role,
        org: Option<tessera_core::ids::OrganisationId>,
    ) -> TestUser {
        use secrecy::ExposeSecret as _;
        let email = format!(
            "u{}@example.org",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let created = self
            .admin
            .create_user(&Acting::cli(), &email, role, org)
            .await
            .unwrap();
        TestUser {
            email,
            password: created.password.expose_secret().to_owned(),
            totp: totp_rs::TOTP::from_url_unchecked(created.totp_uri.expose_secret()).unwrap(),
            organisation_id: org,
        }
    }

    /// The user's TOTP code at the test clock's time, `steps` steps away.
    pub fn totp_code_at(&self, user: &TestUser, steps: i64) -> String {
        let t = self.clock_now().unix_timestamp() + steps * 30;
        user.totp.generate(u64::try_from(t).unwrap())
    }

    /// The user's current TOTP code.
    pub fn totp_code(&self, user: &TestUser) -> String {
        self.totp_code_at(user, 0)
    }

    /// `POST /api/v1/sessions`.
    pub async fn try_login(&self, email: &str, password: &str, code: &str) -> reqwest::Response {
        self.api_post(
            "/api/v1/sessions",
            None,
            &serde_json::json!({"email": email, "password": password, "totp_code": code}),
        )
        .await
    }

    /// Signs in (after moving the clock to a fresh TOTP step) and returns the token.
    pub async fn login(&self, user: &TestUser) -> String {
        self.clock.advance(time::Duration::seconds(30));
        let response = self
            .try_login(&user.email, &user.password, &self.totp_code(user))
            .await;
        assert_eq!(response.status(), 201, "login of {}", user.email);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// A request to the API with an optional bearer token and JSON body.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    pub async fn api_get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.api(reqwest::Method::GET, path, token, None).await
    }

    pub async fn api_post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        self.api(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn api_put(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        self.api(reqwest::Method::PUT, path, token, Some(body))
            .await
    }

    pub async fn api_delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.api(reqwest::Method::DELETE, path, token, None).await
    }
}

/// Asserts a problem-details answer with this status; returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:tessera:problem:")
    );
    assert!(body["title"].as_str().is_some());
    assert!(body["detail"].as_str().is_some());
    body
}

impl TestApp {
    /// The value of the sample `name{labels}` in `/metrics`, parsed as the
    /// Prometheus text format; panics if the exposition does not parse or
    /// the sample is missing.
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let text = self.metrics().await;
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .unwrap_or_else(|| panic!("no sample {name}{labels:?} in\n{text}"));
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name} is not a single value: {other:?}"),
        }
    }

    /// The organisation of an application.
    pub async fn organisation_of(&self, client_id: ClientId) -> tessera_core::ids::OrganisationId {
        self.admin
            .application(&Acting::cli(), client_id)
            .await
            .unwrap()
            .organisation_id
    }

    /// From now on the database refuses every audit event, as a full disk
    /// or a broken table would.
    pub async fn refuse_audit_events(&self) {
        self.database.refuse_audit_events().await;
    }

    /// A second store on this app's database, as another process would see it.
    pub async fn open_store(&self) -> tessera_storage::SqlStore {
        tessera_storage::SqlStore::connect(self.database.url(), Default::default())
            .await
            .unwrap()
    }

    /// Waits (up to 5 s) until the secret's `last_used_at` is written.
    pub async fn wait_for_last_used(
        &self,
        client_id: ClientId,
        secret_id: SecretId,
    ) -> time::OffsetDateTime {
        use tessera_core::store::prelude::*;
        let store = self.open_store().await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let secrets = store.secrets(client_id).await.unwrap();
            let secret = secrets.iter().find(|s| s.id == secret_id).unwrap();
            if let Some(at) = secret.last_used_at {
                store.close().await;
                return at;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "last_used_at was not written within 5 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// A loopback port free at the time of asking, for a child process to bind.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A signed-in browser of the web page: its session cookie and the CSRF
/// token its forms carry.
pub struct WebSession {
    /// `tessera_session=…`, for the `Cookie` header.
    pub cookie: String,
    /// The synchronizer token of the session's forms.
    pub csrf: String,
}

/// The `Set-Cookie` header that sets cookie `name`, if any.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// `name=value` of a `Set-Cookie` header, for a `Cookie` header.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_owned()
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    input_value(html, r#"name="csrf" value=""#).expect("a csrf field")
}

/// The text after `marker` up to the next double quote.
pub fn input_value(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

impl TestApp {
    /// `GET` a web page, with a cookie header when given.
    pub async fn web_get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// `POST` a web form, with a cookie header when given.
    pub async fn web_post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// The name of the web page's cookie `name`: `__Host-` prefixed when
    /// the site is HTTPS.
    pub fn cookie_name(&self, name: &str) -> String {
        if self.issuer.starts_with("https://") {
            format!("__Host-{name}")
        } else {
            name.to_owned()
        }
    }

    /// Opens the sign-in page: its double-submit cookie and form token.
    pub async fn web_sign_in_form(&self) -> (String, String) {
        let page = self.web_get("/sign-in", None).await;
        assert_eq!(page.status(), 200);
        let name = self.cookie_name("tessera_sign_in");
        let cookie = cookie_pair(&set_cookie(&page, &name).unwrap());
        let csrf = csrf_of(&page.text().await.unwrap());
        (cookie, csrf)
    }

    /// Signs in through the sign-in form (after moving the clock to a fresh
    /// TOTP step) and reads the CSRF token of the applications page.
    pub async fn web_sign_in(&self, user: &TestUser) -> WebSession {
        self.clock.advance(time::Duration::seconds(30));
        let (cookie, csrf) = self.web_sign_in_form().await;
        let code = self.totp_code(user);
        let response = self
            .web_post(
                "/sign-in",
                Some(&cookie),
                &[
                    ("csrf", &csrf),
                    ("email", &user.email),
                    ("password", &user.password),
                    ("totp_code", &code),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "web sign-in of {}", user.email);
        assert_eq!(response.headers()["location"], "/applications");
        let name = self.cookie_name("tessera_session");
        let cookie = cookie_pair(&set_cookie(&response, &name).unwrap());
        let page = self.web_get("/applications", Some(&cookie)).await;
        assert_eq!(page.status(), 200);
        let csrf = csrf_of(&page.text().await.unwrap());
        WebSession { cookie, csrf }
    }
}

/// Calls `check` every few milliseconds until it holds, returning how long
/// that took; fails the test once `limit` has passed.
pub async fn poll_until<F, Fut>(
    limit: std::time::Duration,
    what: &str,
    mut check: F,
) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// A real `tessera serve` process on loopback; killed when dropped.
pub struct ServeProcess {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT` of the main listener.
    pub address: String,
    /// `http://127.0.0.1:PORT` of the operations listener.
    pub ops_address: String,
}

impl ServeProcess {
    /// Spawns `tessera serve` in `dir` on `database_url` and `keys_dir`,
    /// free ports and `warn` logs, with `env` on top; does not wait.
    pub fn spawn(
        dir: &std::path::Path,
        database_url: &str,
        keys_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Self {
        Self::spawn_args(&["serve"], dir, database_url, keys_dir, env)
    }

    /// [`Self::spawn`], writing the server's log (its stderr) to `log`.
    pub fn spawn_logging(
        dir: &std::path::Path,
        database_url: &str,
        keys_dir: &std::path::Path,
        env: &[(&str, &str)],
        log: &std::path::Path,
    ) -> Self {
        let log = std::fs::File::create(log).unwrap();
        Self::spawn_into(&["serve"], dir, database_url, keys_dir, env, log.into())
    }

    fn spawn_args(
        args: &[&str],
        dir: &std::path::Path,
        database_url: &str,
        keys_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Self {
        let stderr = std::process::Stdio::inherit();
        Self::spawn_into(args, dir, database_url, keys_dir, env, stderr)
    }

    fn spawn_into(
        args: &[&str],
        dir: &std::path::Path,
        database_url: &str,
        keys_dir: &std::path::Path,
        env: &[(&str, &str)],
        stderr: std::process::Stdio,
    ) -> Self {
        let (port, ops) = (free_port(), free_port());
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .current_dir(dir)
            .env("TESSERA_DATABASE_URL", database_url)
            .env("TESSERA_KEYS_DIR", keys_dir)
            .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
            .env("TESSERA_OPS_LISTEN", format!("127.0.0.1:{ops}"))
            .env("TESSERA_LOG__LEVEL", "warn")
            .envs(env.iter().copied())
            .spawn()
            .unwrap();
        Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            ops_address: format!("http://127.0.0.1:{ops}"),
        }
    }

    /// Runs `tessera` with `args` (a serving command, such as `serve
    /// --demo`) on `app`'s database and key folder, and waits until ready.
    pub async fn spawn_with(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Self {
        let server = Self::spawn_args(args, app.dir.path(), app.database.url(), &app.keys_dir, env);
        server.wait_ready(&app.client).await;
        server
    }

    /// Stops the process at once.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Spawns one on `app`'s database and key folder and waits until ready.
    pub async fn start_on(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let server = Self::spawn(app.dir.path(), app.database.url(), &app.keys_dir, env);
        server.wait_ready(&app.client).await;
        server
    }

    /// Waits (up to 30 s: a first start migrates) until `/readyz` is 200.
    pub async fn wait_ready(&self, client: &reqwest::Client) {
        let url = format!("{}/readyz", self.ops_address);
        poll_until(std::time::Duration::from_secs(30), "ready", || async {
            client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
    }

    /// Signs `user` in through this server's API, at the wall clock's TOTP
    /// step; the session token.
    pub async fn login(&self, client: &reqwest::Client, user: &TestUser) -> String {
        let response = client
            .post(format!("{}/api/v1/sessions", self.address))
            .json(&serde_json::json!({
                "email": user.email,
                "password": user.password,
                "totp_code": user.totp.generate_current().unwrap(),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// The status of a client-credentials request with HTTP Basic and an
    /// optional `scope`.
    pub async fn token_status(
        &self,
        client: &reqwest::Client,
        client_id: &str,
        secret: &str,
        scope: Option<&str>,
    ) -> u16 {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend(scope.map(|s| ("scope", s)));
        client
            .post(format!("{}/oauth2/token", self.address))
            .header("authorization", basic_header(client_id, secret))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
