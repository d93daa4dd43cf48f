//! Cluster mode for a single node: the node's identity, the slots it owns,
//! its state, and its `nodes.conf`.
//!
//! Keys hash to one of 16384 slots: CRC16 (XMODEM) of the key, or of the
//! first non-empty `{...}` hash tag in it, modulo 16384 (`key_hash_slot`,
//! Redis's `keyHashSlot`). A node serves the slots assigned to it with
//! CLUSTER ADDSLOTS and friends; a command whose keys fall in an unassigned
//! slot gets `-CLUSTERDOWN Hash slot not served`, and keys of one command
//! must share a slot (`-CROSSSLOT`). The check lives in `command::call`.
//!
//! The cluster state follows `clusterUpdateState`: `ok` when (with
//! `cluster-require-full-coverage`) every slot is assigned and a majority
//! of the masters owning slots is reachable, but a master that was in a
//! minority (or just started) waits before turning `ok`, so a rejoining
//! node does not accept writes too early.
//!
//! There is no cluster bus yet: this node knows only itself, so it never
//! redirects with `-MOVED`/`-ASK`, and CLUSTER MEET is accepted and ignored.
//!
//! `nodes.conf` is written in Redis's format, one line per node plus a
//! `vars` line, so a restarted node keeps its id, epochs and slots:
//! ```text
//! <id> <ip>:<port>@<cport>,<hostname>,tls-port=0,shard-id=<id> myself,master - 0 0 <epoch> connected 0-16383
//! vars currentEpoch 0 lastVoteEpoch 0
//! ```

use crate::config::Config;

/// Number of hash slots.
pub const SLOTS: usize = 16384;

/// Length of node and shard ids (hex characters).
pub const NAMELEN: usize = 40;

