//! The server's timer work (Redis's serverCron and clientsCron): expiry,
//! replication upkeep, client timeouts and buffer resizing, output limits
//! that expire with time.

use super::*;

impl Server {
    /// Starts the full sync that replicas wait for, from one snapshot for
    /// all of them, once repl-diskless-sync-delay has passed since the first
    /// asked or repl-diskless-sync-max-replicas wait (Redis's
    /// replicationStartPendingFork). Until then a newline a second keeps
    /// their handshake timeout from firing, as Redis's replicationCron
    /// sends to replicas whose sync has not started.
    fn pending_syncs_cron(&mut self, now: i64) {
        if self.st.repl.waiting.is_empty() {
            return;
        }
        let oldest = self
            .st
            .repl
            .waiting
            .iter()
            .filter_map(|&(k, _)| self.clients.get(k)?.as_ref().map(|c| c.sync_wait_since))
            .min()
            .unwrap_or(now);
        let delay = self.st.cfg.int("repl-diskless-sync-delay") * 1000;
        let max = self.st.cfg.int("repl-diskless-sync-max-replicas");
        let due = now - oldest >= delay
            || (max > 0 && self.st.repl.waiting.len() as i64 >= max)
            || !self.st.cfg.bool("repl-diskless-sync");
        if !due {
            if now - self.st.repl.last_newline_ms >= 1000 {
                self.st.repl.last_newline_ms = now;
                for (k, _) in self.st.repl.waiting.clone() {
                    if let Some(Some(c)) = self.clients.get_mut(k) {
                        c.reply.raw(b"\n");
                    }
                    self.write_client(k);
                }
            }
            return;
        }
        // What the stream holds is already in the dataset the snapshot
        // sees: the attached replicas get it first, the new ones start
        // after it.
        self.feed_replicas(usize::MAX);
        use crate::commands::replication::{start_full_sync, sync_payload, sync_unfiltered};
        let mut shared: Option<Vec<u8>> = None;
        for (k, psync) in std::mem::take(&mut self.st.repl.waiting) {
            if let Some(Some(c)) = self.clients.get_mut(k) {
                if sync_unfiltered(c) {
                    let img = shared.get_or_insert_with(|| sync_payload(&self.st, c));
                    start_full_sync(&mut self.st, c, psync, img);
                } else {
                    let img = sync_payload(&self.st, c);
                    start_full_sync(&mut self.st, c, psync, &img);
                }
            }
            self.write_client(k);
        }
    }

    /// Frees the backlog once no replica has been attached for
    /// repl-backlog-ttl seconds (0: never). A later replica then cannot
    /// continue the old history, so it gets a new replication ID.
    fn backlog_cron(&mut self, now: i64) {
        let r = &mut self.st.repl;
        if r.backlog.is_none() || !r.replicas.is_empty() {
            r.no_replicas_since = 0;
            return;
        }
        if r.no_replicas_since == 0 {
            r.no_replicas_since = now;
            return;
        }
        let ttl = self.st.cfg.int("repl-backlog-ttl");
        if self.st.master.is_none() && ttl > 0 && now - r.no_replicas_since >= ttl * 1000 {
            r.backlog = None;
            r.replid = random_hex(40);
            log::info!(
                "Replication backlog freed after {} seconds without connected replicas.",
                ttl
            );
        }
    }

    /// Counts the replicas whose last ACK is at most min-replicas-max-lag
    /// seconds old (Redis's refreshGoodSlavesCount).
    pub(super) fn refresh_good_replicas(&mut self, now: i64) {
        let max_lag = self.st.cfg.int("min-replicas-max-lag");
        let clients = &self.clients;
        self.st.repl.good_replicas = self
            .st
            .repl
            .replicas
            .iter()
            .filter(|&&r| {
                clients
                    .get(r)
                    .and_then(|c| c.as_deref())
                    .is_some_and(|c| (now - c.repl_ack_time) / 1000 <= max_lag)
            })
            .count();
    }

