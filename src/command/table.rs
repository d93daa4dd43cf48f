//! The command table: every family's rows joined into one lookup map.

use super::CommandSpec;
use crate::config::Config;

/// All family tables; adding a family means adding it here.
pub fn families() -> &'static [&'static [CommandSpec]] {
    static FAMILIES: &[&[CommandSpec]] = &[
        crate::commands::string::COMMANDS,
        crate::commands::keys::COMMANDS,
        crate::commands::list::COMMANDS,
        crate::commands::sort::COMMANDS,
        crate::commands::connection::COMMANDS,
        crate::commands::server::COMMANDS,
        crate::commands::config::COMMANDS,
        crate::commands::replication::COMMANDS,
        crate::commands::multi::COMMANDS,
        crate::commands::pubsub::COMMANDS,
        crate::commands::introspection::COMMANDS,
        crate::commands::set::COMMANDS,
        crate::commands::hash::COMMANDS,
        crate::commands::zset::COMMANDS,
        crate::commands::cluster::COMMANDS,
        crate::commands::bitops::COMMANDS,
        crate::commands::geo::COMMANDS,
        crate::commands::hll::COMMANDS,
        crate::commands::latency::COMMANDS,
        crate::commands::lolwut::COMMANDS,
        crate::commands::migrate::COMMANDS,
        crate::commands::scripting::COMMANDS,
        crate::commands::stream::COMMANDS,
        crate::commands::acl::COMMANDS,
    ];
    FAMILIES
}

pub struct CommandTable {
    map: crate::util::FxHashMap<Vec<u8>, &'static CommandSpec>,
    /// Every command answers to its own name (no rename-command), so a
    /// spec can be recognised by comparing names.
    pub plain_names: bool,
}

impl CommandTable {
    pub fn new(cfg: &Config) -> CommandTable {
        let mut map = crate::util::FxHashMap::default();
        for fam in families() {
            for c in *fam {
                let name = match cfg.renamed.get(c.name) {
                    Some(n) if n.is_empty() => continue,
                    Some(n) => n.to_ascii_lowercase(),
                    None => c.name.to_string(),
                };
                map.insert(name.into_bytes(), c);
            }
        }
        CommandTable {
            map,
            plain_names: cfg.renamed.is_empty(),
        }
    }

    /// Case-insensitive lookup without allocating for ordinary names.
    pub fn get(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let mut buf = [0u8; 32];
        if name.len() <= buf.len() {
            let b = &mut buf[..name.len()];
            b.copy_from_slice(name);
            b.make_ascii_lowercase();
            self.map.get(&b[..]).copied()
        } else {
            self.map.get(&name.to_ascii_lowercase()).copied()
        }
    }

    /// The command a command line (name first) runs, with its container
    /// for a subcommand; None for an unknown command or subcommand (Redis's
    /// `lookupCommand`).
    pub fn lookup_line(
        &self,
        args: &crate::resp::Args,
    ) -> Option<(&'static CommandSpec, Option<&'static CommandSpec>)> {
        let top = self.get(&args[0])?;
        if top.subcommands.is_empty() || args.len() < 2 {
            return Some((top, None));
        }
        subcommand(top, &args[1]).map(|s| (s, Some(top)))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &&'static CommandSpec)> {
        self.map.iter()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Finds a subcommand of a container by name.
pub fn subcommand(parent: &'static CommandSpec, name: &[u8]) -> Option<&'static CommandSpec> {
    parent
        .subcommands
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
}
