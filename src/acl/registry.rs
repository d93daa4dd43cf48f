//! Every command and subcommand of the original table (before any
//! `rename-command`, as Redis bases ACLs on its `orig_commands`), numbered
//! so a selector can hold its permissions as a bitmap.

use crate::command::table::families;
use crate::command::{CommandSpec, categories};
use crate::util::FxHashMap;
use std::sync::OnceLock;

pub struct Entry {
    pub spec: &'static CommandSpec,
    /// The container's id, for a subcommand.
    pub parent: Option<u32>,
    /// `name` or `container|sub`, lower case.
    pub full: String,
    pub cats: u32,
    /// Ids of the subcommands, for a container.
    pub subs: Vec<u32>,
}

pub struct Registry {
    pub entries: Vec<Entry>,
    by_ptr: FxHashMap<usize, u32>,
    by_name: FxHashMap<String, u32>,
}

/// The registry, built on first use.
pub fn get() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(build)
}

fn build() -> Registry {
    let mut r = Registry {
        entries: Vec::new(),
        by_ptr: FxHashMap::default(),
        by_name: FxHashMap::default(),
    };
    for fam in families() {
        for c in *fam {
            let id = r.add(c, None, c.name.to_string(), categories::mask(c, None));
            for s in c.subcommands {
                let full = format!("{}|{}", c.name, s.name);
                let sid = r.add(s, Some(id), full, categories::mask(s, Some(c)));
                r.entries[id as usize].subs.push(sid);
            }
        }
    }
    r
}

impl Registry {
    fn add(
        &mut self,
        spec: &'static CommandSpec,
        parent: Option<u32>,
        full: String,
        cats: u32,
    ) -> u32 {
        let id = self.entries.len() as u32;
        self.by_ptr.insert(spec as *const CommandSpec as usize, id);
        self.by_name.insert(full.clone(), id);
        self.entries.push(Entry {
            spec,
            parent,
            full,
            cats,
            subs: Vec::new(),
        });
        id
    }

    /// The id of a row of the command table.
    pub fn id_of(&self, spec: &'static CommandSpec) -> Option<u32> {
        self.by_ptr
            .get(&(spec as *const CommandSpec as usize))
            .copied()
    }

    /// The full name (`container|sub`) of a row of the command table.
    pub fn full_name(&self, spec: &'static CommandSpec) -> &str {
        self.id_of(spec)
            .map_or(spec.name, |id| self.entries[id as usize].full.as_str())
    }

    /// `name` or `container|sub`, case-insensitive (Redis's
    /// `lookupCommandBySdsLogic`: no deeper than one `|`, and only a
    /// container has subcommands).
    pub fn lookup(&self, name: &[u8]) -> Option<u32> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        if name.matches('|').count() > 1 {
            return None;
        }
        self.by_name.get(&name).copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Top-level commands, in table order.
    pub fn top(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.parent.is_none())
            .map(|(i, e)| (i as u32, e))
    }
}
