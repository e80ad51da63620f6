//! The load generator's own CPU time (Linux `/proc/self/stat`), so a run
//! on a machine shared with the server says what it cost.

use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const USER_HZ: u64 = 100;

/// User and system CPU time of this process so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTime {
    /// Time in user mode.
    pub user: Duration,
    /// Time in the kernel.
    pub system: Duration,
}

impl CpuTime {
    /// The process's CPU time, or `None` where `/proc` is not available.
    #[must_use]
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        Self::parse(&stat)
    }

    /// Parses the contents of `/proc/<pid>/stat`.
    #[must_use]
    pub fn parse(stat: &str) -> Option<Self> {
        // The command name (field 2) may contain spaces: skip past its ')'.
        let rest = stat.get(stat.rfind(')')? + 1..)?;
        let mut fields = rest.split_whitespace().skip(11); // field 14 = utime
        let ticks = |t: u64| Duration::from_micros(t * (1_000_000 / USER_HZ));
        let user = fields.next()?.parse().ok().map(ticks)?;
        let system = fields.next()?.parse().ok().map(ticks)?;
        Some(Self { user, system })
    }

    /// CPU used since `earlier`.
    #[must_use]
    pub fn since(self, earlier: Self) -> Self {
        Self {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    #[test]
    fn parses_proc_stat() {
        let line =
            "4242 (load gen) S 1 4242 4242 0 -1 4194560 1203 0 0 0 250 37 0 0 20 0 3 0 123 0 0";
        let cpu = CpuTime::parse(line).unwrap();
        assert_eq!(cpu.user, Duration::from_millis(2500));
        assert_eq!(cpu.system, Duration::from_millis(370));
        assert!(CpuTime::parse("garbage").is_none());
    }

    #[test]
    fn reads_its_own_process() {
        if cfg!(target_os = "linux") {
            assert!(CpuTime::now().is_some());
        }
    }
}
