//! Reading clients' requests: one read per turn into the query buffer,
//! then every whole command in it, parsed in place where possible.

use super::*;

/// Free space the query buffer gets before a read (Redis's
/// PROTO_IOBUF_LEN). A read takes all the free space there is, which grows
/// (doubling) for a client that keeps it full, as Redis's greedy query
/// buffer does: one read(2) per pipeline batch instead of two.
const READ_RESERVE: usize = 16 * 1024;
/// Most bytes read from one client per loop turn, unless a big argument
/// still needs more: bounds the work one deep pipeline gets per turn, so
/// other clients keep their latency. 16 KB is Redis's read size
/// (PROTO_IOBUF_LEN); at 64 KB a pipelined writer doing ~650k SETs/s held
/// other clients' PINGs for 2 ms at the median instead of 0.8 ms.
const READ_MAX: usize = 16 * 1024;
/// A pending argument at least this long (Redis's PROTO_MBULK_BIG_ARG)
/// is read in place: the client keeps the shared buffer it started in.
const BIG_ARG: usize = 32 * 1024;
/// The shared query buffer goes back to READ_RESERVE once a read grew it
/// past this.
const REUSABLE_MAX: usize = 64 * 1024;

impl Server {
    /// Reads everything available and runs every complete command.
    /// Returns false when the client must be closed now.
    ///
    /// A client without a query buffer of its own reads into the shared
    /// one (Redis's reusable query buffer): most requests arrive whole and
    /// run from there, so an idle connection holds no input memory. Only a
    /// command cut by the read leaves the client a private buffer, which
    /// the clients cron frees after two idle seconds. The master link
    /// always has its own.
    pub(super) fn read_and_process(&mut self, c: &mut Client) -> bool {
        let shared = c.qbuf.capacity() == 0 && !c.is_master;
        let shared = shared && self.reusable_qbuf.is_some();
        if shared {
            c.qbuf = self.reusable_qbuf.take().unwrap_or_default();
            c.qpos = 0;
        }
        let alive = self.read_and_process_in(c);
        if shared {
            self.release_reusable_qbuf(c);
        }
        alive
    }

    /// Takes the shared buffer back from `c`, leaving the client what it
    /// has not run yet in a buffer of its own.
    fn release_reusable_qbuf(&mut self, c: &mut Client) {
        let big_arg = c.parser.pending_bulk().is_some_and(|n| n >= BIG_ARG);
        let mut buf = if big_arg {
            // The argument goes on arriving where it started, without a
            // copy; the next reader gets a new shared buffer.
            c.qbuf.drain(..c.qpos);
            c.qpos = 0;
            Vec::new()
        } else {
            let private = c.qbuf[c.qpos..].to_vec();
            c.qpos = 0;
            std::mem::replace(&mut c.qbuf, private)
        };
        buf.clear();
        if buf.capacity() > REUSABLE_MAX {
            buf = Vec::with_capacity(READ_RESERVE);
        }
        self.reusable_qbuf = Some(buf);
    }

    fn read_and_process_in(&mut self, c: &mut Client) -> bool {
        let mut closed = false;
        loop {
            if c.qpos > 0 && c.qpos == c.qbuf.len() {
                c.qbuf.clear();
                c.qpos = 0;
            }
            // A big argument's room was made when its header was read
            // (exactly: it shows in the client's memory); reserving more
            // near its end would double the buffer for nothing.
            let free = c.qbuf.capacity() - c.qbuf.len();
            let bulk_fits =
                c.bulk_want > 0 && free >= c.bulk_want && c.parser.pending_bulk().is_some();
            if free < READ_RESERVE && !bulk_fits {
                c.qbuf.reserve(READ_RESERVE);
            }
            let len = c.qbuf.len();
            let window = (c.qbuf.capacity() - len).min(READ_MAX.max(c.bulk_want));
            match c.conn.read_into(&mut c.qbuf, window) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    c.net_in += n as u64;
                    self.st.stats.net_input_bytes += n as u64;
                    c.last_interaction_ms = now_ms();
                    if c.qbuf.len() - c.qpos > c.qbuf_peak {
                        c.qbuf_peak = c.qbuf.len() - c.qpos;
                    }
                    if (c.qbuf.len() - c.qpos) as i64 > self.st.cfg.hot.client_query_buffer_limit {
                        log::warn!(
                            "Closing client that reached max query buffer length: addr={} (qbuf initial bytes: {:?})",
                            c.addr,
                            String::from_utf8_lossy(
                                &c.qbuf[c.qpos..c.qpos + 64.min(c.qbuf.len() - c.qpos)]
                            )
                        );
                        self.st.stats.client_qbuf_limit_disconnections += 1;
                        return false;
                    }
                    if !self.process_input(c) {
                        return false;
                    }
                    // One read per turn, as Redis does, so a client with a
                    // deep pipeline cannot starve the others; a full window
                    // means more may be waiting, so come back next turn.
                    c.read_pending = n == window && !c.close_after_reply && !c.close_asap;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    continue;
                }
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        // Compact consumed bytes only when that is cheap or frees a lot:
        // moving a half-read big argument on every read would be quadratic.
        let rest = c.qbuf.len() - c.qpos;
        if c.qpos > 0 && (rest <= 4096 || c.qpos >= c.qbuf.len() / 2) {
            c.qbuf.drain(..c.qpos);
            c.qpos = 0;
        }
        !closed
    }