    /// Periodic work, `hz` times per second.
    pub(super) fn cron(&mut self) {
        self.st.cronloops += 1;
        let now = now_ms();
        let s = &self.st.stats;
        let counters = crate::instant::Counters {
            commands: s.commands_processed,
            net_input: s.net_input_bytes,
            net_output: s.net_output_bytes,
            el_cycles: s.el_cycles,
            el_duration_us: s.el_duration_us,
        };
        self.st.metrics.sample(now, &counters);
        self.st.migrate.close_idle(now);
        self.st.now_ms = now;
        crate::util::set_cached_ms(now);
        if self.st.cron_paused {
            return;
        }
        self.clients_cron(now);
        if let Some(f) = self.st.shutdown_asap.take() {
            self.st.shutdown = Some(f);
        }
        crate::persist::cron(&mut self.st);
        crate::cluster::cron(&mut self.st);
        if self.st.tracking.clients() > 0 {
            let max = self.st.cfg.int("tracking-table-max-keys").max(0) as usize;
            self.st.tracking.limit(max);
            self.deliver_invalidations(None);
        }
        if self.st.active_expire && !self.st.is_replica && !self.st.pause.active() {
            crate::commands::hash::active_expire_fields(&mut self.st, 1000);
            self.active_expire_cycle();
        }
        if self.st.is_replica && !self.st.replica_expiring.is_empty() && !self.st.pause.active() {
            self.expire_replica_keys(now);
        }
        // Resize tables that need it and finish resizes a millisecond at a
        // time, as Redis's `activerehashing` does, so idle databases don't
        // stay half-moved.
        let rehash = self.st.cfg.bool("activerehashing");
        for db in &mut self.st.dbs {
            db.table_cron(rehash);
        }
        if self.st.master.is_some() {
            self.replication_cron();
        }
        self.backlog_cron(now);
        // Lags grow with time alone.
        self.st.repl.recount_good |= !self.st.repl.replicas.is_empty();
        // Replicas hear from us every repl-ping-replica-period seconds
        // even without writes (their timeout), as in Redis's replicationCron.
        let period = self.st.cfg.int("repl-ping-replica-period").max(1) * 1000;
        if !self.st.repl.replicas.is_empty()
            && !self.st.pause.active()
            && now - self.st.repl.last_ping_ms >= period
        {
            self.st.repl.last_ping_ms = now;
            self.send_to_replicas(&[b"PING"]);
        }
        self.pending_syncs_cron(now);
        // Client idle timeouts. As Redis's clientsCronHandleTimeout, never
        // for replicas, monitors, the master link, blocked clients or
        // subscribers: those wait on the server, not the other way round.
        let timeout = self.st.cfg.hot.timeout;
        if timeout > 0 {
            let idle: Vec<usize> = self
                .clients
                .iter()
                .filter_map(|(k, c)| {
                    c.as_ref()
                        .filter(|c| {
                            !c.monitor
                                && !c.replica
                                && !c.is_master
                                && c.blocked.is_none()
                                && c.subs.is_empty()
                                && c.psubs.is_empty()
                                && c.ssubs.is_empty()
                                && (now - c.last_interaction_ms) / 1000 > timeout
                        })
                        .map(|_| k)
                })
                .collect();
            for k in idle {
                log::debug!("Closing idle client");
                self.free_client(k);
            }
        }
        // A soft output limit also expires while no new output arrives.
        let limits = self.st.cfg.hot.obuf_limits;
        let over: Vec<usize> = self
            .clients
            .iter_mut()
            .filter_map(|(k, c)| {
                let c = c.as_mut()?;
                (c.pending() > 0 && c.obuf_limit_reached(&limits, now)).then_some(k)
            })
            .collect();
        for k in over {
            self.close_for_obuf_limit(k);
        }
        let used = crate::alloc::used_memory();
        if used > self.st.stat_peak_memory {
            self.st.stat_peak_memory = used;
        }
    }

    /// Deletes the keys a replica's own clients wrote with a TTL once it is
    /// due; forgets those that lost their TTL or are gone.
    fn expire_replica_keys(&mut self, now: i64) {
        let tracked = std::mem::take(&mut self.st.replica_expiring);
        let mut keep = std::collections::HashSet::new();
        for (db, key) in tracked {
            let Some(d) = self.st.dbs.get_mut(db) else {
                continue;
            };
            match d.expires.get(&key[..]) {
                Some(&when) if when <= now => {
                    d.expire_if_needed(&key, now, true);
                    self.st.stats.expired_keys += 1;
                    self.st
                        .notify(crate::config::notify::EXPIRED, "expired", &key, db);
                }
                Some(_) => {
                    keep.insert((db, key));
                }
                None => {}
            }
        }
        self.st.replica_expiring = keep;
        self.propagate_expired();
    }

