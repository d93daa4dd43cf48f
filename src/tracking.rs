//! Client-side caching (`CLIENT TRACKING`), as Redis's `tracking.c`.
//!
//! Two tables, both global (keys are not qualified by db, as in Redis):
//! - the tracking table, key -> ids of the clients that read it in the
//!   default mode. A write to the key sends one invalidation to each of
//!   them and forgets the key (it is tracked again on the next read). Ids
//!   are not removed when a client turns tracking off: they are filtered
//!   out when the key is invalidated, as Redis does.
//! - the prefix table, prefix -> BCAST subscribers plus the keys under
//!   that prefix modified during the current event-loop turn (with the id
//!   of the client that modified each, for NOLOOP). `broadcast` turns them
//!   into one message per prefix and subscriber, once per loop turn.
//!
//! Nothing here touches clients: messages go to `outbox`, addressed to the
//! tracking client's id. The server resolves redirections and encodes them
//! (`encode`) after the command that produced them, so a client's own
//! invalidations follow its reply.

use crate::resp::ReplyBuf;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A client's tracking state (present while tracking is on).
#[derive(Default, Clone, Debug)]
pub struct ClientTracking {
    /// Client id receiving our invalidations; 0: ourselves.
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING yes (OPTIN) or no (OPTOUT) given for the next command.
    pub caching: bool,
    /// The redirection client went away.
    pub broken_redir: bool,
    /// BCAST prefixes (the empty prefix when none was given).
    pub prefixes: BTreeSet<Vec<u8>>,
}

impl ClientTracking {
    /// Whether keys read by the next command are remembered: default mode,
    /// and OPTIN/OPTOUT agree with CLIENT CACHING.
    pub fn remembers_keys(&self) -> bool {
        let opted_out = if self.optin {
            !self.caching
        } else {
            self.optout && self.caching
        };
        !self.bcast && !opted_out
    }
}

/// The options of one `CLIENT TRACKING on` call.
#[derive(Default, Clone, Debug)]
pub struct Options {
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    pub prefixes: Vec<Vec<u8>>,
}

/// What an invalidation carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Keys(Vec<Vec<u8>>),
    /// Everything is gone (FLUSHDB, FLUSHALL).
    Null,
}

/// An invalidation for the tracking client `target` (delivered to its
/// redirection client, if any).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub target: u64,
    pub payload: Payload,
}

#[derive(Clone, Copy, Debug)]
struct Mode {
    bcast: bool,
    noloop: bool,
}

#[derive(Default, Debug)]
struct Bcast {
    /// Keys modified this loop turn -> id of the modifying client (0: none,
    /// e.g. expiry). The last modifier wins.
    keys: BTreeMap<Vec<u8>, u64>,
    clients: BTreeSet<u64>,
}

#[derive(Default, Debug)]
pub struct Tracking {
    table: HashMap<Vec<u8>, HashSet<u64>>,
    items: u64,
    prefixes: BTreeMap<Vec<u8>, Bcast>,
    /// Clients with tracking on.
    modes: HashMap<u64, Mode>,
    pub outbox: Vec<Message>,
    /// Id of the client whose command is running (0 outside commands).
    pub current: u64,
    /// Consecutive `limit` runs that could not get under the limit.
    over_limit_runs: u32,
}

/// "Prefix 'x' overlaps ..." when one of `new` is a prefix of an existing
/// prefix or of another new one (or the other way round).
pub fn check_prefixes(existing: &BTreeSet<Vec<u8>>, new: &[Vec<u8>]) -> Result<(), String> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(e)
            ));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(q)
            ));
        }
    }
    Ok(())
}

impl Tracking {
    /// Nothing is tracked: writes need no work.
    pub fn idle(&self) -> bool {
        self.table.is_empty() && self.prefixes.is_empty()
    }

    /// Clients with tracking on (INFO `tracking_clients`).
    pub fn clients(&self) -> usize {
        self.modes.len()
    }

    pub fn total_keys(&self) -> usize {
        self.table.len()
    }

    pub fn total_items(&self) -> u64 {
        self.items
    }

    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// Turns tracking on for client `id` (or changes its options): the
    /// options were validated by the caller. `ct` is the client's state.
    pub fn enable(&mut self, id: u64, ct: &mut ClientTracking, o: &Options) {
        ct.redirect = o.redirect;
        ct.broken_redir = false;
        ct.bcast = o.bcast;
        ct.optin = o.optin;
        ct.optout = o.optout;
        ct.noloop = o.noloop;
        if o.bcast {
            let empty = [Vec::new()];
            let list: &[Vec<u8>] = if o.prefixes.is_empty() {
                &empty
            } else {
                &o.prefixes
            };
            for p in list {
                self.prefixes
                    .entry(p.clone())
                    .or_default()
                    .clients
                    .insert(id);
                ct.prefixes.insert(p.clone());
            }
        }
        self.modes.insert(
            id,
            Mode {
                bcast: o.bcast,
                noloop: o.noloop,
            },
        );
    }

