//! What introspection checks a token's credential against: per client, the
//! ids of its secrets and its permissions, read from the database on first
//! need and dropped whenever the application changes, through the same two
//! roads as the verified-secret cache (the hook of a change this process
//! commits, and the change log for changes made elsewhere).
//!
//! A token names the secret that obtained it; it is active while that
//! secret, its application and every permission its scope grants still
//! exist. A valid token of a client already in memory is answered with
//! memory lookups only.
//!
//! A secret created, or a permission granted, after the client was read is
//! not in memory yet (creations are not in the change log). So a token that
//! does not match is judged again against a fresh read when it may be newer
//! than what memory holds: when it was issued less than
//! [`FRESHNESS_MARGIN_SECONDS`] before the read (replicas' clocks differ a
//! little). A token older than that, naming a secret the read did not see,
//! names one that was deleted: no second read.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use tessera_core::application::Permissions;
use tessera_core::ids::{ClientId, SecretId};
use tessera_core::store::ClientCredentials;

/// How much older than a read a token must be for the read to speak for
/// its credential, in seconds.
pub const FRESHNESS_MARGIN_SECONDS: i64 = 5;

/// A client as introspection knows it, as of one read.
#[derive(Debug)]
pub struct Standing {
    /// When it was read (unix seconds, taken before the query).
    loaded_at: i64,
    /// `None`: no such application.
    application: Option<Live>,
}

#[derive(Debug)]
struct Live {
    /// Whether the application's kind obtains tokens at all.
    obtains_tokens: bool,
    /// Every secret of the application, expired ones included: a token
    /// obtained before its secret expired lives out its own lifetime.
    secrets: BTreeSet<SecretId>,
    permissions: Permissions,
}

impl Standing {
    /// The standing of a client read at `loaded_at` (unix seconds).
    pub fn read(credentials: Option<ClientCredentials>, loaded_at: i64) -> Self {
        Self {
            loaded_at,
            application: credentials.map(|c| Live {
                obtains_tokens: c.application.kind.obtains_tokens(),
                secrets: c.secrets.iter().map(|s| s.id).collect(),
                permissions: c.application.permissions.clone(),
            }),
        }
    }

    /// Whether a token obtained with `credential`, granting the
    /// space-separated resource ids of `scope`, is still backed by it.
    pub fn backs(&self, credential: SecretId, scope: &str) -> bool {
        let Some(live) = &self.application else {
            return false;
        };
        live.obtains_tokens
            && live.secrets.contains(&credential)
            && scope
                .split(' ')
                .filter(|id| !id.is_empty())
                .all(|id| live.permissions.iter().any(|p| p.as_str() == id))
    }

    /// Whether a token issued at `iat` may be newer than this read, so
    /// that what the read lacks may exist now.
    pub fn may_predate(&self, iat: i64) -> bool {
        iat.saturating_add(FRESHNESS_MARGIN_SECONDS) >= self.loaded_at
    }
}

/// The standings of clients whose tokens were introspected, bounded.
#[derive(Debug)]
pub struct LiveCredentials {
    clients: RwLock<HashMap<ClientId, Arc<Standing>>>,
    /// Bumped by every invalidation, under the write lock.
    generation: AtomicU64,
    capacity: usize,
}

impl LiveCredentials {
    /// An empty index holding at most `capacity` clients (0 keeps none:
    /// every introspection reads the database).
    pub fn new(capacity: usize) -> Self {
        Self {
            clients: RwLock::default(),
            generation: AtomicU64::new(0),
            capacity,
        }
    }

