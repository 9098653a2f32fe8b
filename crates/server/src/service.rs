//! What the token path reads: the store, the hasher, the clock and the
//! catalog.

use std::sync::Arc;
use tessera_core::Clock;
use tessera_core::password::Hasher;
use tessera_core::resource::ResourceCatalog;
use tessera_core::store::Store;

/// The token path's view of the records.
#[derive(Clone)]
pub struct Tessera {
    store: Arc<dyn Store>,
    hasher: Hasher,
    clock: Arc<dyn Clock>,
    catalog: Arc<ResourceCatalog>,
}

impl std::fmt::Debug for Tessera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera").finish_non_exhaustive()
    }
}

impl Tessera {
    /// The token path's view of `store`.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: Hasher,
        clock: Arc<dyn Clock>,
        catalog: Arc<ResourceCatalog>,
    ) -> Self {
        Self {
            store,
            hasher,
            clock,
            catalog,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The hasher.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The resource catalog.
    pub fn catalog(&self) -> &Arc<ResourceCatalog> {
        &self.catalog
    }
}
