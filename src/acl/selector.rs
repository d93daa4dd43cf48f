//! A selector: one set of command, key and channel permissions. Every user
//! has a root selector (the rules written outside parentheses) and may
//! have more; a command is allowed when any one selector allows all of it.

use super::RuleError;
use super::registry::{self, Registry};
use crate::command::categories;
use crate::util::glob_match;

pub const PERM_READ: u8 = 1;
pub const PERM_WRITE: u8 = 2;
pub const PERM_ALL: u8 = PERM_READ | PERM_WRITE;

#[derive(Clone, Debug, PartialEq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub perms: u8,
}

impl KeyPattern {
    /// `~pat`, `%R~pat` or `%W~pat`.
    pub fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.perms {
            PERM_READ => b"%R~",
            PERM_WRITE => b"%W~",
            _ => b"~",
        });
        out.extend_from_slice(&self.pattern);
    }
}

#[derive(Clone, Debug)]
pub struct Selector {
    pub root: bool,
    pub allkeys: bool,
    pub allchannels: bool,
    /// Every command is allowed (no bit was cleared since `+@all`).
    pub allcommands: bool,
    /// `+@all` was given: commands added later would be allowed too. It
    /// decides whether the rules are described from `+@all` or `-@all`.
    future: bool,
    bits: Vec<u64>,
    /// First arguments allowed for commands whose bit is clear
    /// (`+select|0`): (command id, lower-case arguments).
    firstargs: Vec<(u32, Vec<Vec<u8>>)>,
    pub patterns: Vec<KeyPattern>,
    pub channels: Vec<Vec<u8>>,
    /// The command rules in the order they still matter, to describe the
    /// selector back without loss (Redis's `command_rules`).
    rules: String,
}

impl Selector {
    /// A selector with no permissions; `allchannels` per
    /// `acl-pubsub-default`.
    pub fn new(root: bool, allchannels: bool) -> Selector {
        Selector {
            root,
            allkeys: false,
            allchannels,
            allcommands: false,
            future: false,
            bits: vec![0; registry::get().len().div_ceil(64)],
            firstargs: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
            rules: String::new(),
        }
    }

    pub fn allowed(&self, id: u32) -> bool {
        self.bits
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: u32, on: bool) {
        let Some(w) = self.bits.get_mut(id as usize / 64) else {
            return;
        };
        if on {
            *w |= 1 << (id % 64);
        } else {
            *w &= !(1 << (id % 64));
            self.allcommands = false;
        }
    }

    /// Allows or denies a command, and with a container all its
    /// subcommands.
    fn change(&mut self, reg: &Registry, id: u32, on: bool) {
        self.set_bit(id, on);
        self.firstargs.retain(|(i, _)| *i != id);
        for &s in &reg.entries[id as usize].subs {
            self.set_bit(s, on);
        }
    }

    fn change_category(&mut self, reg: &Registry, cat: u32, on: bool) {
        for (id, e) in reg.top() {
            if e.cats & cat != 0 {
                self.change(reg, id, on);
            }
            for &s in &e.subs {
                if reg.entries[s as usize].cats & cat != 0 {
                    self.change(reg, s, on);
                }
            }
        }
    }

    /// Forgets rules that `rule` supersedes (the same one, or a
    /// subcommand or first argument of it) and appends it.
    fn push_rule(&mut self, rule: &str, on: bool) {
        let rule = rule.to_ascii_lowercase();
        let kept: Vec<&str> = self
            .rules
            .split(' ')
            .filter(|r| {
                let body = r.get(1..).unwrap_or("");
                !(body == rule
                    || (body.len() > rule.len()
                        && body.starts_with(rule.as_str())
                        && body.as_bytes()[rule.len()] == b'|'))
            })
            .filter(|r| !r.is_empty())
            .collect();
        let mut s = kept.join(" ");
        if !s.is_empty() {
            s.push(' ');
        }
        s.push(if on { '+' } else { '-' });
        s.push_str(&rule);
        self.rules = s;
    }

    fn all_commands(&mut self, on: bool) {
        for w in &mut self.bits {
            *w = if on { u64::MAX } else { 0 };
        }
        self.allcommands = on;
        self.future = on;
        self.rules.clear();
        self.firstargs.clear();
    }