/// Time a master waits after its first state update before turning `ok`
/// (Redis's `CLUSTER_WRITABLE_DELAY`).
const WRITABLE_DELAY_MS: i64 = 2000;
const MIN_REJOIN_DELAY_MS: i64 = 500;
const MAX_REJOIN_DELAY_MS: i64 = 5000;

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum
/// Redis Cluster hashes keys with.
pub fn crc16(buf: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in buf {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The slot of `key`: only the part inside the first `{...}` is hashed,
/// when that part is non-empty.
pub fn key_hash_slot(key: &[u8]) -> usize {
    let hashed = match key.iter().position(|&c| c == b'{') {
        Some(s) => match key[s + 1..].iter().position(|&c| c == b'}') {
            Some(0) | None => key,
            Some(len) => &key[s + 1..s + 1 + len],
        },
        None => key,
    };
    (crc16(hashed) & 0x3FFF) as usize
}

/// The one slot every key matching glob `pattern` hashes to, if the pattern
/// implies one (a hash tag before any wildcard, or no wildcard at all), as
/// Redis's `patternHashSlot`. Escapes are not interpreted: None.
pub fn pattern_hash_slot(pattern: &[u8]) -> Option<usize> {
    let mut open: Option<usize> = None;
    let mut empty_tag = false;
    for (i, &c) in pattern.iter().enumerate() {
        match c {
            b'*' | b'?' | b'[' | b'\\' => return None,
            b'{' if open.is_none() && !empty_tag => open = Some(i),
            b'}' if !empty_tag => {
                if let Some(s) = open {
                    if i == s + 1 {
                        // `{}`: the whole key is hashed.
                        empty_tag = true;
                        open = None;
                    } else {
                        return Some((crc16(&pattern[s + 1..i]) & 0x3FFF) as usize);
                    }
                }
            }
            _ => {}
        }
    }
    Some((crc16(pattern) & 0x3FFF) as usize)
}

/// 40 random hex characters (node and shard ids, the internal secret).
pub fn random_id() -> String {
    let mut bytes = [0u8; NAMELEN / 2];
    crate::util::random_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_id(s: &str) -> bool {
    s.len() == NAMELEN && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// How this node announces itself, from the `cluster-announce-*` configs.
pub struct Endpoint {
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub hostname: String,
    pub nodename: String,
}

impl Endpoint {
    pub fn from_config(cfg: &Config, port: u16) -> Endpoint {
        let announced = cfg.int("cluster-announce-port");
        let port = if announced > 0 {
            announced as u16
        } else {
            port
        };
        let bus = cfg.int("cluster-announce-bus-port");
        let cport = if bus > 0 {
            bus as u16
        } else {
            let p = cfg.int("cluster-port");
            if p > 0 {
                p as u16
            } else {
                (cfg.int("port") as u16).wrapping_add(10000)
            }
        };
        Endpoint {
            ip: cfg.get("cluster-announce-ip").to_string(),
            port,
            cport,
            hostname: cfg.get("cluster-announce-hostname").to_string(),
            nodename: cfg.get("cluster-announce-human-nodename").to_string(),
        }
    }
}

pub struct Cluster {
    pub myid: String,
    pub shard_id: String,
    /// Bitmap of the slots this node owns.
    owned: Box<[u64; SLOTS / 64]>,
    pub owned_count: usize,
    pub current_epoch: u64,
    pub config_epoch: u64,
    pub last_vote_epoch: u64,
    pub state_ok: bool,
    pub internal_secret: String,
    pub config_file: String,
    first_update_ms: i64,
    minority_since_ms: i64,
}

impl Cluster {
    /// A fresh node: new ids, no slots.
    pub fn new(config_file: &str) -> Cluster {
        Cluster {
            myid: random_id(),
            shard_id: random_id(),
            owned: Box::new([0; SLOTS / 64]),
            owned_count: 0,
            current_epoch: 0,
            config_epoch: 0,
            last_vote_epoch: 0,
            state_ok: false,
            internal_secret: random_id(),
            config_file: config_file.to_string(),
            first_update_ms: 0,
            minority_since_ms: 0,
        }
    }

    /// Loads `nodes.conf` (Redis's `clusterLoadConfig`) or, when it does
    /// not exist or is empty, starts a fresh node and writes it.
    pub fn init(cfg: &Config, port: u16) -> Result<Cluster, String> {
        let file = cfg.get("cluster-config-file").to_string();
        let mut c = Cluster::new(&file);
        match std::fs::read_to_string(&file) {
            Ok(text) if !text.trim().is_empty() => {
                c.load(&text)?;
                log::info!("Node configuration loaded, I'm {}", c.myid);
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(format!(
                    "Loading the cluster node config from {}: {}",
                    file,
                    crate::util::os_error_text(&e)
                ));
            }
        }
        if c.myid.is_empty() {
            c.myid = random_id();
        }
        if !std::path::Path::new(&file).exists()
            || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) == 0
        {
            log::info!("No cluster configuration found, I'm {}", c.myid);
            c.save(&Endpoint::from_config(cfg, port))
                .map_err(|e| format!("Unable to save the cluster config: {e}"))?;
        }
        Ok(c)
    }

    /// Parses the text of a `nodes.conf`. Only our own line (flag
    /// `myself`) and the `vars` line matter: other nodes are learnt again
    /// through the bus, which we do not have yet. Public for the fuzzer
    /// (tests/fuzz).
    pub fn load(&mut self, text: &str) -> Result<(), String> {
        let bad =
            |line: &str| format!("Unrecoverable error: corrupted cluster config file \"{line}\".");
        let mut found_myself = false;
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.is_empty() {
                continue;
            }
            if f[0] == "vars" {
                let mut i = 1;
                while i + 1 < f.len() {
                    let v: u64 = f[i + 1].parse().map_err(|_| bad(line))?;
                    match f[i] {
                        "currentEpoch" => self.current_epoch = v,
                        "lastVoteEpoch" => self.last_vote_epoch = v,
                        _ => log::warn!("Skipping unknown cluster config variable '{}'", f[i]),
                    }
                    i += 2;
                }
                continue;
            }
            if f.len() < 8 || !valid_id(f[0]) {
                return Err(bad(line));
            }
            if !f[2].split(',').any(|x| x == "myself") {
                continue;
            }
            found_myself = true;
            self.myid = f[0].to_string();
            for aux in f[1].split(',').skip(2) {
                if let Some(v) = aux.strip_prefix("shard-id=")
                    && valid_id(v)
                {
                    self.shard_id = v.to_string();
                }
            }
            self.config_epoch = f[6].parse().map_err(|_| bad(line))?;
            for s in &f[8..] {
                if s.starts_with('[') {
                    continue; // migrating / importing slots: not supported
                }
                let (a, b) = match s.split_once('-') {
                    Some((a, b)) => (a, b),
                    None => (*s, *s),
                };
                let (a, b): (usize, usize) = match (a.parse(), b.parse()) {
                    (Ok(a), Ok(b)) if a <= b && b < SLOTS => (a, b),
                    _ => return Err(bad(line)),
                };
                for slot in a..=b {
                    self.add_slot(slot);
                }
            }
        }
        if !found_myself {
            return Err(
                "Unrecoverable error: the cluster config file has no 'myself' node".to_string(),
            );
        }
        Ok(())
    }

    /// Writes `nodes.conf` through a temporary file and a rename.
    pub fn save(&self, ep: &Endpoint) -> std::io::Result<()> {
        let mut text = self.node_line(ep, true);
        text.push('\n');
        text.push_str(&format!(
            "vars currentEpoch {} lastVoteEpoch {}\n",
            self.current_epoch, self.last_vote_epoch
        ));
        let tmp = format!(
            "{}.tmp-{}-{}",
            self.config_file,
            std::process::id(),
            crate::util::now_ms()
        );
        let r = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &self.config_file));
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }

    pub fn owns(&self, slot: usize) -> bool {
        self.owned[slot / 64] & (1 << (slot % 64)) != 0
    }

    /// Assigns `slot` to this node; false if it already was.
    pub fn add_slot(&mut self, slot: usize) -> bool {
        if self.owns(slot) {
            return false;
        }
        self.owned[slot / 64] |= 1 << (slot % 64);
        self.owned_count += 1;
        true
    }

    /// Unassigns `slot`; false if it was not assigned.
    pub fn del_slot(&mut self, slot: usize) -> bool {
        if !self.owns(slot) {
            return false;
        }
        self.owned[slot / 64] &= !(1 << (slot % 64));
        self.owned_count -= 1;
        true
    }

    /// The slots owned, as inclusive ranges in ascending order.
    pub fn ranges(&self) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        let mut start: Option<usize> = None;
        for s in 0..=SLOTS {
            let has = s < SLOTS && self.owns(s);
            match (has, start) {
                (true, None) => start = Some(s),
                (false, Some(a)) => {
                    v.push((a, s - 1));
                    start = None;
                }
                _ => {}
            }
        }
        v
    }

    /// Masters serving at least one slot (`cluster_size`).
    pub fn size(&self) -> usize {
        usize::from(self.owned_count > 0)
    }

    /// Whether commands with keys may run (`isClusterHealthy`).
    pub fn healthy(&self) -> bool {
        self.state_ok
    }

    /// Recomputes the cluster state (Redis's `clusterUpdateState`), at
    /// `now` (ms).
    pub fn update_state(&mut self, now: i64, require_full_coverage: bool, node_timeout: i64) {
        if self.first_update_ms == 0 {
            self.first_update_ms = now;
        }
        if !self.state_ok && now - self.first_update_ms < WRITABLE_DELAY_MS {
            return;
        }
        let mut ok = !(require_full_coverage && self.owned_count < SLOTS);
        // We are the only node: reachable masters with slots == size.
        let reachable = self.size();
        let quorum = self.size() / 2 + 1;
        if reachable < quorum {
            ok = false;
            self.minority_since_ms = now;
        }
        if ok != self.state_ok {
            let rejoin = node_timeout.clamp(MIN_REJOIN_DELAY_MS, MAX_REJOIN_DELAY_MS);
            if ok && now - self.minority_since_ms < rejoin {
                return;
            }
            if ok {
                log::info!("Cluster state changed: ok");
            } else {
                log::warn!("Cluster state changed: fail");
            }
            self.state_ok = ok;
        }
    }

    /// CLUSTER RESET: no slots, and with `hard` new ids and zero epochs.
    pub fn reset(&mut self, hard: bool) {
        self.owned.fill(0);
        self.owned_count = 0;
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            self.config_epoch = 0;
            self.myid = random_id();
            self.shard_id = random_id();
            log::info!("Node hard reset, now I'm {}", self.myid);
        }
    }

    /// This node's line of CLUSTER NODES (`for_file`: the `nodes.conf`
    /// form, which also carries the aux fields), without the newline.
    pub fn node_line(&self, ep: &Endpoint, for_file: bool) -> String {
        let mut s = format!("{} {}:{}@{}", self.myid, ep.ip, ep.port, ep.cport);
        if !ep.hostname.is_empty() {
            s.push(',');
            s.push_str(&ep.hostname);
        }
        if for_file {
            if ep.hostname.is_empty() {
                s.push(',');
            }
            s.push_str(",tls-port=0");
            if !ep.nodename.is_empty() {
                s.push_str(",nodename=");
                s.push_str(&ep.nodename);
            }
            s.push_str(",shard-id=");
            s.push_str(&self.shard_id);
        }
        s.push_str(&format!(
            " myself,master - 0 0 {} connected",
            self.config_epoch
        ));
        for (a, b) in self.ranges() {
            if a == b {
                s.push_str(&format!(" {a}"));
            } else {
                s.push_str(&format!(" {a}-{b}"));
            }
        }
        s
    }

    /// The text of CLUSTER INFO.
    pub fn info(&self) -> String {
        let n = self.owned_count;
        format!(
            "cluster_state:{}\r\ncluster_slots_assigned:{n}\r\ncluster_slots_ok:{n}\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n",
            if self.state_ok { "ok" } else { "fail" },
            self.size(),
            self.current_epoch,
            self.config_epoch
        )
    }
}

