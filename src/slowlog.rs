//! SLOWLOG: the commands that took at least `slowlog-log-slower-than`
//! microseconds, newest first, at most `slowlog-max-len` of them.
//!
//! Entries keep what Redis keeps (`slowlog.c`): at most 32 arguments
//! (the last one then says how many more there were), each cut to 128
//! bytes (saying how many more bytes), passwords shown as `(redacted)`.

use std::collections::VecDeque;

const MAX_ARGS: usize = 32;
const MAX_ARG_BYTES: usize = 128;

pub struct Entry {
    pub id: u64,
    /// Unix time, seconds.
    pub time: i64,
    pub micros: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: Vec<u8>,
}

#[derive(Default)]
pub struct SlowLog {
    pub entries: VecDeque<Entry>,
    next_id: u64,
}

impl SlowLog {
    /// Records a command (nothing at all while `max_len` is 0).
    pub fn push(
        &mut self,
        max_len: usize,
        args: &[&[u8]],
        redacted: impl Fn(usize) -> bool,
        micros: u64,
        addr: &str,
        name: &[u8],
    ) {
        if max_len == 0 {
            return;
        }
        let n = args.len().min(MAX_ARGS);
        let mut kept = Vec::with_capacity(n);
        for (i, a) in args.iter().take(n).enumerate() {
            if i == n - 1 && args.len() > MAX_ARGS {
                kept.push(
                    format!("... ({} more arguments)", args.len() - MAX_ARGS + 1).into_bytes(),
                );
            } else if redacted(i) {
                kept.push(b"(redacted)".to_vec());
            } else if a.len() > MAX_ARG_BYTES {
                let mut v = a[..MAX_ARG_BYTES].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_ARG_BYTES).as_bytes(),
                );
                kept.push(v);
            } else {
                kept.push(a.to_vec());
            }
        }
        self.entries.push_front(Entry {
            id: self.next_id,
            time: crate::util::now_ms() / 1000,
            micros,
            args: kept,
            addr: addr.to_string(),
            name: name.to_vec(),
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_and_arguments_are_cut_as_redis_cuts_them() {
        let mut log = SlowLog::default();
        let many: Vec<Vec<u8>> = (0..34).map(|i| i.to_string().into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|v| &v[..]).collect();
        log.push(10, &refs, |_| false, 5, "127.0.0.1:1", b"");
        let e = &log.entries[0];
        assert_eq!(e.args.len(), 32);
        assert_eq!(e.args[30], b"30");
        assert_eq!(e.args[31], b"... (3 more arguments)");
        let long = vec![b'A'; 129];
        log.push(10, &[b"set", b"k", &long], |i| i == 1, 5, "", b"");
        let e = &log.entries[0];
        assert_eq!((e.id, &e.args[1][..]), (1, &b"(redacted)"[..]));
        assert!(e.args[2].ends_with(b"A... (1 more bytes)"));
        // A max length of 0 turns the log off: no entry, no id used.
        log.push(0, &[b"ping"], |_| false, 1, "", b"");
        assert_eq!(log.entries.len(), 2);
        log.push(1, &[b"ping"], |_| false, 1, "", b"");
        assert_eq!((log.entries.len(), log.entries[0].id), (1, 2));
    }
}
