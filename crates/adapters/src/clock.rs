use chrono::{DateTime, SubsecRound as _, Utc};
use monetro_ports::Clock;

/// The real clock, to the microsecond: the precision every store keeps, so
/// a value answered at creation is the value read back later.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}
