//! CSV import of users, created or updated by email. The whole file is checked first and every bad
//! line is reported with its number and reason before anything is written; then it is written one
//! transaction per batch, with progress, and ends with a report. The file stays in memory (bounded
//! by `MAX_IMPORT_BYTES`) and is read twice, so a million rows never become a million objects.
use super::new_job_id;
use crate::model::jobs::{JobReport, JobState};
use crate::model::users::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::users::{self, parse_input};
use serde_json::json;
use std::collections::{HashMap, HashSet};

pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
const BATCH: usize = 500;

pub const REQUIRED: [&str; 2] = ["email", "display_name"];
pub const COLUMNS: [&str; 9] = [
    "email",
    "display_name",
    "given_name",
    "family_name",
    "phone",
    "source",
    "external_id",
    "attributes",
    "status",
];

/// The file as text, or why it cannot be read.
fn decode(bytes: &[u8]) -> Result<&str, (u64, String)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        (
            line,
            "The file is not UTF-8 text (this line has bytes that are not UTF-8). Save it as \"CSV UTF-8\" and upload it again.".to_string(),
        )
    })
}

/// Column positions by name, or every problem with the header line.
fn header(text: &str) -> Result<HashMap<String, usize>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err(vec!["The file is empty.".into()]),
        Err(e) => return Err(vec![format!("The header line cannot be read: {e}")]),
    }
    let mut problems = Vec::new();
    let mut columns = HashMap::new();
    for (i, name) in record.iter().enumerate() {
        let name = name.trim().to_lowercase();
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(format!(
                "Unknown column {name:?}. The columns are: {}.",
                COLUMNS.join(", ")
            ));
        } else if columns.insert(name.clone(), i).is_some() {
            problems.push(format!("Column {name:?} appears twice."));
        }
    }
    for required in REQUIRED {
        if !columns.contains_key(required) {
            problems.push(format!("The required column {required:?} is missing."));
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

/// One data line, as read.
struct Line {
    number: u64,
    values: HashMap<&'static str, String>,
}

fn lines<'a>(
    text: &'a str,
    columns: &'a HashMap<String, usize>,
) -> impl Iterator<Item = Result<Line, (u64, String)>> + 'a {
    let reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let width = columns.len();
    reader.into_records().map(move |r| {
        let record = r.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            (line, format!("This line cannot be read as CSV: {e}"))
        })?;
        let number = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() != width {
            return Err((
                number,
                format!(
                    "This line has {} fields; the header has {width}.",
                    record.len()
                ),
            ));
        }
        let mut values = HashMap::new();
        for name in COLUMNS {
            if let Some(i) = columns.get(name) {
                values.insert(name, record.get(*i).unwrap_or("").to_string());
            }
        }
        Ok(Line { number, values })
    })
}

/// A line checked against the current state: what to write.
struct Planned {
    valid: users::Valid,
    status: Option<UserStatus>,
}

/// Checks one line; `existing` is the user with that email, if any. Absent columns keep the
/// existing values; a new user needs a source and starts active unless the file says staged.
fn plan(line: &Line, existing: Option<&UserDetail>) -> Result<Planned, Vec<String>> {
    let get = |name: &str| line.values.get(name).cloned();
    let keep =
        |name: &str, current: Option<String>| get(name).unwrap_or(current.unwrap_or_default());
    let e = existing;
    let input = UserInput {
        email: get("email").unwrap_or_default(),
        display_name: keep("display_name", e.map(|u| u.display_name.clone())),
        given_name: keep("given_name", e.and_then(|u| u.given_name.clone())),
        family_name: keep("family_name", e.and_then(|u| u.family_name.clone())),
        phone: keep("phone", e.and_then(|u| u.phone.clone())),
        source: keep("source", e.map(|u| u.source.clone())),
        external_id: keep("external_id", e.and_then(|u| u.external_id.clone())),
        attributes: keep("attributes", e.map(|u| u.attributes.clone())),
    };
    let mut problems = Vec::new();
    let valid = match parse_input(&input) {
        Ok(v) => Some(v),
        Err(AppError::Fields(list)) => {
            problems.extend(list.into_iter().map(|(_, m)| m));
            None
        }
        Err(other) => {
            problems.push(other.to_string());
            None
        }
    };
    let status = match get("status").map(|s| s.trim().to_lowercase()) {
        None => None,
        Some(s) if s.is_empty() => None,
        Some(s) => match (UserStatus::parse(&s), e) {
            (Err(why), _) => {
                problems.push(format!("Status: {why}"));
                None
            }
            (Ok(to), Some(u)) if to == u.status => None,
            (Ok(to), Some(u)) => match u.status.transition_to(to) {
                Ok(()) => Some(to),
                Err(why) => {
                    problems.push(format!(
                        "Status: cannot change from {} to {}: {why}",
                        u.status.as_str(),
                        to.as_str()
                    ));
                    None
                }
            },
            (Ok(to @ (UserStatus::Staged | UserStatus::Active)), None) => Some(to),
            (Ok(to), None) => {
                problems.push(format!(
                    "Status: a new user starts as staged or active, not {}",
                    to.as_str()
                ));
                None
            }
        },
    };
    match valid {
        Some(valid) if problems.is_empty() => Ok(Planned { valid, status }),
        _ => Err(problems),
    }
}

