//! Access control lists, as Redis 6+ has them: users with passwords and
//! selectors (commands, keys, channels), the checks every command passes,
//! and the ACL log of what was denied.
//!
//! Users live in `Acl`, owned by the server state; a client names the
//! user it is authenticated as, so a change to a user applies to its
//! connections at once. The `default` user with every permission (the
//! usual case) is recognised before any lookup, so the check costs next to
//! nothing unless ACLs are in use.

pub mod file;
pub mod log;
pub mod registry;
pub mod selector;

use crate::command::{CommandSpec, keyspecs};
use crate::resp::Args;
use selector::Selector;
use std::collections::BTreeMap;

pub use selector::has_spaces;

/// Why a rule was refused; `text` is Redis's wording.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RuleError {
    Syntax,
    NoSuchCommand,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    Duplicate,
    SubcommandFirstArg,
}

impl RuleError {
    pub fn text(self) -> &'static str {
        match self {
            RuleError::NoSuchCommand => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeysAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleError::ChannelsAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
            }
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
            }
            RuleError::Duplicate => {
                "Duplicate user found. A user can only be defined once in config files"
            }
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// RESTORE payloads are not sanitized for this user
    /// (`skip-sanitize-payload`); otherwise `sanitize-payload`.
    pub skip_sanitize: bool,
    /// SHA-256 of each password, in lower-case hex.
    pub passwords: Vec<String>,
    /// The root selector first.
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user: off, no password, no permissions.
    pub fn new(name: &str, pubsub_all: bool) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            skip_sanitize: false,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, pubsub_all)],
        }
    }

    /// The default user as Redis creates it: every permission, no password.
    pub fn new_default() -> User {
        let mut u = User::new("default", false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes(), false);
        }
        u
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Applies one rule (Redis's `ACLSetUser`); `pubsub_all` is
    /// `acl-pubsub-default allchannels`, for `reset` and new selectors.
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.skip_sanitize = true;
        } else if is("sanitize-payload") {
            self.skip_sanitize = false;
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = password_rule_hash(op)?;
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = password_rule_hash(op)?;
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(false, pubsub_all);
            for rule in
                crate::resp::parse::split_args(&op[1..op.len() - 1]).ok_or(RuleError::Syntax)?
            {
                s.apply(&rule)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.apply(b"resetkeys")?;
            root.apply(b"resetchannels")?;
            if pubsub_all {
                root.apply(b"allchannels")?;
            }
            self.enabled = false;
            self.skip_sanitize = false;
            self.selectors.truncate(1);
            self.selectors[0].apply(b"-@all")?;
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// Applies rules all or nothing: the user is unchanged on an error,
    /// which names the rule (Redis's `ACLStringSetUser`).
    pub fn apply_all(&mut self, ops: &[Vec<u8>], pubsub_all: bool) -> Result<(), String> {
        let merged = merge_selectors(ops).map_err(|at| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(&ops[at])
            )
        })?;
        let mut staged = self.clone();
        for op in &merged {
            staged.apply(op, pubsub_all).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.text()
                )
            })?;
        }
        *self = staged;
        Ok(())
    }

    /// The user as rules, as ACL LIST and the ACL file show it (Redis's
    /// `ACLDescribeUser`), without the leading `user name`.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.flag_names() {
            out.extend_from_slice(f.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for (i, s) in self.selectors.iter().enumerate() {
            if i == 0 {
                s.describe(&mut out);
            } else {
                out.extend_from_slice(b" (");
                s.describe(&mut out);
                out.push(b')');
            }
        }
        out
    }

    /// The flags, in Redis's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        v.push(if self.skip_sanitize {
            "skip-sanitize-payload"
        } else {
            "sanitize-payload"
        });
        v
    }

    /// Whether `pass` logs this user in (enabled, and nopass or a matching
    /// password, compared in constant time).
    pub fn check_password(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hash = hash_password(pass);
        let mut ok = false;
        for p in &self.passwords {
            ok |= constant_time_eq(p.as_bytes(), hash.as_bytes());
        }
        ok
    }

    /// The unrestricted user: any command, key and channel.
    pub fn unrestricted(&self) -> bool {
        let r = self.root();
        r.allcommands && r.allkeys && r.allchannels
    }

    /// Checks the command `spec` with `args` (name first) against every
    /// selector (Redis's `ACLCheckAllUserCommandPerm`). On a denial, the
    /// reason comes from the selector that got furthest.
    pub fn check(&self, spec: &'static CommandSpec, args: &Args) -> Result<(), Denied> {
        let reg = registry::get();
        let Some(id) = reg.id_of(spec) else {
            return Ok(());
        };
        let entry = &reg.entries[id as usize];
        let mut keys = None;
        let mut worst = Denied::Command;
        for s in &self.selectors {
            match check_selector(s, id, entry, args, &mut keys) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if d.rank() > worst.rank()
                        || (d.rank() == worst.rank() && d.pos() > worst.pos())
                    {
                        worst = d;
                    }
                }
            }
        }
        Err(worst)
    }

    /// Whether some selector lets the command run and reaches every key
    /// with `flags` (SORT's BY and GET, which name keys by pattern).
    pub fn check_all_keys(&self, spec: &'static CommandSpec, args: &Args, flags: u16) -> bool {
        let reg = registry::get();
        let Some(id) = reg.id_of(spec) else {
            return true;
        };
        let entry = &reg.entries[id as usize];
        let mut keys = None;
        self.selectors.iter().any(|s| {
            check_selector(s, id, entry, args, &mut keys).is_ok() && s.all_keys_allowed(flags)
        })
    }

    /// Whether a key may be used with the key-spec flags `flags` by some
    /// selector.
    pub fn key_allowed(&self, key: &[u8], flags: u16) -> bool {
        self.selectors.iter().any(|s| s.key_allowed(key, flags))
    }

    /// Whether a channel (or channel pattern) is allowed by some selector.
    pub fn channel_allowed(&self, ch: &[u8], pattern: bool) -> bool {
        self.selectors
            .iter()
            .any(|s| s.channel_allowed(ch, pattern))
    }

    /// The channels this user may use, when it may not use all: what
    /// connections subscribed under an older version of it are checked
    /// against. None when `self` allows all that `old` did.
    pub fn channels_lost(&self, old: &User) -> Option<Vec<Vec<u8>>> {
        if self.selectors.iter().any(|s| s.allchannels) {
            return None;
        }
        let upcoming: Vec<Vec<u8>> = self
            .selectors
            .iter()
            .flat_map(|s| s.channels.iter().cloned())
            .collect();
        let superset = old
            .selectors
            .iter()
            .all(|s| !s.allchannels && s.channels.iter().all(|c| upcoming.contains(c)));
        if superset { None } else { Some(upcoming) }
    }
}

