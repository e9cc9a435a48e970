//! Long work (bulk actions, imports) runs as a job whose progress any page can follow.
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Reading and checking the input; nothing is written yet.
    Validating,
    /// Writing, one transaction per batch.
    Running,
    Done,
    /// The input had problems; nothing was written.
    Rejected,
    /// Stopped by an unexpected error; the report says how far it got.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Validating => "validating",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Rejected => "rejected",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> JobState {
        match s {
            "validating" => JobState::Validating,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "rejected" => JobState::Rejected,
            _ => JobState::Failed,
        }
    }

    pub fn finished(self) -> bool {
        matches!(self, JobState::Done | JobState::Rejected | JobState::Failed)
    }
}

/// One problem with one input line (or one account, for bulk actions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Line number in the file (1 is the header), or 0 when not about a line.
    pub line: u64,
    /// The account concerned, when known.
    pub subject: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub changed: u64,
    pub skipped: u64,
    /// Every problem is counted; the first `MAX_LISTED_PROBLEMS` are listed.
    pub problem_count: u64,
    pub problems: Vec<Problem>,
}

pub const MAX_LISTED_PROBLEMS: usize = 1000;

impl JobReport {
    pub fn problem(&mut self, line: u64, subject: impl Into<String>, message: impl Into<String>) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(Problem {
                line,
                subject: subject.into(),
                message: message.into(),
            });
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub total: u64,
    pub done: u64,
    /// One line for people, e.g. "Suspended 48 users; 2 skipped".
    pub summary: String,
    pub report: JobReport,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Job {
    /// Progress in percent, 0 to 100.
    pub fn percent(&self) -> u32 {
        if self.state.finished() {
            return 100;
        }
        if self.total == 0 {
            return 0;
        }
        ((self.done.min(self.total) * 100) / self.total) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_counted_beyond_the_listed_ones() {
        let mut r = JobReport::default();
        for i in 0..(MAX_LISTED_PROBLEMS as u64 + 5) {
            r.problem(i + 2, "", "bad");
        }
        assert_eq!(r.problem_count, MAX_LISTED_PROBLEMS as u64 + 5);
        assert_eq!(r.problems.len(), MAX_LISTED_PROBLEMS);
    }
}