/// Starts an import and returns its job id; the file is checked and written in the background.
pub async fn start(
    db: &Db,
    auth: &Authorized,
    file_name: &str,
    bytes: Vec<u8>,
    permit: crate::server::service::heavy::Permit,
) -> Result<String, AppError> {
    if bytes.is_empty() {
        return Err(AppError::invalid("file", "The file is empty."));
    }
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(AppError::invalid(
            "file",
            format!(
                "The file is larger than {} MB; split it.",
                MAX_IMPORT_BYTES / 1024 / 1024
            ),
        ));
    }
    let id = new_job_id();
    db::jobs::insert(
        &db.pool,
        &id,
        "users.import",
        &auth.principal.email,
        JobState::Validating,
        0,
        db::now_ms(),
    )
    .await
    .map_err(internal)?;
    let (db, auth, job, file_name) = (db.clone(), auth.clone(), id.clone(), file_name.to_string());
    tokio::spawn(async move {
        let _running = permit;
        let mut report = JobReport::default();
        let outcome = run(&db, &auth, &job, &bytes, &mut report).await;
        let (state, summary, done) = match outcome {
            Ok(Finished::Rejected(total)) => (
                JobState::Rejected,
                format!(
                    "Nothing was imported: {} problem{} in {} line{}. Fix the file and upload it again.",
                    report.problem_count,
                    if report.problem_count == 1 { "" } else { "s" },
                    total,
                    if total == 1 { "" } else { "s" }
                ),
                0,
            ),
            Ok(Finished::Imported(total)) => (
                JobState::Done,
                format!(
                    "Imported {total} lines: {} created, {} updated, {} unchanged{}.",
                    report.created,
                    report.updated,
                    report.unchanged,
                    if report.skipped > 0 {
                        format!(", {} skipped (see the problems)", report.skipped)
                    } else {
                        String::new()
                    }
                ),
                total,
            ),
            Err((written, e)) => {
                tracing::error!(error = %e, job, "import stopped");
                (
                    JobState::Failed,
                    format!("Stopped by an error after {written} lines; those are kept and audited. {e}"),
                    written,
                )
            }
        };
        let entry = Entry::new(
            "users.import",
            if state == JobState::Done {
                Outcome::Success
            } else {
                Outcome::Failed
            },
        )
        .target("job", &job)
        .details(json!({
            "file": file_name, "bytes": bytes.len(), "state": state.as_str(),
            "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
            "skipped": report.skipped,
            "problems": report.problem_count,
        }));
        if let Err(e) = audit::record_alone(&db, &auth.actor(), &auth.meta, entry).await {
            tracing::error!(error = %e, job, "could not audit an import");
        }
        if let Err(e) =
            db::jobs::finish(&db.pool, &job, state, done, &summary, &report, db::now_ms()).await
        {
            tracing::error!(error = %e, job, "could not record the end of an import");
        }
    });
    Ok(id)
}

enum Finished {
    Rejected(u64),
    Imported(u64),
}