/// Refreshes the cluster state from the configuration in force (the
/// cron and every slot change call this). A no-op outside cluster mode.
pub fn cron(st: &mut crate::server::State) {
    let full = st.cfg.bool("cluster-require-full-coverage");
    let timeout = st.cfg.int("cluster-node-timeout");
    if let Some(c) = &mut st.cluster {
        c.update_state(crate::util::now_ms(), full, timeout);
    }
}

/// Writes `nodes.conf` after a change, as Redis does before sleeping.
pub fn save_config(st: &crate::server::State) -> std::io::Result<()> {
    match &st.cluster {
        Some(c) => c.save(&Endpoint::from_config(&st.cfg, st.port)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_known_values() {
        // The check value of CRC-16/XMODEM.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
    }

    #[test]
    fn key_slots_match_redis() {
        // Values from the Redis test suite and `CLUSTER KEYSLOT`.
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"bar"), 5061);
        assert_eq!(key_hash_slot(b"boo"), 13142);
        assert_eq!(key_hash_slot(b"alice"), 749);
        assert_eq!(key_hash_slot(b"key"), 12539);
        assert_eq!(key_hash_slot(b"{foo}-12"), 12182);
        assert_eq!(key_hash_slot(b"x{foo}y{bar}"), 12182);
        // An empty tag hashes the whole key; an unclosed one too.
        assert_eq!(key_hash_slot(b"{}foo"), (crc16(b"{}foo") & 0x3FFF) as usize);
        assert_eq!(key_hash_slot(b"{foo"), (crc16(b"{foo") & 0x3FFF) as usize);
        assert_eq!(
            key_hash_slot(b"{}{foo}"),
            (crc16(b"{}{foo}") & 0x3FFF) as usize
        );
    }

    #[test]
    fn pattern_slots() {
        assert_eq!(pattern_hash_slot(b"{foo}-*"), Some(12182));
        assert_eq!(pattern_hash_slot(b"foo"), Some(12182));
        assert_eq!(pattern_hash_slot(b"foo*"), None);
        assert_eq!(pattern_hash_slot(b"*{foo}"), None);
        assert_eq!(pattern_hash_slot(b"{f\\oo}"), None);
        assert_eq!(pattern_hash_slot(b"a{b[c]}"), None);
        // `{}` then a tag: the whole pattern would be hashed, so a later
        // wildcard still makes it unpinned.
        assert_eq!(pattern_hash_slot(b"{}{foo}*"), None);
        assert_eq!(
            pattern_hash_slot(b"{}{foo}"),
            Some(key_hash_slot(b"{}{foo}"))
        );
    }

    #[test]
    fn slots_ranges_and_state() {
        let mut c = Cluster::new("unused.conf");
        assert!(c.add_slot(0));
        assert!(!c.add_slot(0));
        for s in 5..=9 {
            c.add_slot(s);
        }
        c.add_slot(SLOTS - 1);
        assert_eq!(c.ranges(), vec![(0, 0), (5, 9), (SLOTS - 1, SLOTS - 1)]);
        assert!(c.del_slot(7));
        assert_eq!(c.owned_count, 6);
        let mut c = Cluster::new("unused.conf");
        // Just started: no state change during the writable delay.
        c.update_state(1000, true, 3000);
        assert!(!c.state_ok);
        // No slots: a minority of zero masters.
        c.update_state(3500, true, 3000);
        assert!(!c.state_ok);
        for s in 0..SLOTS {
            c.add_slot(s);
        }
        // Covered, but waiting out the rejoin delay (the node timeout).
        c.update_state(5000, true, 3000);
        assert!(!c.state_ok);
        c.update_state(6501, true, 3000);
        assert!(c.state_ok);
        c.del_slot(1);
        c.update_state(6600, true, 3000);
        assert!(!c.state_ok);
        c.update_state(6700, false, 3000);
        assert!(c.state_ok, "full coverage not required");
    }

    #[test]
    fn nodes_conf_round_trip() {
        let mut c = Cluster::new("unused.conf");
        c.current_epoch = 3;
        c.config_epoch = 2;
        for s in 100..=200 {
            c.add_slot(s);
        }
        c.add_slot(300);
        let ep = Endpoint {
            ip: String::new(),
            port: 30001,
            cport: 40001,
            hostname: String::new(),
            nodename: String::new(),
        };
        let line = c.node_line(&ep, true);
        assert_eq!(
            line,
            format!(
                "{} :30001@40001,,tls-port=0,shard-id={} myself,master - 0 0 2 connected 100-200 300",
                c.myid, c.shard_id
            )
        );
        assert_eq!(
            c.node_line(&ep, false),
            format!(
                "{} :30001@40001 myself,master - 0 0 2 connected 100-200 300",
                c.myid
            )
        );
        let text = format!("{line}\nvars currentEpoch 3 lastVoteEpoch 0\n");
        let mut d = Cluster::new("unused.conf");
        d.load(&text).unwrap();
        assert_eq!(d.myid, c.myid);
        assert_eq!(d.shard_id, c.shard_id);
        assert_eq!(d.current_epoch, 3);
        assert_eq!(d.config_epoch, 2);
        assert_eq!(d.ranges(), c.ranges());
        assert!(Cluster::new("x").load("garbage line\n").is_err());
    }
}