    /// The standing held for `client_id`, if any.
    pub fn get(&self, client_id: ClientId) -> Option<Arc<Standing>> {
        self.clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&client_id)
            .cloned()
    }

    /// The generation to pass to [`insert`](Self::insert); read it before
    /// reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `standing`, unless an invalidation happened since `generation`
    /// was read (the read may have seen the database before that change).
    pub fn insert(&self, client_id: ClientId, standing: Arc<Standing>, generation: u64) {
        if self.capacity == 0 {
            return;
        }
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if clients.len() >= self.capacity && !clients.contains_key(&client_id) {
            let victim = clients.keys().next().copied();
            if let Some(victim) = victim {
                clients.remove(&victim);
            }
        }
        clients.insert(client_id, standing);
    }

    /// Forgets `client_id`: its application changed.
    pub fn invalidate(&self, client_id: ClientId) {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        clients.remove(&client_id);
    }

    /// Forgets everything, for when changes may have been missed.
    pub fn clear(&self) {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        clients.clear();
    }

    /// Number of clients held.
    pub fn len(&self) -> usize {
        self.clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether it holds no client.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::application::{Application, ApplicationKind};
    use tessera_core::organisation::NewOrganisation;
    use tessera_core::resource::ResourceCatalog;
    use tessera_core::secret::StoredSecret;
    use time::OffsetDateTime;

    fn credentials(
        kind: ApplicationKind,
        permissions: &[&str],
        secrets: &[SecretId],
    ) -> ClientCredentials {
        let now = OffsetDateTime::UNIX_EPOCH;
        let org = NewOrganisation {
            name: "Example".into(),
            country: "NL".into(),
        }
        .validate(now)
        .unwrap();
        let application = Application::create(
            &org,
            "SMC",
            kind,
            permissions,
            &ResourceCatalog::default(),
            now,
        )
        .unwrap();
        ClientCredentials {
            application: Arc::new(application),
            secrets: secrets
                .iter()
                .map(|id| StoredSecret {
                    id: *id,
                    hint: "abc".into(),
                    hash: tessera_core::password::PhcHash::from_stored(String::new()),
                    expires_at: now,
                })
                .collect(),
        }
    }

    #[test]
    fn a_token_is_backed_while_its_secret_and_every_granted_permission_exist() {
        let secret = SecretId::generate();
        let standing = Standing::read(
            Some(credentials(
                ApplicationKind::Partner,
                &["search-match-sandbox", "data-manager-sandbox"],
                &[secret],
            )),
            100,
        );
        assert!(standing.backs(secret, "search-match-sandbox"));
        assert!(standing.backs(secret, "data-manager-sandbox search-match-sandbox"));
        assert!(!standing.backs(SecretId::generate(), "search-match-sandbox"));
        assert!(!standing.backs(secret, "search-match-sandbox search-match-production"));
    }

    #[test]
    fn no_application_or_a_resource_server_backs_nothing() {
        let secret = SecretId::generate();
        assert!(!Standing::read(None, 0).backs(secret, ""));
        let server = Standing::read(
            Some(credentials(ApplicationKind::ResourceServer, &[], &[secret])),
            0,
        );
        assert!(!server.backs(secret, ""));
    }

    #[test]
    fn only_a_token_issued_near_or_after_the_read_may_predate_it() {
        let standing = Standing::read(None, 100);
        assert!(standing.may_predate(100));
        assert!(standing.may_predate(100 - FRESHNESS_MARGIN_SECONDS));
        assert!(!standing.may_predate(100 - FRESHNESS_MARGIN_SECONDS - 1));
    }

    #[test]
    fn a_read_that_started_before_an_invalidation_is_not_kept() {
        let index = LiveCredentials::new(10);
        let client = ClientId::generate();
        let generation = index.generation();
        index.invalidate(client);
        index.insert(client, Arc::new(Standing::read(None, 0)), generation);
        assert!(index.get(client).is_none());
        index.insert(
            client,
            Arc::new(Standing::read(None, 0)),
            index.generation(),
        );
        assert!(index.get(client).is_some());
        index.invalidate(client);
        assert!(index.get(client).is_none());
    }

    #[test]
    fn the_index_stays_within_its_capacity() {
        let index = LiveCredentials::new(3);
        for _ in 0..10 {
            index.insert(
                ClientId::generate(),
                Arc::new(Standing::read(None, 0)),
                index.generation(),
            );
        }
        assert_eq!(index.len(), 3);
        index.clear();
        assert!(index.is_empty());
        let none = LiveCredentials::new(0);
        none.insert(ClientId::generate(), Arc::new(Standing::read(None, 0)), 0);
        assert!(none.is_empty());
    }
}
