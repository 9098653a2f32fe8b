//! The command line: the JSON shapes scripts rely on, and clear refusals.

use crate::helpers::spawn_app;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn organisation_application_secret_lifecycle_through_the_cli() {
    let app = spawn_app().await;

    let org = app.cli_json(&[
        "org",
        "create",
        "--name",
        "OrganisationName",
        "--country",
        "nl",
    ]);
    assert_eq!(org["name"], "OrganisationName");
    assert_eq!(org["country"], "NL");
    let org_id = org["id"].as_str().unwrap();

    let application = app.cli_json(&[
        "app",
        "create",
        "--org",
        org_id,
        "--api",
        "SMC",
        "--permission",
        "search-match-sandbox",
        "--permission",
        "search-match-production",
    ]);
    assert_eq!(application["name"], "Partner-NL-OrganisationName-SMC");
    assert_eq!(
        application["permissions"],
        serde_json::json!(["search-match-production", "search-match-sandbox"])
    );
    let client_id = application["client_id"].as_str().unwrap();

    let secret = app.cli_json(&[
        "secret",
        "create",
        "--client-id",
        client_id,
        "--name",
        "Secret by VM",
    ]);
    let value = secret["secret"].as_str().unwrap();
    assert!(value.len() >= 43);
    assert_eq!(secret["hint"], &value[..3]);
    assert!(secret["expires_at"].as_str().is_some());
    let secret_id = secret["id"].as_str().unwrap();

    // The secret works at the token endpoint.
    let response = app
        .post_token(
            &[("grant_type", "client_credentials")],
            Some((client_id, value)),
        )
        .await;
    assert_eq!(response.status(), 200);
    // Uses are written behind, within the flush interval.
    app.wait_for_last_used(client_id.parse().unwrap(), secret_id.parse().unwrap())
        .await;

    let listed = app.cli_json(&["secret", "list", "--client-id", client_id]);
    let row = &listed.as_array().unwrap()[0];
    assert_eq!(row["id"], secret_id);
    assert_eq!(row["name"], "Secret by VM");
    assert_eq!(row["status"], "active");
    assert!(row["last_used_at"].as_str().is_some());
    assert!(
        row.get("secret").is_none(),
        "a listed secret never shows its value"
    );
    assert!(!listed.to_string().contains(value));

    let output = app.cli(&["secret", "delete", "--client-id", client_id, secret_id]);
    assert!(output.status.success(), "{}", stderr(&output));
    // The server learns of a change made by another process from the
    // change log, read every `sync_interval_milliseconds`.
    crate::helpers::poll_until(
        std::time::Duration::from_secs(1),
        "refused after the deletion",
        || async {
            let form = [("grant_type", "client_credentials")];
            app.post_token(&form, Some((client_id, value)))
                .await
                .status()
                == 401
        },
    )
    .await;
    assert_eq!(
        app.cli_json(&["secret", "list", "--client-id", client_id]),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn user_create_returns_password_and_totp_uri_once() {
    let app = spawn_app().await;
    let org = app.cli_json(&["org", "create", "--name", "Acme", "--country", "DE"]);
    let user = app.cli_json(&[
        "user",
        "create",
        "--email",
        "VM@Acme.example",
        "--role",
        "credential-manager",
        "--org",
        org["id"].as_str().unwrap(),
    ]);
    assert_eq!(user["email"], "vm@acme.example");
    assert!(user["password"].as_str().is_some_and(|p| p.len() >= 20));
    assert!(
        user["totp_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(user["id"].as_str().is_some());

    let output = app.cli(&[
        "user",
        "create",
        "--email",
        "x@acme.example",
        "--role",
        "credential-manager",
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("organisation"));
}

#[tokio::test]
async fn domain_rule_violations_are_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let output = app.cli(&["org", "create", "--name", "Bad", "--country", "XX"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("ISO 3166-1"));

    let org = app.cli_json(&["org", "create", "--name", "Dummy", "--country", "NL"]);
    let org_id = org["id"].as_str().unwrap();
    let output = app.cli(&[
        "app",
        "create",
        "--org",
        org_id,
        "--api",
        "MC",
        "--kind",
        "partner-alternative",
        "--permission",
        "match-connect-production",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("match-connect-sandbox"),
        "{}",
        stderr(&output)
    );

    let alt = app.cli_json(&[
        "app",
        "create",
        "--org",
        org_id,
        "--api",
        "MC",
        "--kind",
        "partner-alternative",
        "--permission",
        "match-connect-sandbox",
    ]);
    assert_eq!(alt["name"], "PartnerAlternative-NL-Dummy-MC");
    let client_id = alt["client_id"].as_str().unwrap();

    let output = app.cli(&[
        "secret",
        "create",
        "--client-id",
        client_id,
        "--name",
        "x",
        "--expires-at",
        "2099-01-01T00:00:00Z",
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("at most one year"));
    assert_eq!(
        app.cli_json(&["secret", "list", "--client-id", client_id]),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn an_application_holds_at_most_five_secrets() {
    let app = spawn_app().await;
    let client = app.create_client(&["search-match-sandbox"]).await;
    for _ in 0..4 {
        app.add_secret(client.client_id, None).await;
    }
    let id = client.client_id.to_string();
    let output = app.cli(&["secret", "create", "--client-id", &id, "--name", "sixth"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("at most 5"));
    assert_eq!(
        app.cli_json(&["secret", "list", "--client-id", &id])
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn short_lifetime_secret_carries_the_one_year_advice() {
    let app = spawn_app().await;
    let client = app.create_client(&["search-match-sandbox"]).await;
    let in_a_week = (app.clock_now() + time::Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let id = client.client_id.to_string();
    let secret = app.cli_json(&[
        "secret",
        "create",
        "--client-id",
        &id,
        "--name",
        "short",
        "--expires-at",
        &in_a_week,
    ]);
    assert!(secret["advice"].as_str().unwrap().contains("one year"));
    assert_eq!(secret["status"], "expiring_soon");
}

#[tokio::test]
async fn configuration_layers_file_then_environment() {
    let app = spawn_app().await;
    let config = app.dir.path().join("override.toml");
    std::fs::write(&config, "[token]\nalgorithm = \"RS256\"\n").unwrap();
    let config = config.to_str().unwrap();

    let from_file = app.cli_json(&["--config", config, "keys", "generate"]);
    assert_eq!(from_file["alg"], "RS256");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["--json", "--config", config, "keys", "generate"])
        .current_dir(app.dir.path())
        .env("TESSERA_DATABASE_URL", app.database.url())
        .env("TESSERA_KEYS_DIR", &app.keys_dir)
        .env("TESSERA_TOKEN__ALGORITHM", "EdDSA")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let from_env: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(from_env["alg"], "EdDSA");
}

#[tokio::test]
async fn unknown_configuration_keys_are_refused() {
    let app = spawn_app().await;
    let config = app.dir.path().join("typo.toml");
    std::fs::write(&config, "[token]\nttl_secnods = 60\n").unwrap();
    let output = app.cli(&["--config", config.to_str().unwrap(), "keys", "list"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("ttl_secnods"),
        "{}",
        stderr(&output)
    );

    let output = app.cli(&["--config", "/no/such/file.toml", "keys", "list"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("not found"));
}

#[tokio::test]
async fn app_delete_removes_the_application_and_its_secrets() {
    let app = spawn_app().await;
    let org = app.cli_json(&["org", "create", "--name", "Gone", "--country", "BE"]);
    let created = app.cli_json(&[
        "app",
        "create",
        "--org",
        org["id"].as_str().unwrap(),
        "--api",
        "DM",
        "--permission",
        "data-manager-sandbox",
    ]);
    let client_id = created["client_id"].as_str().unwrap();
    app.cli_json(&["secret", "create", "--client-id", client_id, "--name", "x"]);

    let deleted = app.cli_json(&["app", "delete", client_id]);
    assert_eq!(deleted["deleted"], client_id);

    let output = app.cli(&["secret", "list", "--client-id", client_id]);
    assert!(!output.status.success(), "the application is gone");
    let again = app.cli(&["app", "delete", client_id]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not found"), "{}", stderr(&again));
}

#[tokio::test]
async fn refusals_exit_with_codes_scripts_can_branch_on() {
    let app = spawn_app().await;
    let client = app.create_client(&["search-match-sandbox"]).await;
    let id = client.client_id.to_string();

    let invalid = app.cli(&["org", "create", "--name", "Bad", "--country", "XX"]);
    assert_eq!(invalid.status.code(), Some(4));
    assert!(
        stderr(&invalid).contains("--country"),
        "{}",
        stderr(&invalid)
    );

    app.cli_json(&["org", "create", "--name", "Twice", "--country", "NL"]);
    let taken = app.cli(&["org", "create", "--name", "Twice", "--country", "NL"]);
    assert_eq!(taken.status.code(), Some(4));
    assert!(stderr(&taken).contains("already taken"));

    let unknown_secret = uuid::Uuid::new_v4().to_string();
    let missing = app.cli(&["secret", "delete", "--client-id", &id, &unknown_secret]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(stderr(&missing).contains("secret not found"));

    let usage = app.cli(&["secret", "delete", "--client-id", &id]);
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test]
async fn variables_that_name_no_setting_are_ignored_with_a_warning() {
    let app = spawn_app().await;
    // What a container platform injects for a service named `tessera`.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "--json",
            "org",
            "create",
            "--name",
            "Injected",
            "--country",
            "NL",
        ])
        .current_dir(app.dir.path())
        .env("TESSERA_DATABASE_URL", app.database.url())
        .env("TESSERA_KEYS_DIR", &app.keys_dir)
        .env("TESSERA_PORT", "tcp://10.0.0.7:8080")
        .env("TESSERA_SERVICE_HOST", "10.0.0.7")
        .env("TESSERA_TOKEN__TTL_SECNODS", "60")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let warned = stderr(&output);
    for name in [
        "TESSERA_PORT",
        "TESSERA_SERVICE_HOST",
        "TESSERA_TOKEN__TTL_SECNODS",
    ] {
        assert!(warned.contains(name), "{name}: {warned}");
    }
    assert!(
        !warned.contains("10.0.0.7"),
        "values are not echoed: {warned}"
    );
    let org: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(org["name"], "Injected");

    // A variable naming a setting still applies, and a bad value for it is
    // still an error.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["keys", "list"])
        .current_dir(app.dir.path())
        .env("TESSERA_DATABASE_URL", app.database.url())
        .env("TESSERA_KEYS_DIR", &app.keys_dir)
        .env("TESSERA_TOKEN__TTL_SECONDS", "soon")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).to_lowercase().contains("ttl_seconds"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn files_at_rest_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let app = spawn_app().await;
    app.create_client(&["search-match-sandbox"]).await;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
    };
    let mut private = vec![app.keys_dir.clone(), app.outbox.clone()];
    for key in std::fs::read_dir(&app.keys_dir).unwrap() {
        private.push(key.unwrap().path());
    }
    if let Some(file) = app.database.url().strip_prefix("sqlite://") {
        let file = file.split('?').next().unwrap();
        for suffix in ["", "-wal", "-shm"] {
            private.push(std::path::PathBuf::from(format!("{file}{suffix}")));
        }
    }
    for path in private {
        assert_eq!(
            mode(&path) & 0o077,
            0,
            "{} is {:o}",
            path.display(),
            mode(&path)
        );
    }
}
