use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

/// Application state handed to tools by type (`#[state] shop: &Shop`).
///
/// Like axum's extensions: one value per type. The runtime checks, when it
/// is built, that every state type a registered tool needs is present.
///
/// ```
/// use agentsec_runtime::tool::StateMap;
/// struct Shop { name: &'static str }
/// let mut state = StateMap::new();
/// state.insert(Shop { name: "acme" });
/// assert_eq!(state.get::<Shop>().unwrap().name, "acme");
/// assert!(state.get::<String>().is_none());
/// ```
#[derive(Clone, Default)]
pub struct StateMap {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl StateMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// Adds an already shared value.
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.values.insert(TypeId::of::<T>(), value);
    }

    /// The value of type `T`, if present.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
    }

    /// Whether a value with this type id is present.
    pub fn contains_id(&self, id: TypeId) -> bool {
        self.values.contains_key(&id)
    }
}

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMap")
            .field("len", &self.values.len())
            .finish()
    }
}