/// A denial: the command itself, or the argument at a position (a key or
/// a channel).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    fn rank(self) -> u8 {
        match self {
            Denied::Command => 0,
            Denied::Key(_) => 1,
            Denied::Channel(_) => 2,
        }
    }

    pub fn pos(self) -> usize {
        match self {
            Denied::Command => 0,
            Denied::Key(p) | Denied::Channel(p) => p,
        }
    }

    /// The ACL LOG reason.
    pub fn reason(self) -> &'static str {
        match self {
            Denied::Command => "command",
            Denied::Key(_) => "key",
            Denied::Channel(_) => "channel",
        }
    }

    /// The error text after `NOPERM ` (Redis's `getAclErrorMessage`);
    /// `verbose` names the key or channel (ACL DRYRUN does).
    pub fn message(self, user: &str, cmd: &str, args: &Args, verbose: bool) -> String {
        let arg = || String::from_utf8_lossy(&args[self.pos()]).into_owned();
        match self {
            Denied::Command => {
                format!("User {user} has no permissions to run the '{cmd}' command")
            }
            Denied::Key(_) if verbose => {
                format!(
                    "User {user} has no permissions to access the '{}' key",
                    arg()
                )
            }
            Denied::Key(_) => "No permissions to access a key".into(),
            Denied::Channel(_) if verbose => format!(
                "User {user} has no permissions to access the '{}' channel",
                arg()
            ),
            Denied::Channel(_) => "No permissions to access a channel".into(),
        }
    }
}

