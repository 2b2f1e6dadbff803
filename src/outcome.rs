//! How a sync run ended: the one vocabulary that the run's row (`sync_runs.status`), the
//! daemon's planning, the metrics and the command line share.

use std::fmt;

/// The end of one sync run of one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Everything enumerated and deletions checked (or, with an unusable product without an
    /// id, knowingly left unchecked).
    Complete,
    /// Finished, but the listing was capped and nothing completed the enumeration (listing,
    /// collections and sitemap together): deletions were not checked.
    Capped,
    /// A request, a page or the database failed; the cursor stays for the next run.
    Failed,
    /// Stopped on purpose (a signal, a reload); the cursor stays and the next run resumes.
    Interrupted,
    /// Left unfinished for a store whose URL then changed: the next run started afresh.
    Abandoned,
}

impl RunStatus {
    /// The ends a run can reach by itself, as counted in `shopmirror_runs_total` (abandoned is
    /// decided later, when the next run of a changed URL starts).
    pub const REACHED: [RunStatus; 4] = [
        RunStatus::Complete,
        RunStatus::Capped,
        RunStatus::Failed,
        RunStatus::Interrupted,
    ];

    /// The word stored in `sync_runs.status` and shown by `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Capped => "capped",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Abandoned => "abandoned",
        }
    }

    /// Reads a stored word; None for a run still going (`running`) or an unknown word.
    pub fn parse(word: &str) -> Option<RunStatus> {
        [RunStatus::Abandoned]
            .into_iter()
            .chain(RunStatus::REACHED)
            .find(|s| s.as_str() == word)
    }

    /// The run went through to its end: complete, or capped with all it could see.
    pub fn finished(self) -> bool {
        matches!(self, RunStatus::Complete | RunStatus::Capped)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run's row as read back: still going (`running`), or ended with its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Ended(RunStatus),
}

impl RunState {
    /// The word stored in `sync_runs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Ended(status) => status.as_str(),
        }
    }

    /// Reads a stored word; None for an unknown one.
    pub fn parse(word: &str) -> Option<RunState> {
        match word {
            "running" => Some(RunState::Running),
            _ => RunStatus::parse(word).map(RunState::Ended),
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// As its word, as `status --json` shows it.
impl serde::Serialize for RunState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_state_reads_back_from_its_word() {
        for status in RunStatus::REACHED.into_iter().chain([RunStatus::Abandoned]) {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RunStatus::parse("running"), None);
        assert_eq!(RunState::parse("running"), Some(RunState::Running));
        assert_eq!(
            RunState::parse("capped"),
            Some(RunState::Ended(RunStatus::Capped))
        );
        assert_eq!(RunState::parse("done"), None);
        let json = serde_json::to_string(&RunState::Ended(RunStatus::Interrupted)).unwrap();
        assert_eq!(json, r#""interrupted""#);
    }
}
