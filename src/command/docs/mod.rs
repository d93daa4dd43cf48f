//! COMMAND DOCS: the documentation of every command and subcommand.
//!
//! The rows (`DocRow`, one per full name such as `set` or `client|kill`)
//! live in per-group data files beside this one. Each holds a complexity
//! note, the history, deprecation and the argument syntax in the compact
//! form described in `syntax`. Summary, since and group come from the
//! command table itself (`CommandSpec`). The syntax strings are parsed once,
//! on the first COMMAND DOCS, into the argument trees that `reply` renders;
//! nothing here is on the path of ordinary commands.

mod cluster;
mod generic;
mod hash;
mod list;
mod misc;
mod server;
mod set;
mod sorted_set;
mod stream;
mod string;
pub mod syntax;

use super::CommandSpec;
use crate::resp::ReplyBuf;
use crate::util::FxHashMap;
use std::sync::OnceLock;
use syntax::Arg;

/// The hand-written documentation of one command or subcommand.
pub struct DocRow {
    /// `cmd` or `container|sub`, lower case.
    pub name: &'static str,
    /// Time complexity; empty when there is none to state.
    pub complexity: &'static str,
    /// Argument syntax (see `syntax`).
    pub syntax: &'static str,
    /// (version, what changed) pairs, oldest first.
    pub history: &'static [(&'static str, &'static str)],
    /// (deprecated since, what to use instead).
    pub deprecated: Option<(&'static str, &'static str)>,
    /// An internal command (replication, cluster plumbing, tests).
    pub syscmd: bool,
}

/// A row with no history and no deprecation.
pub const fn doc(name: &'static str, complexity: &'static str, syntax: &'static str) -> DocRow {
    DocRow {
        name,
        complexity,
        syntax,
        history: &[],
        deprecated: None,
        syscmd: false,
    }
}

impl DocRow {
    pub const fn history(mut self, h: &'static [(&'static str, &'static str)]) -> DocRow {
        self.history = h;
        self
    }

    pub const fn deprecated(mut self, since: &'static str, use_instead: &'static str) -> DocRow {
        self.deprecated = Some((since, use_instead));
        self
    }

    pub const fn syscmd(mut self) -> DocRow {
        self.syscmd = true;
        self
    }
}

/// Every data file's rows.
pub fn rows() -> impl Iterator<Item = &'static DocRow> {
    [
        generic::ROWS,
        string::ROWS,
        list::ROWS,
        hash::ROWS,
        set::ROWS,
        sorted_set::ROWS,
        stream::ROWS,
        server::ROWS,
        cluster::ROWS,
        misc::ROWS,
    ]
    .into_iter()
    .flatten()
}

/// A row with its argument tree parsed.
pub struct Doc {
    pub row: &'static DocRow,
    pub args: Vec<Arg>,
}

/// All rows by full name, parsed on first use. A row whose syntax does not
/// parse is a bug caught by the unit tests; here it just has no arguments.
pub fn lookup(full_name: &str) -> Option<&'static Doc> {
    static DOCS: OnceLock<FxHashMap<&'static str, Doc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        rows()
            .map(|row| {
                let args = syntax::parse(row.syntax).unwrap_or_default();
                (row.name, Doc { row, args })
            })
            .collect()
    })
    .get(full_name)
}

fn full_name(spec: &CommandSpec, parent: Option<&CommandSpec>) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, spec.name),
        None => spec.name.to_string(),
    }
}