    /// Parses and executes all complete commands in the query buffer.
    pub(super) fn process_input(&mut self, c: &mut Client) -> bool {
        loop {
            if c.close_after_reply || c.close_asap {
                return true;
            }
            if c.blocked.is_some() || c.postponed.is_some() {
                // Pipelined commands wait until the client is served.
                return true;
            }
            let lim = Limits {
                max_bulk_len: self.st.cfg.hot.proto_max_bulk_len,
                unauthenticated: !c.authenticated,
            };
            let start = c.qpos;
            let mut args = std::mem::take(&mut c.args);
            if let Some(end) = c
                .parser
                .whole_command(&c.qbuf, start, args.spans_mut(), lim)
            {
                // Zero-copy: the command's arguments are read in place. The
                // query buffer is lent to `args` while the command runs, so
                // the client shows the bytes still pending in `qbuf_lent`.
                c.qbuf_lent = c.qbuf.len() - end;
                c.qpos = 0;
                let arena = args.lend(std::mem::take(&mut c.qbuf));
                self.execute(c, &args);
                c.qbuf = args.give_back(arena);
                c.qpos = end;
                c.qbuf_lent = 0;
                c.args = args;
                let consumed = (end - start) as i64 + std::mem::take(&mut c.partial_bytes);
                self.after_command(c, consumed);
                continue;
            }
            c.args = args;
            let mut want = 0;
            let mut pos = c.qpos;
            let r = c
                .parser
                .parse(&c.qbuf, &mut pos, &mut c.args, lim, &mut want);
            // A command that arrives over several reads is parsed a part
            // at a time: its size is the sum (the replication offset of a
            // master's stream counts every byte).
            c.partial_bytes += (pos - c.qpos) as i64;
            c.qpos = pos;
            match r {
                Ok(false) => {
                    if want > 0 && c.qbuf.capacity() - c.qbuf.len() < want {
                        // The bulk length was checked against the limits.
                        // A big argument gets just its room, as Redis's
                        // sdsMakeRoomForNonGreedy: no doubling.
                        if c.parser.pending_bulk().is_some_and(|n| n >= BIG_ARG) {
                            c.qbuf.reserve_exact(want);
                        } else {
                            c.qbuf.reserve(want);
                        }
                    }
                    c.bulk_want = want;
                    return true;
                }
                Ok(true) => {
                    if c.args.is_empty() {
                        c.partial_bytes = 0;
                        continue;
                    }
                    let mut args = std::mem::take(&mut c.args);
                    self.execute(c, &args);
                    args.clear();
                    c.args = args;
                    let consumed = std::mem::take(&mut c.partial_bytes);
                    self.after_command(c, consumed);
                }
                Err(e) => {
                    let msg = e.message();
                    log::debug!(
                        "Protocol error ({}) from client: id={} addr={}",
                        msg,
                        c.id,
                        c.addr
                    );
                    c.reply.error(&msg);
                    // c.reply.error put ERR in front.
                    crate::command::call::count_error(&mut self.st, "ERR");
                    c.close_after_reply = true;
                    c.qpos = c.qbuf.len();
                    return true;
                }
            }
        }
    }

    /// Bookkeeping after a command that took `consumed` bytes of input.
    fn after_command(&mut self, c: &mut Client, consumed: i64) {
        if let Some(p) = c.postponed.as_mut() {
            // Applied (and counted) when the pause ends.
            p.1 = consumed;
        } else if c.is_master
            && let Some(l) = self.st.master.as_mut()
        {
            l.offset += consumed;
        }
        // Serve clients blocked on keys this command wrote before the next
        // pipelined command runs, as Redis does after every command
        // (fairness).
        self.handle_ready_keys();
    }
}
