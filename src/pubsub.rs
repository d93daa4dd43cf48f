//! Pub/sub routing: channel, pattern and shard-channel subscriptions, and
//! the outbox of messages produced by the running command. Deliveries go
//! to other clients' reply buffers, which the server owns, so a command
//! only queues them here; the server encodes each in the receiver's
//! protocol (RESP3 push or RESP2 array) after the command returns.

use crate::util::glob_match;
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Message,
    PMessage,
    SMessage,
}

/// One published message, as every receiver of one kind sees it; the
/// outbox addresses it by index, so a message to 50 subscribers is copied
/// once, not 50 times.
pub struct Message {
    pub kind: Kind,
    pub pattern: Vec<u8>,
    pub channel: Vec<u8>,
    pub payload: Vec<u8>,
}

#[derive(Default)]
pub struct PubSub {
    /// channel -> subscribed clients (slab keys), oldest first.
    pub channels: HashMap<Vec<u8>, Vec<usize>>,
    pub patterns: HashMap<Vec<u8>, Vec<usize>>,
    pub shard: HashMap<Vec<u8>, Vec<usize>>,
    /// (receiver, index into `messages`), in delivery order.
    pub outbox: Vec<(usize, u32)>,
    pub messages: Vec<Message>,
}

/// Which table a (un)subscription is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Table {
    Channel,
    Pattern,
    Shard,
}

impl PubSub {
    pub fn table(&mut self, t: Table) -> &mut HashMap<Vec<u8>, Vec<usize>> {
        match t {
            Table::Channel => &mut self.channels,
            Table::Pattern => &mut self.patterns,
            Table::Shard => &mut self.shard,
        }
    }

    pub fn add(&mut self, t: Table, name: &[u8], client: usize) {
        let v = self.table(t).entry(name.to_vec()).or_default();
        if !v.contains(&client) {
            v.push(client);
        }
    }

    pub fn remove(&mut self, t: Table, name: &[u8], client: usize) {
        let tab = self.table(t);
        if let Some(v) = tab.get_mut(name) {
            v.retain(|&c| c != client);
            if v.is_empty() {
                tab.remove(name);
            }
        }
    }

    /// Queues `payload` for every subscriber of `channel` (and of the
    /// matching patterns); returns how many receive it.
    pub fn publish(&mut self, channel: &[u8], payload: &[u8]) -> usize {
        let mut n = 0;
        if let Some(subs) = self.channels.get(channel) {
            n += queue(
                &mut self.outbox,
                &mut self.messages,
                subs,
                Kind::Message,
                b"",
                channel,
                payload,
            );
        }
        for (pat, subs) in &self.patterns {
            if glob_match(pat, channel, false) {
                n += queue(
                    &mut self.outbox,
                    &mut self.messages,
                    subs,
                    Kind::PMessage,
                    pat,
                    channel,
                    payload,
                );
            }
        }
        n
    }

    pub fn spublish(&mut self, channel: &[u8], payload: &[u8]) -> usize {
        match self.shard.get(channel) {
            Some(subs) => queue(
                &mut self.outbox,
                &mut self.messages,
                subs,
                Kind::SMessage,
                b"",
                channel,
                payload,
            ),
            None => 0,
        }
    }

    /// True when nobody listens at all: publishing can be skipped.
    pub fn idle(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty()
    }
}

/// Adds one message for `subs` to the outbox; returns `subs.len()`.
fn queue(
    outbox: &mut Vec<(usize, u32)>,
    messages: &mut Vec<Message>,
    subs: &[usize],
    kind: Kind,
    pattern: &[u8],
    channel: &[u8],
    payload: &[u8],
) -> usize {
    if subs.is_empty() {
        return 0;
    }
    let i = messages.len() as u32;
    messages.push(Message {
        kind,
        pattern: pattern.to_vec(),
        channel: channel.to_vec(),
        payload: payload.to_vec(),
    });
    outbox.extend(subs.iter().map(|&to| (to, i)));
    subs.len()
}

/// Sends the `new` keyspace events (class `n`) for the keys added since
/// the last call, as Redis's `dbAdd` does.
pub fn notify_new_keys(st: &mut crate::server::State) {
    for db in 0..st.dbs.len() {
        if st.dbs[db].new_keys.is_empty() {
            continue;
        }
        for k in std::mem::take(&mut st.dbs[db].new_keys) {
            st.notify(crate::config::notify::NEW, "new", &k, db);
        }
    }
}

/// Encodes a delivery into a receiver's reply buffer.
pub fn encode(d: &Message, r: &mut crate::resp::ReplyBuf) {
    match d.kind {
        Kind::Message | Kind::SMessage => {
            r.push(3);
            r.bulk(if d.kind == Kind::Message {
                b"message"
            } else {
                b"smessage"
            });
            r.bulk(&d.channel);
            r.bulk(&d.payload);
        }
        Kind::PMessage => {
            r.push(4);
            r.bulk(b"pmessage");
            r.bulk(&d.pattern);
            r.bulk(&d.channel);
            r.bulk(&d.payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_and_patterns() {
        let mut p = PubSub::default();
        p.add(Table::Channel, b"news", 1);
        p.add(Table::Channel, b"news", 1);
        p.add(Table::Pattern, b"n*", 2);
        assert_eq!(p.publish(b"news", b"hi"), 2);
        assert_eq!(p.outbox.len(), 2);
        assert_eq!(p.messages.len(), 2);
        p.remove(Table::Channel, b"news", 1);
        assert!(!p.channels.contains_key(&b"news"[..]));
        assert_eq!(p.publish(b"other", b"x"), 0);
    }
}
