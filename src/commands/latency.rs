//! LATENCY: the latency monitor's events (LATEST, HISTORY, RESET, GRAPH,
//! DOCTOR) and the per-command latency histograms (HISTOGRAM).

use crate::command::flags::*;
use crate::command::{CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container};
use crate::resp::Args;
use std::fmt::Write;

pub static COMMANDS: &[CommandSpec] = &[container(
    "latency",
    "server",
    "2.8.13",
    "A container for latency diagnostics commands.",
    LATENCY,
)];

const FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

static LATENCY: &[CommandSpec] = &[
    cmd(
        "latest",
        2,
        FLAGS,
        NO_KEYS,
        "server",
        "2.8.13",
        "Returns the latest latency samples for all events.",
        latest,
    ),
    cmd(
        "history",
        3,
        FLAGS,
        NO_KEYS,
        "server",
        "2.8.13",
        "Returns timestamp-latency samples for an event.",
        history,
    ),
    cmd(
        "reset",
        -2,
        FLAGS,
        NO_KEYS,
        "server",
        "2.8.13",
        "Resets the latency data for one or more events.",
        reset,
    ),
    cmd(
        "graph",
        3,
        FLAGS,
        NO_KEYS,
        "server",
        "2.8.13",
        "Returns a latency graph for an event.",
        graph,
    ),
    cmd(
        "doctor",
        2,
        FLAGS,
        NO_KEYS,
        "server",
        "2.8.13",
        "Returns a human-readable latency analysis report.",
        doctor,
    ),
    cmd(
        "histogram",
        -2,
        FLAGS,
        NO_KEYS,
        "server",
        "7.0.0",
        "Returns the cumulative distribution of latencies of a subset or all commands.",
        histogram,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "2.8.13",
        "Returns helpful text about the different subcommands.",
        help,
    ),
];

/// LATENCY LATEST: per event, the time and latency of its last sample
/// and its all-time maximum.
fn latest(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let events = &ctx.st.latency.events;
    let r = &mut ctx.c.reply;
    r.array(events.len());
    for (name, e) in events {
        let (t, ms) = e.samples.back().copied().unwrap_or((0, 0));
        r.array(4);
        r.bulk(name.as_bytes());
        r.int(t);
        r.int(ms as i64);
        r.int(e.max as i64);
    }
    Ok(())
}

/// LATENCY HISTORY event: (time, latency) pairs, oldest first.
fn history(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let e = ctx
        .st
        .latency
        .events
        .iter()
        .find(|(k, _)| args[2].eq_ignore_ascii_case(k.as_bytes()))
        .map(|(_, e)| e);
    let r = &mut ctx.c.reply;
    match e {
        None => r.array(0),
        Some(e) => {
            r.array(e.samples.len());
            for &(t, ms) in &e.samples {
                r.array(2);
                r.int(t);
                r.int(ms as i64);
            }
        }
    }
    Ok(())
}

/// LATENCY RESET [event ...]: how many events were dropped.
fn reset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let names: Vec<&[u8]> = args.iter().skip(2).collect();
    let n = ctx.st.latency.reset(&names);
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// LATENCY GRAPH event: the samples as a column chart, scaled between the
/// lowest and highest, with Redis's header line.
fn graph(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = String::from_utf8_lossy(&args[2]).into_owned();
    let Some((key, e)) = ctx
        .st
        .latency
        .events
        .iter()
        .find(|(k, _)| name.eq_ignore_ascii_case(k))
    else {
        return Err(CmdError::Msg(format!(
            "ERR No samples available for event '{name}'"
        )));
    };
    let hi = e.samples.iter().map(|s| s.1).max().unwrap_or(0);
    let lo = e.samples.iter().map(|s| s.1).min().unwrap_or(0);
    let mut s = format!(
        "{key} - high {hi} ms, low {lo} ms (all time high {} ms)\n",
        e.max
    );
    s.push_str(&"-".repeat(80));
    s.push('\n');
    const ROWS: u64 = 4;
    for row in (1..=ROWS).rev() {
        for &(_, ms) in &e.samples {
            let level = if hi == lo {
                ROWS
            } else {
                1 + (ms - lo) * (ROWS - 1) / (hi - lo)
            };
            s.push(if level >= row { '#' } else { ' ' });
        }
        s.push('\n');
    }
    let now = crate::util::now_ms() / 1000;
    for &(t, _) in &e.samples {
        let ago = (now - t).max(0);
        s.push(match ago {
            0..=59 => 's',
            60..=3599 => 'm',
            _ => 'h',
        });
    }
    s.push('\n');
    ctx.c.reply.verbatim(s.as_bytes(), "txt");
    Ok(())
}

/// LATENCY DOCTOR: a short report on the events seen.
fn doctor(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let events = &ctx.st.latency.events;
    let mut s = String::new();
    if events.is_empty() {
        s.push_str(
            "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n",
        );
    } else {
        s.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        for (i, (name, e)) in events.iter().enumerate() {
            let n = e.samples.len().max(1) as u64;
            let avg = e.samples.iter().map(|s| s.1).sum::<u64>() / n;
            let _ = writeln!(
                s,
                "{}. {}: {} latency spikes (average {}ms, mean deviation 0ms, period 0 sec). Worst all time event {}ms.",
                i + 1,
                name,
                e.samples.len(),
                avg,
                e.max
            );
        }
        s.push_str("\nI have a few advices for you:\n\n- Check your system for processes competing for the CPU, and the commands in the slow log (SLOWLOG GET).\n");
    }
    ctx.c.reply.verbatim(s.as_bytes(), "txt");
    Ok(())
}

/// A command's name, calls and cumulative buckets.
type Row<'a> = (&'a str, u64, Vec<(u64, u64)>);

/// LATENCY HISTOGRAM [command ...]: calls and cumulative latency buckets
/// of the named commands (a container names all its subcommands), or of
/// every command called since the last CONFIG RESETSTAT.
fn histogram(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let wanted: Vec<String> = args
        .iter()
        .skip(2)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let mut rows: Vec<Row> = ctx
        .st
        .cmdstats
        .values()
        .filter(|s| s.latency.count() > 0)
        .filter(|s| {
            wanted.is_empty()
                || wanted.iter().any(|w| {
                    s.name == *w
                        || s.name
                            .strip_prefix(w.as_str())
                            .is_some_and(|r| r.starts_with('|'))
                })
        })
        .map(|s| (s.name.as_str(), s.calls, s.latency.log_buckets()))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    let r = &mut ctx.c.reply;
    r.map(rows.len());
    for (name, calls, buckets) in rows {
        r.bulk(name.as_bytes());
        r.map(2);
        r.bulk(b"calls");
        r.int(calls as i64);
        r.bulk(b"histogram_usec");
        r.map(buckets.len());
        for (us, n) in buckets {
            r.int(us as i64);
            r.int(n as i64);
        }
    }
    Ok(())
}

/// LATENCY HELP
fn help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
    ];
    crate::commands::introspection::reply_help(&mut ctx.c.reply, "LATENCY", HELP);
    Ok(())
}
