//! Several name words at once (`linus ta`), in name order, by a leapfrog intersection.
//!
//! Each word's users are read in `(sort_name, user_id)` order from the name-token index (its
//! tokens' runs merged, a chunk at a time). Checking the other words per row of one word read
//! most of 20,000 Linuses when the matches sort late (`linus t...`); instead each word seeks to
//! the largest key any word has reached, so a page costs a few index seeks per match, wherever
//! in the order the matches are.
use super::user_list::{bind_all, Arg};
use sqlx::{AnyPool, Row};
use std::collections::VecDeque;

/// `(sort_name, user_id)`: the order of a name search.
pub type Key = (String, String);

/// Keys read from the index at once per word.
const CHUNK: i64 = 64;

/// One word's users in key order, read a chunk at a time.
struct Cursor<'a> {
    tokens: &'a [String],
    buffered: VecDeque<Key>,
    exhausted: bool,
}

impl Cursor<'_> {
    /// The word's first key at or after `from` (after it unless `inclusive`); `None` when the
    /// word has no more users.
    async fn seek(
        &mut self,
        pool: &AnyPool,
        from: &Option<Key>,
        inclusive: bool,
    ) -> Result<Option<&Key>, sqlx::Error> {
        if let Some(from) = from {
            while self
                .buffered
                .front()
                .is_some_and(|k| k < from || (!inclusive && k == from))
            {
                self.buffered.pop_front();
            }
        }
        if self.buffered.is_empty() && !self.exhausted {
            let chunk = chunk(pool, self.tokens, from, inclusive).await?;
            self.exhausted = (chunk.len() as i64) < CHUNK;
            self.buffered = chunk.into();
        }
        Ok(self.buffered.front())
    }
}

/// Up to [`CHUNK`] keys of users carrying any of `tokens`, from `from` on, in order, each once.
async fn chunk(
    pool: &AnyPool,
    tokens: &[String],
    from: &Option<Key>,
    inclusive: bool,
) -> Result<Vec<Key>, sqlx::Error> {
    let mut args = Vec::new();
    let mut runs = Vec::new();
    for token in tokens {
        args.push(Arg::Text(token.clone()));
        let mut sql = format!(
            "SELECT sort_name, user_id FROM user_name_tokens WHERE token = ${}",
            args.len()
        );
        if let Some((sort_name, user_id)) = from {
            args.push(Arg::Text(sort_name.clone()));
            args.push(Arg::Text(user_id.clone()));
            let op = if inclusive { ">=" } else { ">" };
            sql.push_str(&format!(
                " AND (sort_name, user_id) {op} (${}, ${})",
                args.len() - 1,
                args.len()
            ));
        }
        args.push(Arg::Int(CHUNK));
        runs.push(format!(
            "SELECT sort_name, user_id FROM ({sql} ORDER BY sort_name, user_id LIMIT ${}) AS run{}",
            args.len(),
            runs.len()
        ));
    }
    args.push(Arg::Int(CHUNK));
    let sql = format!(
        "SELECT sort_name, user_id FROM ({}) AS runs ORDER BY sort_name, user_id LIMIT ${}",
        runs.join(" UNION "),
        args.len()
    );
    let rows = bind_all(sqlx::query(&sql), args).fetch_all(pool).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("sort_name")?, r.try_get("user_id")?)))
        .collect()
}

/// The ids among `candidates` whose users pass every `(column, value)` filter, in order.
async fn passing(
    pool: &AnyPool,
    candidates: Vec<Key>,
    filters: &[(&str, String)],
) -> Result<Vec<Key>, sqlx::Error> {
    if filters.is_empty() || candidates.is_empty() {
        return Ok(candidates);
    }
    let mut args: Vec<Arg> = candidates
        .iter()
        .map(|(_, id)| Arg::Text(id.clone()))
        .collect();
    let ids: Vec<String> = (1..=args.len()).map(|n| format!("${n}")).collect();
    let mut sql = format!("SELECT id FROM users WHERE id IN ({})", ids.join(", "));
    for (column, value) in filters {
        args.push(Arg::Text(value.clone()));
        sql.push_str(&format!(" AND {column} = ${}", args.len()));
    }
    let kept: std::collections::HashSet<String> = bind_all(sqlx::query(&sql), args)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()?;
    Ok(candidates
        .into_iter()
        .filter(|(_, id)| kept.contains(id))
        .collect())
}

/// The first `want` users after `after` that carry a token of every word (`words` holds each
/// word's tokens) and pass the filters, in key order.
pub async fn intersect(
    pool: &AnyPool,
    words: &[Vec<String>],
    filters: &[(&str, String)],
    after: Option<Key>,
    want: usize,
) -> Result<Vec<Key>, sqlx::Error> {
    let mut cursors: Vec<Cursor> = words
        .iter()
        .map(|tokens| Cursor {
            tokens,
            buffered: VecDeque::new(),
            exhausted: false,
        })
        .collect();
    let (mut found, mut candidates) = (Vec::new(), Vec::new());
    if cursors.is_empty() || want == 0 {
        return Ok(found);
    }
    let (mut at, mut inclusive, mut i, mut agreeing) = (after, false, 0, 0);
    loop {
        // Leapfrog: each word in turn seeks to `at`; a word ahead of it raises `at` to its key;
        // when every word is at `at`, that user carries them all.
        let Some(key) = cursors[i].seek(pool, &at, inclusive).await? else {
            break;
        };
        if inclusive && at.as_ref() == Some(key) {
            agreeing += 1;
        } else {
            at = Some(key.clone());
            inclusive = true;
            agreeing = 1;
        }
        if agreeing == cursors.len() {
            candidates.extend(at.clone());
            inclusive = false;
            agreeing = 0;
            if candidates.len() + found.len() >= want {
                found.extend(passing(pool, std::mem::take(&mut candidates), filters).await?);
                if found.len() >= want {
                    found.truncate(want);
                    return Ok(found);
                }
            }
        }
        i = (i + 1) % cursors.len();
    }
    found.extend(passing(pool, candidates, filters).await?);
    found.truncate(want);
    Ok(found)
}