    /// Applies one selector rule (Redis's `ACLSetSelector`).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        // An empty word (`(+get "")`) is no rule, as in Redis.
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            self.add_key_pattern(op)?;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::ChannelsAfterAll);
            }
            let pat = &op[1..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pat) {
                self.channels.push(pat.to_vec());
            }
            self.allchannels = false;
        } else if op.len() >= 2 && (op[0] == b'+' || op[0] == b'-') && op[1] == b'@' {
            let cat = categories::bit(&op[2..]).ok_or(RuleError::NoSuchCommand)?;
            let on = op[0] == b'+';
            let name = String::from_utf8_lossy(&op[1..]).into_owned();
            self.push_rule(&name, on);
            self.change_category(registry::get(), cat, on);
        } else if op[0] == b'+' {
            self.allow_command(&op[1..])?;
        } else if op[0] == b'-' {
            let reg = registry::get();
            let id = reg.lookup(&op[1..]).ok_or(RuleError::NoSuchCommand)?;
            self.change(reg, id, false);
            let full = reg.entries[id as usize].full.clone();
            self.push_rule(&full, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.allkeys {
            return Err(RuleError::KeysAfterAll);
        }
        let mut perms = 0;
        let mut at = 1;
        if op[0] == b'%' {
            let mut ok = true;
            while at < op.len() {
                match op[at].to_ascii_uppercase() {
                    b'R' if perms & PERM_READ == 0 => perms |= PERM_READ,
                    b'W' if perms & PERM_WRITE == 0 => perms |= PERM_WRITE,
                    b'~' => {
                        at += 1;
                        break;
                    }
                    _ => {
                        ok = false;
                        break;
                    }
                }
                at += 1;
            }
            if perms == 0 || !ok {
                return Err(RuleError::Syntax);
            }
        } else {
            perms = PERM_ALL;
        }
        let pat = &op[at.min(op.len())..];
        if has_spaces(pat) {
            return Err(RuleError::Syntax);
        }
        match self.patterns.iter_mut().find(|p| p.pattern == pat) {
            Some(p) => p.perms |= perms,
            None => self.patterns.push(KeyPattern {
                pattern: pat.to_vec(),
                perms,
            }),
        }
        self.allkeys = false;
        Ok(())
    }

    /// `+cmd`, `+container|sub` or the deprecated `+cmd|first-arg`.
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let reg = registry::get();
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let id = reg.lookup(name).ok_or(RuleError::NoSuchCommand)?;
            self.change(reg, id, true);
            let full = reg.entries[id as usize].full.clone();
            self.push_rule(&full, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = reg.lookup(base).ok_or(RuleError::NoSuchCommand)?;
        let e = &reg.entries[id as usize];
        if e.parent.is_some() {
            return Err(RuleError::SubcommandFirstArg);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !e.subs.is_empty() {
            let sid = reg.lookup(name).ok_or(RuleError::NoSuchCommand)?;
            self.change(reg, sid, true);
        } else {
            log::warn!(
                "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                String::from_utf8_lossy(name)
            );
            let sub = sub.to_ascii_lowercase();
            match self.firstargs.iter_mut().find(|(i, _)| *i == id) {
                Some((_, v)) => {
                    if !v.contains(&sub) {
                        v.push(sub);
                    }
                }
                None => self.firstargs.push((id, vec![sub])),
            }
        }
        self.push_rule(&String::from_utf8_lossy(name), true);
        Ok(())
    }

    /// `+@all`/`-@all` and the rules that still matter after it.
    pub fn describe_commands(&self) -> String {
        let mut s = String::from(if self.future { "+@all" } else { "-@all" });
        if !self.rules.is_empty() {
            s.push(' ');
            s.push_str(&self.rules);
        }
        s
    }

    /// The key patterns, space separated (`~*` for all keys).
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        joined(&self.patterns, |p, out| p.describe(out))
    }

    /// The channel patterns, space separated (`&*` for all channels).
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        joined(&self.channels, |c, out| {
            out.push(b'&');
            out.extend_from_slice(c);
        })
    }

    /// The whole selector as rules (Redis's `ACLDescribeSelector`).
    pub fn describe(&self, out: &mut Vec<u8>) {
        if self.allkeys {
            out.extend_from_slice(b"~* ");
        } else {
            for p in &self.patterns {
                p.describe(out);
                out.push(b' ');
            }
        }
        if self.allchannels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands().as_bytes());
    }

    /// Whether the command `id` (with `args`, name first) may run as far as
    /// the command rules go: its bit, or an allowed first argument.
    pub fn command_allowed(&self, id: u32, sub: bool, args: &crate::resp::Args) -> bool {
        if self.allcommands || self.allowed(id) {
            return true;
        }
        let at = if sub { 2 } else { 1 };
        args.len() > at
            && self
                .firstargs
                .iter()
                .any(|(i, v)| *i == id && v.iter().any(|a| a.eq_ignore_ascii_case(&args[at])))
    }

    /// Whether the key may be used with the key-spec flags `flags`
    /// (Redis's `ACLSelectorCheckKey`).
    pub fn key_allowed(&self, key: &[u8], flags: u16) -> bool {
        if self.allkeys {
            return true;
        }
        let need = perms_for(flags);
        self.patterns
            .iter()
            .any(|p| p.perms & need == need && glob_match(&p.pattern, key, false))
    }

    /// Whether every key may be used with the key-spec flags `flags`
    /// (`~*`, `allkeys` or `%R~*` for reads...).
    pub fn all_keys_allowed(&self, flags: u16) -> bool {
        if self.allkeys {
            return true;
        }
        let need = perms_for(flags);
        self.patterns
            .iter()
            .any(|p| p.perms & need == need && p.pattern == b"*")
    }

    /// A channel (or, `pattern`, a channel pattern, which must appear
    /// literally) against the allowed channels.
    pub fn channel_allowed(&self, ch: &[u8], pattern: bool) -> bool {
        self.allchannels || channel_in(&self.channels, ch, pattern)
    }
}

/// Each item written by `each`, separated by spaces.
fn joined<T>(items: &[T], each: impl Fn(&T, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        each(it, &mut out);
    }
    out
}

/// A channel, or literally a channel pattern, against a list of patterns.
pub fn channel_in(list: &[Vec<u8>], ch: &[u8], pattern: bool) -> bool {
    list.iter().any(|p| {
        if pattern {
            p == ch
        } else {
            glob_match(p, ch, false)
        }
    })
}

/// Read/write permissions a key needs, from its key-spec flags.
fn perms_for(flags: u16) -> u8 {
    use crate::command::keyspecs::flag::*;
    let mut p = 0;
    if flags & ACCESS != 0 {
        p |= PERM_READ;
    }
    if flags & (INSERT | DELETE | UPDATE) != 0 {
        p |= PERM_WRITE;
    }
    p
}

/// Usernames and patterns may not hold spaces or NUL bytes.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c == 0 || c.is_ascii_whitespace() || c == 0x0b)
}
