//! The ACL file (`aclfile`): one `user <name> <rules...>` line per user,
//! read whole or not at all, and rewritten atomically by ACL SAVE.

use super::{RuleError, User, has_spaces, merge_selectors};
use std::collections::BTreeMap;
use std::io::Write;

/// Reads the users of an ACL file. Every error found is reported, in one
/// line, as Redis words it, and then nothing is loaded.
pub fn load(path: &str, pubsub_all: bool) -> Result<BTreeMap<String, User>, String> {
    let text = std::fs::read(path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{path}': {}",
            crate::util::os_error_text(&e)
        )
    })?;
    parse(&text, path, pubsub_all)
}

/// Parses the text of an ACL file named `path` (for the messages).
pub fn parse(text: &[u8], path: &str, pubsub_all: bool) -> Result<BTreeMap<String, User>, String> {
    let mut users: BTreeMap<String, User> = BTreeMap::new();
    let mut errors = String::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        let argv: Vec<Vec<u8>> = line
            .split(|&b| b == b' ')
            .filter(|a| !a.is_empty())
            .map(|a| a.to_vec())
            .collect();
        if argv.is_empty() {
            continue;
        }
        if argv[0] != b"user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{path}:{n} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = String::from_utf8_lossy(&argv[1]).into_owned();
        if has_spaces(&argv[1]) {
            errors.push_str(&format!(
                "'{path}:{n}: username '{name}' contains invalid characters. "
            ));
            continue;
        }
        if users.contains_key(&name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{name}' found on line {n}. "
            ));
            continue;
        }
        let mut u = User::new(&name, pubsub_all);
        let Ok(ops) = merge_selectors(&argv[2..]) else {
            errors.push_str(&format!(
                "{path}:{n}: Unmatched parenthesis in selector definition."
            ));
            continue;
        };
        let mut syntax_error = false;
        for op in &ops {
            let op = trim(op);
            if let Err(e) = u.apply(op, pubsub_all) {
                if e == RuleError::NoSuchCommand {
                    errors.push_str(&format!(
                        "{path}:{n}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(op),
                        e.text()
                    ));
                } else if !syntax_error {
                    errors.push_str(&format!("{path}:{n}: {}. ", e.text()));
                    syntax_error = true;
                }
            }
        }
        users.insert(name, u);
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    if !users.contains_key("default") {
        users.insert("default".into(), User::new_default());
    }
    Ok(users)
}

fn trim(s: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = s.iter().position(|c| !ws(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !ws(c)).map_or(start, |e| e + 1);
    &s[start..end]
}

/// Writes `lines` to `path` through a temporary file renamed over it, so
/// the file is always whole; errors are logged as Redis logs them.
pub fn save(path: &str, lines: &[Vec<u8>]) -> bool {
    let tmp = format!(
        "{path}.tmp-{}-{}",
        std::process::id(),
        crate::util::now_us() / 1000
    );
    let write = || -> Result<(), (&'static str, std::io::Error)> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| ("Opening temp ACL file for ACL SAVE", e))?;
        for l in lines {
            f.write_all(l)
                .and_then(|_| f.write_all(b"\n"))
                .map_err(|e| ("Writing ACL file for ACL SAVE", e))?;
        }
        f.sync_all()
            .map_err(|e| ("Syncing ACL file for ACL SAVE", e))?;
        std::fs::rename(&tmp, path).map_err(|e| ("Renaming ACL file for ACL SAVE", e))?;
        Ok(())
    };
    match write() {
        Ok(()) => true,
        Err((what, e)) => {
            log::warn!("{what}: {}", crate::util::os_error_text(&e));
            let _ = std::fs::remove_file(&tmp);
            false
        }
    }
}
