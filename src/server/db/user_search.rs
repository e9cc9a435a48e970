//! SQL for a free-text search shown in name order (the users page's and the API's default).
//!
//! Sorting every match is what made broad searches slow: a 4-letter surname fragment matches
//! 20,000 of a million people, and each needed a row look-up before the sort. Name tokens carry
//! their user's sort name, and the index `(token, sort_name, user_id)` keeps each token's users in
//! name order. So the most selective word's tokens are each read as one ordered run, stopping
//! after a page (the other words and the filters are checked per row), and merged with the
//! email-prefix and external-id matches. A page reads about a page of entries per run.
use super::user_list::{bind_all, prefix_end, range, Arg, SearchTerm};
use super::user_search_words::intersect;
use super::users::{summary, SUMMARY};
use crate::model::users::UserSummary;
use sqlx::{AnyPool, Row};

/// A driving word with more distinct tokens than this is read as one range and sorted.
const MAX_RUNS: i64 = 32;

/// The distinct name tokens starting with `prefix`, at most `cap` of them: one index seek per
/// token (a loose index scan), however many users carry each.
async fn tokens_starting_with(
    pool: &AnyPool,
    prefix: &str,
    cap: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE t (token, n) AS ( \
           SELECT (SELECT MIN(token) FROM user_name_tokens WHERE token >= $1 AND token < $2), 1 \
           UNION ALL \
           SELECT (SELECT MIN(token) FROM user_name_tokens WHERE token > t.token AND token < $2), t.n + 1 \
           FROM t WHERE t.token IS NOT NULL AND t.n < $3) \
         SELECT token FROM t WHERE token IS NOT NULL",
    )
    .bind(prefix)
    .bind(prefix_end(prefix))
    .bind(cap)
    .fetch_all(pool)
    .await
}

/// `AND (sort, id) > cursor` for the given column names, when there is a cursor.
fn after_clause(
    args: &mut Vec<Arg>,
    sort: &str,
    id: &str,
    after: &Option<(String, String)>,
) -> String {
    let Some((key, last_id)) = after else {
        return String::new();
    };
    args.push(Arg::Text(key.clone()));
    args.push(Arg::Text(last_id.clone()));
    format!(
        " AND ({sort}, {id}) > (${}, ${})",
        args.len() - 1,
        args.len()
    )
}

/// `AND column = value` for each filter on `users`. Written as an expression so that no index
/// serves it: SQLite would otherwise walk every active user through the status index instead of
/// reading the few rows of an email prefix.
fn filter_clause(args: &mut Vec<Arg>, filters: &[(&str, String)]) -> String {
    let mut sql = String::new();
    for (column, value) in filters {
        args.push(Arg::Text(value.clone()));
        sql.push_str(&format!(" AND users.{column} || '' = ${}", args.len()));
    }
    sql
}

/// One page of the users matching a free-text term, in `(sort_name, id)` order after `after`.
pub async fn page_by_name(
    pool: &AnyPool,
    term: &SearchTerm,
    filters: &[(&str, String)],
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<(UserSummary, String)>, sqlx::Error> {
    let SearchTerm::Text {
        external_id,
        email_prefix,
        name_words,
    } = term
    else {
        unreachable!("page_by_name is only called for free text");
    };
    let mut args = Vec::new();
    let mut sides = Vec::new();
    // Several words, each of few tokens: a leapfrog over their ordered runs finds the page.
    let mut word_tokens = Vec::new();
    if name_words.len() > 1 {
        for word in name_words {
            word_tokens.push(tokens_starting_with(pool, word, MAX_RUNS + 1).await?);
        }
    }
    let leapfrog = name_words.len() > 1
        && word_tokens
            .iter()
            .all(|tokens| !tokens.is_empty() && tokens.len() as i64 <= MAX_RUNS);
    if leapfrog {
        let keys = intersect(pool, &word_tokens, filters, after.clone(), limit as usize).await?;
        if !keys.is_empty() {
            let ids: Vec<String> = keys
                .into_iter()
                .map(|(_, id)| {
                    args.push(Arg::Text(id));
                    format!("${}", args.len())
                })
                .collect();
            sides.push(format!(
                "SELECT sort_name, id AS user_id FROM users WHERE id IN ({})",
                ids.join(", ")
            ));
        }
    } else if name_words.len() > 1 && word_tokens.iter().any(Vec::is_empty) {
        // A word that starts no name: no one matches by name.
    } else if let Some(driver) = name_words.iter().max_by_key(|w| w.len()) {
        // The longest word is the most selective prefix: it drives, the others are checked per row.
        let tokens = tokens_starting_with(pool, driver, MAX_RUNS + 1).await?;
        let runs: Vec<Option<&String>> = if tokens.len() as i64 > MAX_RUNS {
            vec![None]
        } else {
            tokens.iter().map(Some).collect()
        };
        let others: Vec<&String> = {
            let mut rest = name_words.iter().collect::<Vec<_>>();
            let at = rest.iter().position(|w| *w == driver).unwrap_or(0);
            rest.remove(at);
            rest
        };
        for run in runs {
            let token = match run {
                Some(token) => {
                    args.push(Arg::Text(token.clone()));
                    format!("t0.token = ${}", args.len())
                }
                None => range(&mut args, "t0.token", driver),
            };
            let mut sql = format!(
                "SELECT t0.sort_name, t0.user_id FROM user_name_tokens t0 WHERE {token}{}",
                after_clause(&mut args, "t0.sort_name", "t0.user_id", &after)
            );
            for word in &others {
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM user_name_tokens t1 WHERE t1.user_id = t0.user_id AND {})",
                    range(&mut args, "t1.token", word)
                ));
            }
            if !filters.is_empty() {
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM users WHERE users.id = t0.user_id{})",
                    filter_clause(&mut args, filters)
                ));
            }
            args.push(Arg::Int(limit));
            sides.push(format!(
                "SELECT sort_name, user_id FROM ({sql} ORDER BY t0.sort_name, t0.user_id LIMIT ${}) AS run{}",
                args.len(),
                sides.len()
            ));
        }
    }
    for condition in [
        {
            args.push(Arg::Text(external_id.clone()));
            format!("users.external_id = ${}", args.len())
        },
        range(&mut args, "users.email", email_prefix),
    ] {
        let mut sql = format!(
            "SELECT sort_name, id AS user_id FROM users WHERE {condition}{}",
            after_clause(&mut args, "users.sort_name", "users.id", &after)
        );
        sql.push_str(&filter_clause(&mut args, filters));
        args.push(Arg::Int(limit));
        // `sort_name || ''`: no index gives this order, so neither engine walks every user in
        // name order looking for the few with this email or id (PostgreSQL's generic plans did).
        sides.push(format!(
            "SELECT sort_name, user_id FROM ({sql} ORDER BY sort_name || '', id LIMIT ${}) AS side{}",
            args.len(),
            sides.len()
        ));
    }
    args.push(Arg::Int(limit));
    let sql = format!(
        "SELECT {SUMMARY}, sort_name AS sort_key FROM users WHERE id IN (\
           SELECT user_id FROM ({}) AS matched ORDER BY sort_name, user_id LIMIT ${}\
         ) ORDER BY sort_name, id",
        sides.join(" UNION "),
        args.len()
    );
    let rows = bind_all(sqlx::query(&sql), args).fetch_all(pool).await?;
    rows.iter()
        .map(|r| Ok((summary(r)?, r.try_get::<String, _>("sort_key")?)))
        .collect()
}
