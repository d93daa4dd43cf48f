//! The ACL log (ACL LOG): recent denials, newest first, with similar ones
//! folded into one entry and counted.

use std::collections::VecDeque;

/// Denials within this many ms of an entry fold into it.
const GROUPING_MS: i64 = 60_000;
/// How many recent entries a new denial is compared with.
const SCAN: usize = 10;

pub struct Entry {
    pub count: u64,
    pub reason: &'static str,
    pub context: &'static str,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// When it last happened (unix ms).
    pub ctime: i64,
    pub client_info: String,
    pub entry_id: u64,
    pub created: i64,
}

#[derive(Default)]
pub struct Log {
    pub entries: VecDeque<Entry>,
    next_id: u64,
    /// INFO's acl_access_denied_* counters.
    pub denied_auth: u64,
    pub denied_cmd: u64,
    pub denied_key: u64,
    pub denied_channel: u64,
}

/// A denial to log.
pub struct Event<'a> {
    pub reason: &'static str,
    pub context: &'static str,
    pub object: &'a [u8],
    pub username: &'a [u8],
    pub client_info: String,
    pub now: i64,
}

impl Log {
    /// Counts the denial and logs it, keeping at most `max` entries
    /// (Redis's `addACLLogEntry`).
    pub fn add(&mut self, ev: Event, max: usize) {
        match ev.reason {
            "auth" => self.denied_auth += 1,
            "command" => self.denied_cmd += 1,
            "key" => self.denied_key += 1,
            _ => self.denied_channel += 1,
        }
        if max == 0 {
            self.entries.clear();
            return;
        }
        let similar = self.entries.iter().take(SCAN).position(|e| {
            e.reason == ev.reason
                && e.context == ev.context
                && (e.ctime - ev.now).abs() <= GROUPING_MS
                && e.object == ev.object
                && e.username == ev.username
        });
        if let Some(at) = similar {
            if let Some(mut e) = self.entries.remove(at) {
                e.client_info = ev.client_info;
                e.ctime = ev.now;
                e.count += 1;
                self.entries.push_front(e);
            }
            return;
        }
        self.entries.push_front(Entry {
            count: 1,
            reason: ev.reason,
            context: ev.context,
            object: ev.object.to_vec(),
            username: ev.username.to_vec(),
            ctime: ev.now,
            client_info: ev.client_info,
            entry_id: self.next_id,
            created: ev.now,
        });
        self.next_id += 1;
        self.entries.truncate(max);
    }
}
