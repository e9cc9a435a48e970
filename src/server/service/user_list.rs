//! Who matches a users filter: the users page, the count shown before a bulk action or an
//! export, and the walk over every matching user that exports and bulk actions make. All of them
//! read one `Matcher`, a keyset page at a time, so a search term never caps them at one page.
use crate::model::users::*;
use crate::model::AppError;
use crate::server::db::{self, user_list::SearchTerm, Db};
use crate::server::internal;

pub const PAGE_SIZE: i64 = 50;
/// At most this many words of a free-text search are matched against names.
const MAX_WORDS: usize = 4;

/// A parsed users filter: who matches (search term, status, source) and in which order.
#[derive(Clone, Debug)]
pub struct Matcher {
    term: Option<SearchTerm>,
    filters: Vec<(&'static str, String)>,
    key_column: &'static str,
    key_is_text: bool,
}

/// The search box, by the shape of its text: which indexed column it is a prefix of, or free
/// text (an external id exactly, an email prefix, or every word starts a word of the names).
pub fn term(q: &str) -> Option<SearchTerm> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let lower = q.to_lowercase();
    Some(if lower.starts_with("u_") {
        SearchTerm::Prefix("id", lower)
    } else if lower.starts_with("g_") {
        SearchTerm::Prefix("guid_id", lower)
    } else if q.starts_with('+') {
        SearchTerm::Prefix(
            "phone",
            q.chars().filter(|c| !" -.()".contains(*c)).collect(),
        )
    } else if lower.contains('@') {
        SearchTerm::Prefix("email", lower)
    } else {
        // One word with a dot (`linus.ta`) is the start of an email or an id, as with `@`: names
        // are not searched for its pieces (which would read every Linus to find a few).
        let identifier = lower.contains('.') && !lower.contains(char::is_whitespace);
        let mut name_words = if identifier {
            Vec::new()
        } else {
            db::users::name_tokens(&[&lower])
        };
        name_words.truncate(MAX_WORDS);
        SearchTerm::Text {
            external_id: q.to_string(),
            email_prefix: lower,
            name_words,
        }
    })
}

impl Matcher {
    pub fn parse(query: &UserQuery) -> Result<Matcher, AppError> {
        let mut filters = Vec::new();
        match query.status.trim() {
            "" => {}
            s => {
                let s = UserStatus::parse(s).map_err(|e| AppError::invalid("status", e))?;
                filters.push(("status", s.as_str().to_string()));
            }
        }
        match query.source.trim() {
            "" => {}
            s => filters.push(("source", s.to_lowercase())),
        }
        let (key_column, key_is_text) = match query.sort {
            UserSort::Name => ("sort_name", true),
            UserSort::Email => ("email", true),
            UserSort::Created => ("created_at", false),
            UserSort::LastSignIn => ("last_sign_in_at", false),
        };
        Ok(Matcher {
            term: term(&query.q),
            filters,
            key_column,
            key_is_text,
        })
    }

    /// True when nothing narrows it: it matches every user.
    pub fn is_everyone(&self) -> bool {
        self.term.is_none() && self.filters.is_empty()
    }

    /// One keyset page of at most `limit` users after the cursor `after` ("" for the first).
    pub async fn page(&self, db: &Db, after: &str, limit: i64) -> Result<UserPage, AppError> {
        let after = after
            .trim()
            .rsplit_once('|')
            .map(|(k, id)| (k.to_string(), id.to_string()));
        let mut rows = db::user_list::page(
            &db.pool,
            self.key_column,
            self.key_is_text,
            self.term.as_ref(),
            &self.filters,
            after,
            limit + 1,
        )
        .await
        .map_err(internal)?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|(u, key)| format!("{key}|{}", u.id))
        } else {
            None
        };
        Ok(UserPage {
            users: rows.into_iter().map(|(u, _)| u).collect(),
            next,
        })
    }

    pub async fn count(&self, db: &Db) -> Result<u64, AppError> {
        let n = db::user_list::count(&db.pool, self.term.as_ref(), &self.filters)
            .await
            .map_err(internal)?;
        Ok(n.max(0) as u64)
    }
}

/// A page of the users list (search results too, with a next page when there are more).
pub async fn list(db: &Db, query: &UserQuery) -> Result<UserPage, AppError> {
    Matcher::parse(query)?
        .page(db, &query.after, PAGE_SIZE)
        .await
}

/// How many users match the filter (every page of it).
pub async fn count(db: &Db, query: &UserQuery) -> Result<u64, AppError> {
    Matcher::parse(query)?.count(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_of_the_text_picks_the_column() {
        assert_eq!(
            term(" U_0193ab "),
            Some(SearchTerm::Prefix("id", "u_0193ab".into()))
        );
        assert_eq!(
            term("g_ab"),
            Some(SearchTerm::Prefix("guid_id", "g_ab".into()))
        );
        assert_eq!(
            term("+41 (79) 12"),
            Some(SearchTerm::Prefix("phone", "+417912".into()))
        );
        assert_eq!(
            term("Ada@Ex"),
            Some(SearchTerm::Prefix("email", "ada@ex".into()))
        );
        assert_eq!(term("   "), None);
        let Some(SearchTerm::Text {
            external_id,
            email_prefix,
            name_words,
        }) = term("EMP-0042 a b c d e")
        else {
            panic!("free text")
        };
        assert_eq!(external_id, "EMP-0042 a b c d e");
        assert_eq!(email_prefix, "emp-0042 a b c d e");
        assert_eq!(name_words.len(), MAX_WORDS);
        let Some(SearchTerm::Text {
            email_prefix,
            name_words,
            ..
        }) = term("Linus.Ta")
        else {
            panic!("free text")
        };
        assert_eq!(email_prefix, "linus.ta");
        assert!(
            name_words.is_empty(),
            "a dotted word is an email or id prefix"
        );
    }

    #[test]
    fn only_an_empty_filter_matches_everyone() {
        let everyone = Matcher::parse(&UserQuery::default()).unwrap();
        assert!(everyone.is_everyone());
        for q in [
            UserQuery {
                q: "ada".into(),
                ..Default::default()
            },
            UserQuery {
                status: "locked".into(),
                ..Default::default()
            },
            UserQuery {
                source: "HR".into(),
                ..Default::default()
            },
        ] {
            assert!(!Matcher::parse(&q).unwrap().is_everyone(), "{q:?}");
        }
        let bad = UserQuery {
            status: "frozen".into(),
            ..Default::default()
        };
        assert!(matches!(
            Matcher::parse(&bad),
            Err(AppError::Invalid { .. })
        ));
    }
}