async fn run(
    db: &Db,
    auth: &Authorized,
    job: &str,
    bytes: &[u8],
    report: &mut JobReport,
) -> Result<Finished, (u64, AppError)> {
    let fail = |e: AppError| (0u64, e);
    let text = match decode(bytes) {
        Ok(t) => t,
        Err((line, message)) => {
            report.problem(line, "", message);
            return Ok(Finished::Rejected(0));
        }
    };
    let columns = match header(text) {
        Ok(c) => c,
        Err(problems) => {
            for p in problems {
                report.problem(1, "", p);
            }
            return Ok(Finished::Rejected(0));
        }
    };
    let total = lines(text, &columns).count() as u64;
    if total == 0 {
        report.problem(1, "", "The file has a header but no data lines.");
        return Ok(Finished::Rejected(0));
    }
    let _ = db::jobs::progress(&db.pool, job, JobState::Validating, total, 0, db::now_ms()).await;

    // Pass 1: check every line; nothing is written.
    let mut seen_emails = HashSet::new();
    let mut seen_external = HashSet::new();
    let mut checked = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    let mut all = lines(text, &columns).peekable();
    while all.peek().is_some() {
        batch.clear();
        batch.extend(all.by_ref().take(BATCH));
        check_batch(db, &batch, &mut seen_emails, &mut seen_external, report)
            .await
            .map_err(fail)?;
        checked += batch.len() as u64;
        let _ = db::jobs::progress(
            &db.pool,
            job,
            JobState::Validating,
            total,
            checked,
            db::now_ms(),
        )
        .await;
    }
    if report.problem_count > 0 {
        return Ok(Finished::Rejected(total));
    }
    drop(seen_emails);
    drop(seen_external);

    // Pass 2: write, one transaction per batch.
    let via = json!({ "via": "import", "job": job });
    let mut written = 0u64;
    let mut all = lines(text, &columns).filter_map(Result::ok).peekable();
    let mut batch = Vec::with_capacity(BATCH);
    while all.peek().is_some() {
        batch.clear();
        batch.extend(all.by_ref().take(BATCH));
        write_batch(db, auth, &batch, &via, report)
            .await
            .map_err(|e| (written, e))?;
        written += batch.len() as u64;
        let _ = db::jobs::progress(
            &db.pool,
            job,
            JobState::Running,
            total,
            written,
            db::now_ms(),
        )
        .await;
    }
    Ok(Finished::Imported(total))
}

async fn check_batch(
    db: &Db,
    batch: &[Result<Line, (u64, String)>],
    seen_emails: &mut HashSet<String>,
    seen_external: &mut HashSet<(String, String)>,
    report: &mut JobReport,
) -> Result<(), AppError> {
    let emails: Vec<String> = batch
        .iter()
        .filter_map(|l| l.as_ref().ok())
        .filter_map(|l| ValidEmail::parse(l.values.get("email")?).ok())
        .map(|e| e.as_str().to_string())
        .collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let existing: HashMap<String, UserDetail> = db::users::by_emails(&db.pool, &refs)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|u| (u.email.clone(), u))
        .collect();
    let mut planned = Vec::new();
    for line in batch {
        let line = match line {
            Ok(l) => l,
            Err((number, message)) => {
                report.problem(*number, "", message.clone());
                continue;
            }
        };
        let subject = line.values.get("email").cloned().unwrap_or_default();
        let email = ValidEmail::parse(&subject)
            .ok()
            .map(|e| e.as_str().to_string());
        match plan(line, email.as_ref().and_then(|e| existing.get(e))) {
            Err(problems) => {
                for p in problems {
                    report.problem(line.number, subject.clone(), p);
                }
            }
            Ok(p) => {
                let email = p.valid.email.as_str().to_string();
                if !seen_emails.insert(email.clone()) {
                    report.problem(
                        line.number,
                        subject.clone(),
                        format!("Email {email} appears on an earlier line of this file."),
                    );
                }
                if let Some(ext) = &p.valid.external_id {
                    if !seen_external.insert((p.valid.source.clone(), ext.clone())) {
                        report.problem(line.number, subject.clone(), format!("External id {ext} of source {} appears on an earlier line of this file.", p.valid.source));
                    }
                }
                planned.push((line.number, subject, p));
            }
        }
    }
    // External ids held by another user in the same source.
    let ids: Vec<&str> = planned
        .iter()
        .filter_map(|(_, _, p)| p.valid.external_id.as_deref())
        .collect();
    let holders = db::users::by_external_ids(&db.pool, &ids)
        .await
        .map_err(internal)?;
    for (number, subject, p) in &planned {
        if let Some(ext) = &p.valid.external_id {
            if let Some((_, _, holder)) = holders.iter().find(|(s, x, holder)| {
                s == &p.valid.source && x == ext && holder != p.valid.email.as_str()
            }) {
                report.problem(
                    *number,
                    subject.clone(),
                    format!(
                        "External id {ext} is already used in source {} by {holder}.",
                        p.valid.source
                    ),
                );
            }
        }
    }
    Ok(())
}