/// Writes the documentation map of `spec` (a subcommand of `parent`, if
/// given), in Redis's field order; empty fields are left out.
pub fn reply(r: &mut ReplyBuf, spec: &CommandSpec, parent: Option<&CommandSpec>) {
    let doc = lookup(&full_name(spec, parent));
    let row = doc.map(|d| d.row);
    let complexity = row.map_or("", |d| d.complexity);
    let history = row.map_or(&[][..], |d| d.history);
    let deprecated = row.and_then(|d| d.deprecated);
    let syscmd = row.is_some_and(|d| d.syscmd);
    let args = doc.map_or(&[][..], |d| &d.args[..]);
    let n = 3
        + usize::from(!complexity.is_empty())
        + usize::from(deprecated.is_some() || syscmd)
        + 2 * usize::from(deprecated.is_some())
        + usize::from(!history.is_empty())
        + usize::from(!args.is_empty())
        + usize::from(!spec.subcommands.is_empty());
    r.map(n);
    r.bulk_str("summary");
    r.bulk_str(spec.summary);
    r.bulk_str("since");
    r.bulk_str(spec.since);
    r.bulk_str("group");
    r.bulk_str(parent.map_or(spec.group, |p| p.group));
    if !complexity.is_empty() {
        r.bulk_str("complexity");
        r.bulk_str(complexity);
    }
    if deprecated.is_some() || syscmd {
        r.bulk_str("doc_flags");
        r.set(usize::from(deprecated.is_some()) + usize::from(syscmd));
        if deprecated.is_some() {
            r.simple("deprecated");
        }
        if syscmd {
            r.simple("syscmd");
        }
    }
    if let Some((since, instead)) = deprecated {
        r.bulk_str("deprecated_since");
        r.bulk_str(since);
        r.bulk_str("replaced_by");
        r.bulk_str(instead);
    }
    if !history.is_empty() {
        r.bulk_str("history");
        r.set(history.len());
        for (version, what) in history {
            r.array(2);
            r.bulk_str(version);
            r.bulk_str(what);
        }
    }
    if !args.is_empty() {
        r.bulk_str("arguments");
        reply_args(r, args);
    }
    if !spec.subcommands.is_empty() {
        r.bulk_str("subcommands");
        r.map(spec.subcommands.len());
        for sc in spec.subcommands {
            r.bulk_str(&full_name(sc, Some(spec)));
            reply(r, sc, Some(spec));
        }
    }
}

/// An argument list: one map per argument, fields in Redis's order.
fn reply_args(r: &mut ReplyBuf, args: &[Arg]) {
    r.array(args.len());
    for a in args {
        let nflags =
            usize::from(a.optional) + usize::from(a.multiple) + usize::from(a.multiple_token);
        let n = 2
            + usize::from(a.display.is_some())
            + usize::from(a.key_spec.is_some())
            + usize::from(a.token.is_some())
            + usize::from(a.since.is_some())
            + usize::from(a.deprecated_since.is_some())
            + usize::from(nflags > 0)
            + usize::from(!a.args.is_empty());
        r.map(n);
        r.bulk_str("name");
        r.bulk_str(&a.name);
        r.bulk_str("type");
        r.bulk_str(a.kind.name());
        if let Some(d) = &a.display {
            r.bulk_str("display_text");
            r.bulk_str(d);
        }
        if let Some(k) = a.key_spec {
            r.bulk_str("key_spec_index");
            r.int(k as i64);
        }
        if let Some(t) = &a.token {
            r.bulk_str("token");
            r.bulk_str(t);
        }
        if let Some(s) = &a.since {
            r.bulk_str("since");
            r.bulk_str(s);
        }
        if let Some(s) = &a.deprecated_since {
            r.bulk_str("deprecated_since");
            r.bulk_str(s);
        }
        if nflags > 0 {
            r.bulk_str("flags");
            r.set(nflags);
            for (on, f) in [
                (a.optional, "optional"),
                (a.multiple, "multiple"),
                (a.multiple_token, "multiple_token"),
            ] {
                if on {
                    r.simple(f);
                }
            }
        }
        if !a.args.is_empty() {
            r.bulk_str("arguments");
            reply_args(r, &a.args);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_parses_once() {
        let mut seen = std::collections::HashSet::new();
        for row in rows() {
            assert!(seen.insert(row.name), "{} twice", row.name);
            if let Err(e) = syntax::parse(row.syntax) {
                panic!("{}: {e}", row.name);
            }
        }
    }

    #[test]
    fn every_command_has_docs() {
        let mut missing = Vec::new();
        for fam in crate::command::table::families() {
            for c in *fam {
                if lookup(c.name).is_none() {
                    missing.push(c.name.to_string());
                }
                for sc in c.subcommands {
                    let n = full_name(sc, Some(c));
                    if lookup(&n).is_none() {
                        missing.push(n);
                    }
                }
            }
        }
        assert!(missing.is_empty(), "no docs for {missing:?}");
    }
}