/// Redis's `ACLSelectorCheckCmd`. `keys` caches the command's keys across
/// selectors.
fn check_selector(
    s: &Selector,
    id: u32,
    entry: &registry::Entry,
    args: &Args,
    keys: &mut Option<Vec<keyspecs::KeyRef>>,
) -> Result<(), Denied> {
    let spec = entry.spec;
    if !spec.has(crate::command::flags::NO_AUTH)
        && !s.command_allowed(id, entry.parent.is_some(), args)
    {
        return Err(Denied::Command);
    }
    if !s.allkeys {
        let specs = keyspecs::lookup(&entry.full);
        if keyspecs::has_keys(spec, specs) {
            let keys = keys.get_or_insert_with(|| keyspecs::find_keys(spec, specs, args));
            // (A finder may name a key the line lacks when the arity was
            // not checked, as for redis.acl_check_cmd.)
            for &(pos, flags) in keys.iter().filter(|k| k.0 < args.len()) {
                if !s.key_allowed(&args[pos], flags) {
                    return Err(Denied::Key(pos));
                }
            }
        }
    }
    if !s.allchannels {
        for (pos, pattern) in channel_args(&entry.full, args) {
            if !s.channel_allowed(&args[pos], pattern) {
                return Err(Denied::Channel(pos));
            }
        }
    }
    Ok(())
}

/// The channel arguments a command publishes or subscribes to, and
/// whether each is a pattern (Redis's `commands_with_channels`; the
/// unsubscribing commands are not checked).
fn channel_args(name: &str, args: &Args) -> impl Iterator<Item = (usize, bool)> {
    let (range, pattern) = match name {
        "publish" | "spublish" => (1..args.len().min(2), false),
        "subscribe" | "ssubscribe" => (1..args.len(), false),
        "psubscribe" => (1..args.len(), true),
        _ => (0..0, false),
    };
    range.map(move |i| (i, pattern))
}

/// The hash a `>pass`/`<pass` (hashed here) or `#hash`/`!hash` (checked)
/// rule names.
fn password_rule_hash(op: &[u8]) -> Result<String, RuleError> {
    if op[0] == b'>' || op[0] == b'<' {
        return Ok(hash_password(&op[1..]));
    }
    let h = &op[1..];
    if h.len() != 64 || !h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(h).into_owned())
}

/// SHA-256 of a password, in lower-case hex.
pub fn hash_password(pass: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(pass);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Joins a selector given over several arguments (`(+get`, `~key)`) into
/// one, as Redis lets ACL SETUSER and config lines do. Err: the index of
/// the argument opening an unclosed selector.
pub fn merge_selectors(ops: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, op) in ops.iter().enumerate() {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(open.take().map(|(_, s)| s).unwrap_or_default());
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((i, op.clone()));
            continue;
        }
        out.push(op.clone());
    }
    match open {
        Some((at, _)) => Err(at),
        None => Ok(out),
    }
}

/// Checks a `user name rules...` declaration of the config file as it is
/// read: rules that could never apply are refused then, an unknown command
/// only when users are created (Redis's `ACLAppendUserForLoading`). Err:
/// the offending word and why.
pub fn validate_declaration(words: &[Vec<u8>]) -> Result<(), (Vec<u8>, RuleError)> {
    let ops =
        merge_selectors(&words[1..]).map_err(|at| (words[1 + at].clone(), RuleError::Syntax))?;
    let mut fake = User::new("__fakeuser__", false);
    for op in &ops {
        match fake.apply(op, false) {
            Ok(()) | Err(RuleError::NoSuchCommand) => {}
            Err(e) => return Err((op.clone(), e)),
        }
    }
    Ok(())
}