async fn write_batch(
    db: &Db,
    auth: &Authorized,
    batch: &[Line],
    via: &serde_json::Value,
    report: &mut JobReport,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    // On PostgreSQL: claim the batch's emails and external ids, then lock the users holding
    // those emails in id order, before reading any of them. An overlapping import, bulk action
    // or create waits for this batch and then sees its result; nobody deadlocks.
    let emails: Vec<ValidEmail> = batch
        .iter()
        .filter_map(|l| ValidEmail::parse(l.values.get("email")?).ok())
        .collect();
    let mut claims: Vec<String> = emails
        .iter()
        .map(|e| format!("email:{}", e.as_str()))
        .collect();
    claims.extend(batch.iter().filter_map(|l| {
        let ext = l.values.get("external_id")?.trim();
        let source = l.values.get("source").map(|s| s.trim().to_lowercase());
        (!ext.is_empty()).then(|| format!("external_id:{}/{ext}", source.unwrap_or_default()))
    }));
    db::users::claim_unique_values(&mut tx, db.engine, &claims)
        .await
        .map_err(internal)?;
    let refs: Vec<&str> = emails.iter().map(ValidEmail::as_str).collect();
    db::users::lock_users_by_email(&mut tx, db.engine, &refs)
        .await
        .map_err(internal)?;
    let (mut created, mut updated, mut unchanged, mut skipped) = (0, 0, 0, 0);
    for line in batch {
        let email =
            ValidEmail::parse(line.values.get("email").map(String::as_str).unwrap_or(""))
                .map_err(|e| AppError::invalid("email", format!("line {}: {e}", line.number)))?;
        let existing = match db::users::id_by_email(&mut tx, email.as_str())
            .await
            .map_err(internal)?
        {
            Some(id) => db::users::get(&mut tx, &id).await.map_err(internal)?,
            None => None,
        };
        // Someone changed the user (or took its email or external id) since the file was
        // checked: that line is skipped with the reason; the rest of the file goes on.
        let planned = match plan(line, existing.as_ref()) {
            Ok(p) => p,
            Err(problems) => {
                skipped += 1;
                report.problem(
                    line.number,
                    email.as_str(),
                    format!(
                        "Skipped: changed since the file was checked: {}",
                        problems.join("; ")
                    ),
                );
                continue;
            }
        };
        if let Err(e) = users::check_unique(
            &mut tx,
            &planned.valid,
            existing.as_ref().map(|u| u.id.as_str()),
        )
        .await
        {
            if !matches!(e, AppError::Fields(_)) {
                return Err(e);
            }
            skipped += 1;
            report.problem(
                line.number,
                email.as_str(),
                format!("Skipped: changed since the file was checked: {e}"),
            );
            continue;
        }
        match existing {
            None => {
                users::insert_new(
                    &mut tx,
                    auth,
                    &planned.valid,
                    planned.status.unwrap_or(UserStatus::Active),
                    via.clone(),
                )
                .await?;
                created += 1;
            }
            Some(before) => {
                let after =
                    users::write_update(&mut tx, auth, &before, &planned.valid, via.clone())
                        .await?;
                let current = after.clone().unwrap_or(before);
                let status_changed = match planned.status {
                    Some(to) if to != current.status => {
                        users::apply_status(db, &mut tx, auth, &current, to).await?;
                        true
                    }
                    _ => false,
                };
                if after.is_some() || status_changed {
                    updated += 1;
                } else {
                    unchanged += 1;
                }
            }
        }
    }
    tx.commit().await.map_err(internal)?;
    report.created += created;
    report.updated += updated;
    report.unchanged += unchanged;
    report.skipped += skipped;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_is_refused_with_its_line() {
        let bytes = b"email,display_name\nada@x.com,Ada\nbo@x.com,Bj\xf6rn\n";
        let (line, message) = decode(bytes).unwrap_err();
        assert_eq!(line, 3);
        assert!(message.contains("UTF-8"));
        assert!(
            decode(b"\xEF\xBB\xBFemail\n").is_ok(),
            "a UTF-8 BOM is fine"
        );
    }

    #[test]
    fn header_problems_are_all_reported() {
        let problems = header("mail,display_name,display_name,colour\n").unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("\"colour\"")));
        assert!(problems.iter().any(|p| p.contains("appears twice")));
        assert!(problems.iter().any(|p| p.contains("\"email\" is missing")));
        assert!(header("Email, Display_Name\n").is_ok());
    }

    #[test]
    fn new_users_need_a_source_and_a_starting_status() {
        let columns = header("email,display_name,status\n").unwrap();
        let text = "email,display_name,status\nada@x.com,Ada,locked\n";
        let line = lines(text, &columns).next().unwrap().unwrap();
        assert_eq!(line.number, 2);
        let problems = plan(&line, None).err().unwrap();
        assert!(
            problems.iter().any(|p| p.contains("Source is required")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("starts as staged or active")),
            "{problems:?}"
        );
    }
}