    /// Turns tracking off for client `id` (CLIENT TRACKING off, RESET,
    /// disconnection). Its ids stay in the tracking table.
    pub fn disable(&mut self, id: u64, ct: &ClientTracking) {
        for p in &ct.prefixes {
            if let Some(b) = self.prefixes.get_mut(p) {
                b.clients.remove(&id);
                if b.clients.is_empty() {
                    self.prefixes.remove(p);
                }
            }
        }
        self.modes.remove(&id);
    }

    /// Client `id` read `keys`: it will hear when they change.
    pub fn remember<'a>(&mut self, id: u64, keys: impl Iterator<Item = &'a [u8]>) {
        for k in keys {
            let ids = match self.table.get_mut(k) {
                Some(ids) => ids,
                None => self.table.entry(k.to_vec()).or_default(),
            };
            if ids.insert(id) {
                self.items += 1;
            }
        }
    }

    /// `key` changed (written, deleted, expired, evicted) by client `by`
    /// (0: no client). Default-mode readers get an invalidation and the key
    /// is forgotten; BCAST prefixes remember it for the end of the turn.
    pub fn invalidate(&mut self, key: &[u8], by: u64) {
        if self.idle() {
            return;
        }
        self.invalidate_key(key, by, true);
    }

    fn invalidate_key(&mut self, key: &[u8], by: u64, bcast: bool) {
        if bcast {
            for (p, b) in self.prefixes.iter_mut() {
                if key.starts_with(p) {
                    b.keys.insert(key.to_vec(), by);
                }
            }
        }
        let Some(ids) = self.table.remove(key) else {
            return;
        };
        self.items -= ids.len() as u64;
        for id in ids {
            let Some(m) = self.modes.get(&id) else {
                continue;
            };
            if m.bcast || (m.noloop && id == self.current) {
                continue;
            }
            self.outbox.push(Message {
                target: id,
                payload: Payload::Keys(vec![key.to_vec()]),
            });
        }
    }

    /// FLUSHDB / FLUSHALL: every tracking client hears that everything is
    /// gone, and the tracking table is emptied.
    pub fn flush(&mut self) {
        let mut ids: Vec<u64> = self.modes.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.outbox.push(Message {
                target: id,
                payload: Payload::Null,
            });
        }
        self.table.clear();
        self.items = 0;
    }

    /// Keeps the tracking table within `max_keys` (0: no limit) by
    /// invalidating keys, with an effort that grows while it stays over.
    pub fn limit(&mut self, max_keys: usize) {
        if max_keys == 0 || self.table.len() <= max_keys {
            self.over_limit_runs = 0;
            return;
        }
        let effort = 100 * (self.over_limit_runs as usize + 1);
        for _ in 0..effort {
            let Some(k) = self.table.keys().next().cloned() else {
                break;
            };
            self.invalidate_key(&k, 0, false);
            if self.table.len() <= max_keys {
                self.over_limit_runs = 0;
                return;
            }
        }
        self.over_limit_runs += 1;
    }

    /// True when BCAST subscribers have keys waiting.
    pub fn has_broadcasts(&self) -> bool {
        self.prefixes.values().any(|b| !b.keys.is_empty())
    }

    /// End of a loop turn: one message per prefix and subscriber with the
    /// keys modified under it (NOLOOP subscribers skip their own writes).
    pub fn broadcast(&mut self) {
        for b in self.prefixes.values_mut() {
            if b.keys.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut b.keys);
            for &id in &b.clients {
                let noloop = self.modes.get(&id).is_some_and(|m| m.noloop);
                let list: Vec<Vec<u8>> = keys
                    .iter()
                    .filter(|&(_, &by)| !noloop || by != id)
                    .map(|(k, _)| k.clone())
                    .collect();
                if list.is_empty() {
                    continue;
                }
                self.outbox.push(Message {
                    target: id,
                    payload: Payload::Keys(list),
                });
            }
        }
    }
}

/// Encodes an invalidation into the receiving client's buffer: a RESP3
/// `invalidate` push, or (`pubsub`) a RESP2 message on
/// `__redis__:invalidate` for a subscribed redirection client.
pub fn encode(r: &mut ReplyBuf, p: &Payload, pubsub: bool) {
    if pubsub {
        r.push(3);
        r.bulk(b"message");
        r.bulk(b"__redis__:invalidate");
    } else {
        r.push(2);
        r.bulk(b"invalidate");
    }
    match p {
        Payload::Keys(keys) => {
            r.array(keys.len());
            for k in keys {
                r.bulk(k);
            }
        }
        Payload::Null => r.null(),
    }
}