/// Creates the users of the config file's `user` lines, or of `aclfile`,
/// at startup (Redis's `ACLLoadUsersAtStartup`). Err: the log line to exit
/// with.
pub fn load_at_startup(acl: &mut Acl, cfg: &crate::config::Config) -> Result<(), String> {
    acl.pubsub_all = cfg.get("acl-pubsub-default") == "allchannels";
    let pass = cfg.get("requirepass");
    acl.set_default_password((!pass.is_empty()).then_some(pass.as_bytes()));
    let aclfile = cfg.get("aclfile");
    if !aclfile.is_empty() && !cfg.users.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    for decl in &cfg.users {
        let name = String::from_utf8_lossy(&decl[0]).into_owned();
        if has_spaces(&decl[0]) {
            ::log::warn!("Spaces not allowed in ACL usernames");
            return Err("Critical error while loading ACLs. Exiting.".into());
        }
        let ops = merge_selectors(&decl[1..]).unwrap_or_default();
        let pubsub_all = acl.pubsub_all;
        let u = acl
            .users
            .entry(name.clone())
            .or_insert_with(|| User::new(&name, pubsub_all));
        if name == "default" {
            let _ = u.apply(b"reset", pubsub_all);
        }
        for op in &ops {
            if let Err(e) = u.apply(op, pubsub_all) {
                ::log::warn!(
                    "Error loading ACL rule '{}' for the user named '{}': {}",
                    String::from_utf8_lossy(op),
                    name,
                    e.text()
                );
                return Err("Critical error while loading ACLs. Exiting.".into());
            }
        }
        if !u.enabled {
            ::log::info!(
                "The user '{name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error."
            );
        }
    }
    if !aclfile.is_empty() {
        let users = file::load(aclfile, acl.pubsub_all)
            .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        acl.users = users;
    }
    acl.refresh();
    Ok(())
}

/// Every user, by name (sorted, as Redis's radix tree lists them).
pub struct Acl {
    pub users: BTreeMap<String, User>,
    pub log: log::Log,
    /// `acl-pubsub-default allchannels`.
    pub pubsub_all: bool,
    /// The default user may run anything: the fast path of every check.
    pub default_unrestricted: bool,
    /// The default user needs no password and is enabled: connections
    /// start authenticated.
    pub default_open: bool,
}

impl Default for Acl {
    fn default() -> Acl {
        let mut a = Acl {
            users: BTreeMap::new(),
            log: log::Log::default(),
            pubsub_all: false,
            default_unrestricted: true,
            default_open: true,
        };
        a.users.insert("default".into(), User::new_default());
        a.refresh();
        a
    }
}

impl Acl {
    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// Whether commands run as `user` need checking: not for the
    /// unrestricted default user, nor for no user (the master's link and
    /// the AOF loader, which may run anything).
    pub fn restricts(&self, user: &str) -> bool {
        !(user.is_empty() || (self.default_unrestricted && user == "default"))
    }

    pub fn default_user(&self) -> &User {
        &self.users["default"]
    }

    /// Recomputes what is cached about the default user; called after any
    /// change to the users.
    pub fn refresh(&mut self) {
        if !self.users.contains_key("default") {
            self.users.insert("default".into(), User::new_default());
        }
        let d = &self.users["default"];
        self.default_unrestricted = d.unrestricted();
        self.default_open = d.nopass && d.enabled;
    }

    /// `requirepass`: the default user's only password (none: nopass).
    pub fn set_default_password(&mut self, pass: Option<&[u8]>) {
        if let Some(d) = self.users.get_mut("default") {
            let _ = d.apply(b"resetpass", false);
            match pass {
                Some(p) => {
                    let mut op = b">".to_vec();
                    op.extend_from_slice(p);
                    let _ = d.apply(&op, false);
                }
                None => {
                    let _ = d.apply(b"nopass", false);
                }
            }
        }
        self.refresh();
    }

    /// The user list as ACL LIST and the ACL file write it.
    pub fn list_lines(&self) -> Vec<Vec<u8>> {
        self.users
            .values()
            .map(|u| {
                let mut l = format!("user {} ", u.name).into_bytes();
                l.extend_from_slice(&u.describe());
                l
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
