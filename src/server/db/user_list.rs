//! SQL for listing users: one definition of "the users matching a filter" (search term, status,
//! source) that the users page, the count, the export and the bulk actions all read, a keyset
//! page at a time, so none of them can stop early or disagree about who matches.
use super::users::{summary, SUMMARY};
use crate::model::users::UserSummary;
use sqlx::AnyPool;
use sqlx::Row;

/// What the search box asked for, by the shape of its text (see `service::user_list::term`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchTerm {
    /// An indexed column (`id`, `guid_id`, `phone`, `email`) starts with this text.
    Prefix(&'static str, String),
    /// Free text: an external id exactly, an email prefix, or every word starts a word of the names.
    Text {
        external_id: String,
        email_prefix: String,
        name_words: Vec<String>,
    },
}

/// A bind value for dynamically built queries.
pub enum Arg {
    Text(String),
    Int(i64),
}

/// The upper bound of a prefix range (columns compare bytewise on both engines).
pub(super) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// `column` starts with `prefix`: an index range scan.
pub(super) fn range(args: &mut Vec<Arg>, column: &str, prefix: &str) -> String {
    args.push(Arg::Text(prefix.to_string()));
    args.push(Arg::Text(prefix_end(prefix)));
    format!(
        "{column} >= ${} AND {column} < ${}",
        args.len() - 1,
        args.len()
    )
}

/// The condition for `term`, with its values pushed onto `args`.
fn term_condition(term: &SearchTerm, args: &mut Vec<Arg>) -> String {
    match term {
        SearchTerm::Prefix(column, prefix) => format!("({})", range(args, column, prefix)),
        SearchTerm::Text {
            external_id,
            email_prefix,
            name_words,
        } => {
            // A union of index range scans; each side is small for a selective term.
            args.push(Arg::Text(external_id.clone()));
            let mut sides = vec![format!(
                "SELECT id FROM users WHERE external_id = ${}",
                args.len()
            )];
            sides.push(format!(
                "SELECT id FROM users WHERE {}",
                range(args, "email", email_prefix)
            ));
            if !name_words.is_empty() {
                // INTERSECT inside its own subquery: SQLite gives UNION and INTERSECT equal precedence.
                let words: Vec<String> = name_words
                    .iter()
                    .map(|w| {
                        format!(
                            "SELECT user_id FROM user_name_tokens WHERE {}",
                            range(args, "token", w)
                        )
                    })
                    .collect();
                sides.push(format!(
                    "SELECT user_id FROM ({}) AS named",
                    words.join(" INTERSECT ")
                ));
            }
            format!("id IN ({})", sides.join(" UNION "))
        }
    }
}

/// `WHERE ...` for the term and the `(column, value)` equalities.
fn where_clause(
    term: Option<&SearchTerm>,
    filters: &[(&str, String)],
    args: &mut Vec<Arg>,
) -> String {
    let mut sql = String::from(" WHERE 1 = 1");
    if let Some(term) = term {
        sql.push_str(" AND ");
        sql.push_str(&term_condition(term, args));
    }
    for (column, value) in filters {
        args.push(Arg::Text(value.clone()));
        sql.push_str(&format!(" AND {column} = ${}", args.len()));
    }
    sql
}

pub(super) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
        };
    }
    q
}

/// One keyset page of the matching users in `(key_column, id)` order; `after` is the last
/// (key, id) seen. Returns each user with its key for the next cursor.
pub async fn page(
    pool: &AnyPool,
    key_column: &str,
    key_is_text: bool,
    term: Option<&SearchTerm>,
    filters: &[(&str, String)],
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<(UserSummary, String)>, sqlx::Error> {
    if let (Some(text @ SearchTerm::Text { .. }), "sort_name") = (term, key_column) {
        return super::user_search::page_by_name(pool, text, filters, after, limit).await;
    }
    let mut args = Vec::new();
    let mut sql = format!(
        "SELECT {SUMMARY}, {key_column} AS sort_key FROM users{}",
        where_clause(term, filters, &mut args)
    );
    if let Some((key, id)) = after {
        args.push(if key_is_text {
            Arg::Text(key)
        } else {
            Arg::Int(key.parse().unwrap_or(0))
        });
        args.push(Arg::Text(id));
        sql.push_str(&format!(
            " AND ({key_column}, id) > (${}, ${})",
            args.len() - 1,
            args.len()
        ));
    }
    args.push(Arg::Int(limit));
    sql.push_str(&format!(" ORDER BY {key_column}, id LIMIT ${}", args.len()));
    let rows = bind_all(sqlx::query(&sql), args).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            let key = if key_is_text {
                r.try_get::<String, _>("sort_key")?
            } else {
                r.try_get::<i64, _>("sort_key")?.to_string()
            };
            Ok((summary(r)?, key))
        })
        .collect()
}

/// How many users match (the same condition as `page`).
pub async fn count(
    pool: &AnyPool,
    term: Option<&SearchTerm>,
    filters: &[(&str, String)],
) -> Result<i64, sqlx::Error> {
    let mut args = Vec::new();
    let sql = format!(
        "SELECT COUNT(*) AS n FROM users{}",
        where_clause(term, filters, &mut args)
    );
    let row = bind_all(sqlx::query(&sql), args).fetch_one(pool).await?;
    row.try_get::<i64, _>("n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_a_union_of_index_ranges_with_words_intersected_apart() {
        let mut args = Vec::new();
        let term = SearchTerm::Text {
            external_id: "ada love".into(),
            email_prefix: "ada love".into(),
            name_words: vec!["ada".into(), "love".into()],
        };
        let sql = term_condition(&term, &mut args);
        assert_eq!(args.len(), 1 + 2 + 2 * 2);
        assert!(sql.starts_with("id IN (SELECT id FROM users WHERE external_id = $1 UNION"));
        assert!(
            sql.contains("SELECT user_id FROM (SELECT user_id FROM user_name_tokens WHERE token >= $4 AND token < $5 INTERSECT SELECT user_id FROM user_name_tokens WHERE token >= $6 AND token < $7) AS named"),
            "{sql}"
        );
    }

    #[test]
    fn filters_follow_the_term_placeholders() {
        let mut args = Vec::new();
        let term = SearchTerm::Prefix("email", "ada@".into());
        let sql = where_clause(Some(&term), &[("status", "active".into())], &mut args);
        assert_eq!(
            sql,
            " WHERE 1 = 1 AND (email >= $1 AND email < $2) AND status = $3"
        );
    }
}