/// The `tracking-redir-broken` push a RESP3 client gets when its
/// redirection client is gone.
pub fn encode_broken(r: &mut ReplyBuf, redirect: u64) {
    r.push(2);
    r.bulk(b"tracking-redir-broken");
    r.int(redirect as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(t: &mut Tracking, id: u64, o: Options) -> ClientTracking {
        let mut ct = ClientTracking::default();
        t.enable(id, &mut ct, &o);
        ct
    }

    #[test]
    fn default_mode_invalidates_once() {
        let mut t = Tracking::default();
        on(&mut t, 1, Options::default());
        on(&mut t, 2, Options::default());
        t.remember(1, [&b"a"[..], b"b"].into_iter());
        t.remember(2, [&b"a"[..]].into_iter());
        assert_eq!((t.total_keys(), t.total_items()), (2, 3));
        t.invalidate(b"a", 0);
        assert_eq!(t.outbox.len(), 2);
        assert_eq!((t.total_keys(), t.total_items()), (1, 1));
        t.outbox.clear();
        t.invalidate(b"a", 0);
        assert!(t.outbox.is_empty());
    }

    #[test]
    fn noloop_skips_own_writes_and_off_clients_are_filtered() {
        let mut t = Tracking::default();
        let o = Options {
            noloop: true,
            ..Default::default()
        };
        on(&mut t, 1, o);
        let ct2 = on(&mut t, 2, Options::default());
        t.remember(1, [&b"k"[..], b"j"].into_iter());
        t.remember(2, [&b"j"[..]].into_iter());
        t.current = 1;
        t.invalidate(b"k", 1);
        assert!(t.outbox.is_empty());
        t.disable(2, &ct2);
        t.current = 3;
        t.invalidate(b"j", 3);
        assert_eq!(
            t.outbox,
            vec![Message {
                target: 1,
                payload: Payload::Keys(vec![b"j".to_vec()])
            }]
        );
    }

    #[test]
    fn bcast_groups_keys_per_prefix() {
        let mut t = Tracking::default();
        let o = Options {
            bcast: true,
            noloop: true,
            prefixes: vec![b"a:".to_vec(), b"b:".to_vec()],
            ..Default::default()
        };
        let ct = on(&mut t, 7, o);
        assert_eq!(t.total_prefixes(), 2);
        t.invalidate(b"a:1", 3);
        t.invalidate(b"a:2", 7);
        t.invalidate(b"b:1", 0);
        t.invalidate(b"c:1", 0);
        t.broadcast();
        assert_eq!(t.outbox.len(), 2);
        assert_eq!(t.outbox[0].payload, Payload::Keys(vec![b"a:1".to_vec()]));
        assert_eq!(t.outbox[1].payload, Payload::Keys(vec![b"b:1".to_vec()]));
        assert!(!t.has_broadcasts());
        t.disable(7, &ct);
        assert_eq!(t.total_prefixes(), 0);
        assert_eq!(t.clients(), 0);
    }

    #[test]
    fn limit_and_flush() {
        let mut t = Tracking::default();
        on(&mut t, 1, Options::default());
        let keys: Vec<Vec<u8>> = (0..250).map(|i| format!("k{i}").into_bytes()).collect();
        t.remember(1, keys.iter().map(|k| &k[..]));
        t.limit(1);
        assert_eq!(t.total_keys(), 150);
        t.limit(1);
        assert_eq!(t.total_keys(), 1);
        assert_eq!(t.outbox.len(), 249);
        t.outbox.clear();
        t.flush();
        assert_eq!(t.outbox[0].payload, Payload::Null);
        assert_eq!((t.total_keys(), t.total_items()), (0, 0));
    }

    #[test]
    fn prefix_collisions() {
        let none = BTreeSet::new();
        let e = check_prefixes(&none, &[b"FOOBAR".to_vec(), b"FOO".to_vec()]).unwrap_err();
        assert!(e.starts_with("ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'"));
        let have: BTreeSet<Vec<u8>> = [b"FOO".to_vec(), b"BAR".to_vec()].into();
        let e = check_prefixes(&have, &[b"BARB".to_vec()]).unwrap_err();
        assert!(e.starts_with("ERR Prefix 'BARB' overlaps with an existing prefix 'BAR'"));
        assert!(check_prefixes(&have, &[b"X".to_vec()]).is_ok());
    }

    #[test]
    fn encodings() {
        let mut r = ReplyBuf::new();
        r.resp = 3;
        encode(&mut r, &Payload::Keys(vec![b"k".to_vec()]), false);
        assert_eq!(r.buf, b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
        let mut r = ReplyBuf::new();
        encode(&mut r, &Payload::Null, true);
        assert_eq!(
            r.buf,
            b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
        );
    }
}
