//! A tiny map for a handful of entries (replies being followed). A `HashMap`
//! would pull hashing code into the size-budgeted widget for nothing.

pub struct SmallMap<V> {
    items: Vec<(String, V)>,
}

impl<V> Default for SmallMap<V> {
    fn default() -> Self {
        SmallMap { items: Vec::new() }
    }
}

impl<V> SmallMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, k: &str) -> Option<&V> {
        self.items.iter().find(|(x, _)| x == k).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, k: &str) -> Option<&mut V> {
        self.items.iter_mut().find(|(x, _)| x == k).map(|(_, v)| v)
    }

    pub fn insert(&mut self, k: String, v: V) {
        match self.get_mut(&k) {
            Some(slot) => *slot = v,
            None => self.items.push((k, v)),
        }
    }

    pub fn remove(&mut self, k: &str) -> Option<V> {
        let i = self.items.iter().position(|(x, _)| x == k)?;
        Some(self.items.remove(i).1)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.items.iter().map(|(k, _)| k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.items.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut V)> {
        self.items.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.items.iter_mut().map(|(_, v)| v)
    }

    pub fn drain(&mut self) -> impl Iterator<Item = (String, V)> + '_ {
        self.items.drain(..)
    }
}
