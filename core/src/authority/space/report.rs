//! A room's side of reporting who is in it to its space: at once on the first change,
//! then at most once per [`REPORT_GAP_MS`] (the last state is kept for later, so the
//! directory always ends on the truth), and every [`HEARTBEAT_MS`] while anyone is in.

use super::{Present, Report, HEARTBEAT_MS, REPORT_GAP_MS};

/// A room's side of reporting: when to send, and what.
#[derive(Debug, Clone)]
pub struct ReportThrottle {
    boot: u64,
    seq: u64,
    /// Who was last reported, and when.
    sent: Option<(Vec<Present>, u64)>,
    /// A state not reported yet.
    pending: Option<Vec<Present>>,
}

impl ReportThrottle {
    /// Reports for a room object that started at `boot`.
    pub fn new(boot: u64) -> Self {
        ReportThrottle {
            boot,
            seq: 0,
            sent: None,
            pending: None,
        }
    }

    /// The room now holds `present`: the report to send now, if one is due (otherwise
    /// call [`ReportThrottle::due`] at [`ReportThrottle::next_at`]). Who is in counts,
    /// not only how many: someone leaving as another joins is a change.
    pub fn changed(&mut self, present: Vec<Present>, now: u64) -> Option<Report> {
        self.pending = Some(present);
        self.due(now)
    }

    /// Forget what was sent, so the next state goes out at once whatever it is (the
    /// room was just linked to a space, which knows nothing of it yet).
    pub fn reset(&mut self) {
        if let Some((sent, _)) = self.sent.take() {
            self.pending.get_or_insert(sent);
        }
    }

    /// The report to send at `now`, if one is due: a changed state once the gap has
    /// passed, or the same state again when an occupied room's heartbeat is due.
    pub fn due(&mut self, now: u64) -> Option<Report> {
        let present = match (self.pending.take(), &self.sent) {
            (Some(present), None) => present,
            (Some(present), Some((sent, at))) => {
                let since = now.saturating_sub(*at);
                if present == *sent && since < HEARTBEAT_MS {
                    return None;
                }
                if since < REPORT_GAP_MS {
                    self.pending = Some(present);
                    return None;
                }
                present
            }
            (None, Some((sent, at)))
                if !sent.is_empty() && now.saturating_sub(*at) >= HEARTBEAT_MS =>
            {
                sent.clone()
            }
            (None, _) => return None,
        };
        self.seq += 1;
        let agents = present.iter().filter(|p| p.kind == "agent").count() as u32;
        let report = Report {
            boot: self.boot,
            seq: self.seq,
            people: present.len() as u32 - agents,
            agents,
            at: now,
            present: present.clone(),
        };
        self.sent = Some((present, now));
        Some(report)
    }

    /// When [`ReportThrottle::due`] should be called next (`None`: only on a change).
    pub fn next_at(&self) -> Option<u64> {
        let (sent, at) = self.sent.as_ref()?;
        match self.pending {
            Some(_) => Some(at + REPORT_GAP_MS),
            None if !sent.is_empty() => Some(at + HEARTBEAT_MS),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `people` people and `agents` agents.
    fn crowd(people: u32, agents: u32) -> Vec<Present> {
        let one = |i: u32, kind: &str| Present {
            id: format!("{kind}{i}"),
            name: format!("{kind} {i}"),
            kind: kind.to_owned(),
            status: "active".into(),
            activity: None,
            note: None,
        };
        (0..people)
            .map(|i| one(i, "person"))
            .chain((0..agents).map(|i| one(i, "agent")))
            .collect()
    }

    #[test]
    fn the_throttle_sends_a_burst_as_one_report_ending_on_the_truth_and_beats_while_occupied() {
        let mut t = ReportThrottle::new(7);
        let first = t
            .changed(crowd(1, 0), 0)
            .expect("the first change goes at once");
        assert_eq!((first.boot, first.seq, first.people), (7, 1, 1));
        assert_eq!(t.changed(crowd(2, 0), 100), None, "within the gap");
        assert_eq!(t.changed(crowd(3, 1), 200), None);
        assert_eq!(t.next_at(), Some(REPORT_GAP_MS));
        let later = t
            .due(REPORT_GAP_MS)
            .expect("the last state, once the gap passed");
        assert_eq!((later.seq, later.people, later.agents), (2, 3, 1));
        assert_eq!(later.present.len(), 4);
        assert_eq!(t.due(REPORT_GAP_MS + 1), None, "nothing new");
        assert_eq!(
            t.changed(crowd(3, 1), REPORT_GAP_MS + 5),
            None,
            "the same state again"
        );
        assert_eq!(t.next_at(), Some(REPORT_GAP_MS + HEARTBEAT_MS));
        let beat = t
            .due(REPORT_GAP_MS + HEARTBEAT_MS)
            .expect("an occupied room beats");
        assert_eq!((beat.seq, beat.people), (3, 3));
        let empty = t.due(REPORT_GAP_MS + HEARTBEAT_MS + REPORT_GAP_MS);
        assert_eq!(empty, None);
        let left = t
            .changed(Vec::new(), 3 * HEARTBEAT_MS)
            .expect("everyone left");
        assert_eq!(left.people, 0);
        assert_eq!(
            (t.next_at(), t.due(10 * HEARTBEAT_MS)),
            (None, None),
            "an empty room is silent"
        );
    }

    #[test]
    fn someone_leaving_as_another_joins_is_reported_and_a_reset_resends() {
        let mut t = ReportThrottle::new(1);
        let ada = crowd(1, 0);
        let mut bob = crowd(1, 0);
        bob[0].id = "bob".into();
        t.changed(ada, 0).unwrap();
        let swapped = t
            .changed(bob.clone(), REPORT_GAP_MS)
            .expect("same count, other person");
        assert_eq!(swapped.present, bob);
        t.reset();
        let again = t.due(REPORT_GAP_MS + 1).expect("a reset sends at once");
        assert_eq!(again.present, bob);
    }
}