    /// After a cron pass deleted expired keys: WATCHers, tracking clients
    /// and the stream (DEL or UNLINK) learn of them, and the keyspace
    /// events go out.
    fn propagate_expired(&mut self) {
        crate::commands::multi::touch_expired(&mut self.st);
        let lazy = self.st.cfg.hot.lazyfree_lazy_expire;
        for db in &mut self.st.dbs {
            for k in &db.expired_keys {
                self.st.tracking.invalidate(k, 0);
            }
            db.expired = 0;
            self.st.repl.feed_expired(db.id, &mut db.expired_keys, lazy);
        }
        self.feed_replicas(usize::MAX);
        self.deliver_messages(None);
    }

    /// Adaptive active expiry, as Redis's `activeExpireCycle`: visits the
    /// expire tables bucket by bucket for at most ~25% of a cron period,
    /// repeating on a db while more than 10% of what it sampled was due.
    fn active_expire_cycle(&mut self) {
        let effort = self.st.cfg.hot.active_expire_effort.max(1);
        let hz = self.st.cfg.hot.hz.max(1);
        let budget_us = (25_000 * (1 + (effort - 1) / 4) / hz * 1000 / 1000) * 1000 / 1000;
        let start = crate::util::now_us();
        let per_step = (20 + 5 * (effort - 1)) as usize;
        let now = now_ms();
        let mut total_expired = 0u64;
        let mut notify: Vec<(usize, crate::db::Key)> = Vec::new();
        for db in &mut self.st.dbs {
            if db.expires.is_empty() {
                continue;
            }
            loop {
                let mark = db.expired_keys.len();
                let (sampled, expired) = db.active_expire_step(now, per_step);
                notify.extend(db.expired_keys[mark..].iter().map(|k| (db.id, k.clone())));
                total_expired += expired as u64;
                if sampled == 0 || expired * 10 <= sampled || db.expires.is_empty() {
                    break;
                }
                if crate::util::now_us() - start > budget_us * 10 {
                    break;
                }
            }
        }
        self.st.stats.expired_keys += total_expired;
        let took = (crate::util::now_us() - start) as u64;
        self.st.stats.expire_cycle_time_used_us += took;
        let threshold = self.st.cfg.hot.latency_threshold;
        self.st
            .latency
            .add_if_needed(threshold, "expire-cycle", took / 1000);
        for (db, k) in notify {
            self.st
                .notify(crate::config::notify::EXPIRED, "expired", &k, db);
        }
        self.propagate_expired();
    }

    /// Redis's clientsCron: each pass visits a share of the clients
    /// (numclients/hz, at least five), so each is seen about once a
    /// second, and resizes their query and reply buffers to their use,
    /// then measures their memory for `maxmemory-clients`.
    fn clients_cron(&mut self, now: i64) {
        let n = self.clients.len();
        let hz = self.st.cfg.hot.hz.max(1) as usize;
        let visits = (n / hz).max(n.min(5));
        let reset = self.st.reply_peak_reset_ms;
        let replies = self.st.reply_resizing;
        let cursor = self.clients_cron_cursor;
        let (mut visited, mut next) = (0, cursor);
        let stats = &mut self.st.stats;
        let mem = &mut self.st.evict.clients;
        let limits = self.st.cfg.hot.obuf_limits;
        // From the cursor to the end, then from the start.
        for wrapped in [false, true] {
            for (k, slot) in self.clients.iter_mut() {
                if visited == visits {
                    break;
                }
                if (k < cursor) != wrapped {
                    continue;
                }
                let Some(c) = slot.as_mut() else {
                    continue;
                };
                c.resize_query_buffer(now);
                if replies {
                    match c.resize_reply_buffer(now, reset) {
                        -1 => stats.reply_buffer_shrinks += 1,
                        1 => stats.reply_buffer_expands += 1,
                        _ => {}
                    }
                }
                // Every client, evictable or not, as Redis's clientsCron.
                mem.measure(c, &limits);
                visited += 1;
                next = k + 1;
            }
        }
        self.clients_cron_cursor = next;
    }
}
