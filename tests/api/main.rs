//! Tessera's integration suite: the real server on loopback ports, a real
//! SQLite file (or a fresh PostgreSQL database when
//! `TESSERA_TEST_POSTGRES_URL` is set), real HTTP, and the real `tessera`
//! binary for the command line.
//!
//! One test binary on purpose: each file under tests/ would be linked
//! separately. Add modules here, not files beside this one.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "helpers are test code: a failed step must fail the test"
)]

mod attack;
mod audit;
mod cli;
mod confirmation;
mod discovery;
mod helpers;
mod hot_path;
mod introspection;
mod keys;
mod management;
mod reminders;
mod replicas;
mod sessions;
mod token;
mod web;
