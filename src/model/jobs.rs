//! Long work (bulk actions, imports) runs as a job whose progress any page can follow.
use crate::model::users::UserQuery;
use crate::model::AppError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(as = JobProblem))]
pub struct Problem {
    /// Line number in the file (1 is the header), or 0 when not about a line.
    pub line: u64,
    /// The account concerned, when known.
    pub subject: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

/// What a bulk action applies to. Acting on every user is its own choice, confirmed with the
/// number of users the person saw; an empty filter never means "everyone".
#[derive(Clone, Debug, PartialEq)]
pub enum BulkScope {
    /// Users picked one by one.
    Selection(Vec<String>),
    /// Every user matching a non-empty filter; with `confirm_count`, only if that many still match.
    Matching {
        filter: UserQuery,
        confirm_count: Option<u64>,
    },
    /// Every user, only if `confirm_count` is the current number of users.
    Everyone { confirm_count: u64 },
}

impl BulkScope {
    /// The scope a request names: exactly one of `ids`, `filter` or `everyone` (with the count).
    pub fn from_request(
        ids: Option<Vec<String>>,
        filter: Option<UserQuery>,
        everyone: bool,
        confirm_count: Option<u64>,
    ) -> Result<BulkScope, AppError> {
        let named = [ids.is_some(), filter.is_some(), everyone];
        if named.iter().filter(|n| **n).count() > 1 {
            return Err(AppError::invalid(
                "scope",
                "The request names more than one set of users (selected ids, a filter, everyone); \
                 send exactly one, so it is clear who is changed.",
            ));
        }
        if everyone {
            return match confirm_count {
                Some(confirm_count) => Ok(BulkScope::Everyone { confirm_count }),
                None => Err(AppError::invalid(
                    "confirm_count",
                    "Acting on every user needs the number of users you confirmed (confirm_count).",
                )),
            };
        }
        if let Some(filter) = filter {
            if [&filter.q, &filter.status, &filter.source]
                .iter()
                .all(|f| f.trim().is_empty())
            {
                return Err(AppError::invalid(
                    "filter",
                    "The filter is empty, so it would match every user. To act on everyone, \
                     choose \"every user\" and confirm the number of users.",
                ));
            }
            return Ok(BulkScope::Matching {
                filter: UserQuery {
                    after: String::new(),
                    ..filter
                },
                confirm_count,
            });
        }
        Ok(BulkScope::Selection(ids.unwrap_or_default()))
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

    fn filter(status: &str) -> Option<UserQuery> {
        Some(UserQuery {
            status: status.into(),
            ..Default::default()
        })
    }

    #[test]
    fn a_bulk_request_names_exactly_one_set_of_users() {
        let ids = Some(vec!["u_1".to_string()]);
        let both = BulkScope::from_request(ids.clone(), filter("active"), false, None);
        assert!(matches!(both, Err(AppError::Invalid { ref field, .. }) if field == "scope"));
        assert!(BulkScope::from_request(ids.clone(), None, true, Some(3)).is_err());
        assert!(BulkScope::from_request(None, filter("active"), true, Some(3)).is_err());
        assert_eq!(
            BulkScope::from_request(ids, None, false, None),
            Ok(BulkScope::Selection(vec!["u_1".into()]))
        );
        assert!(matches!(
            BulkScope::from_request(None, filter("active"), false, Some(2)),
            Ok(BulkScope::Matching {
                confirm_count: Some(2),
                ..
            })
        ));
    }

    #[test]
    fn everyone_is_explicit_and_confirmed_with_the_count() {
        let empty = BulkScope::from_request(None, filter("  "), false, Some(7));
        assert!(
            matches!(empty, Err(AppError::Invalid { ref field, .. }) if field == "filter"),
            "{empty:?}"
        );
        let unconfirmed = BulkScope::from_request(None, None, true, None);
        assert!(
            matches!(unconfirmed, Err(AppError::Invalid { ref field, .. }) if field == "confirm_count")
        );
        assert_eq!(
            BulkScope::from_request(None, None, true, Some(7)),
            Ok(BulkScope::Everyone { confirm_count: 7 })
        );
    }
}
