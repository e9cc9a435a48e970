//! `gatehouse seed`: realistic synthetic people for development and benchmarks: N accounts over
//! M persons (GUIDs), across several sources, with statuses, attributes and duplicates to find
//! (the same person registered twice under different GUIDs, sharing a phone or a name).
use crate::server::db::seed::{self, SeedUser};
use crate::server::db::{now_ms, users::name_tokens, Db};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

const GIVEN: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Sophie",
    "Yukihiro",
    "Hedy",
    "John",
    "Katherine",
    "Donald",
    "Shafi",
    "Leslie",
    "Anita",
    "Guido",
    "Mary",
    "Niklaus",
    "Joan",
    "Bjarne",
    "Lynn",
    "Andrew",
    "Karen",
    "Vint",
    "Fei",
    "Ivan",
    "Carol",
    "James",
    "Elena",
    "Mateo",
    "Aisha",
    "Kenji",
    "Priya",
    "Lars",
    "Ingrid",
    "Omar",
    "Chen",
    "Lucia",
    "Pedro",
    "Zara",
    "Noah",
    "Mia",
    "Ravi",
    "Ewa",
];
const FAMILY: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Wilson",
    "Matsumoto",
    "Lamarr",
    "Backus",
    "Johnson",
    "Knuth",
    "Goldwasser",
    "Lamport",
    "Borg",
    "Rossum",
    "Shaw",
    "Wirth",
    "Clarke",
    "Stroustrup",
    "Conway",
    "Tanenbaum",
    "Jones",
    "Cerf",
    "Li",
    "Sutherland",
    "Shaw",
    "Gosling",
    "Petrova",
    "Garcia",
    "Khan",
    "Sato",
    "Patel",
    "Nilsson",
    "Berg",
    "Haddad",
    "Wang",
    "Rossi",
    "Silva",
    "Ahmed",
    "Smith",
    "Müller",
    "Kumar",
    "Nowak",
];
const SOURCES: &[&str] = &[
    "hr-emea",
    "hr-amer",
    "hr-apac",
    "sales-crm",
    "github",
    "legacy-ldap",
];
const DEPARTMENTS: &[&str] = &[
    "engineering",
    "sales",
    "finance",
    "support",
    "legal",
    "marketing",
    "operations",
];

pub struct SeedReport {
    pub users: u64,
    pub guids: u64,
    pub seconds: f64,
}

/// Seeds `users` accounts over about `guids` persons. Deterministic for a given `rng_seed`.
pub async fn run(
    db: &Db,
    users: u64,
    guids: u64,
    rng_seed: u64,
    progress: impl Fn(u64),
) -> Result<SeedReport, sqlx::Error> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let guids = guids.clamp(1, users.max(1));
    let now = now_ms();
    let run_tag: String = format!("{:x}", rng.gen::<u32>());
    let batch = 10_000u64;
    let mut made = 0u64;
    let mut guid_no = 0u64;
    while made < users {
        let n = batch.min(users - made);
        let mut guid_rows = Vec::new();
        let mut user_rows = Vec::with_capacity(n as usize);
        let mut tokens = Vec::with_capacity(n as usize * 3);
        let mut current_guid = String::new();
        let mut current_person: (usize, usize, Option<String>) = (0, 0, None);
        // The first email of the current person, and whether its GUID row is still to be written.
        let mut first_email = String::new();
        let mut pending_guid: Option<i64> = None;
        for i in 0..n {
            let idx = made + i;
            // Spread accounts over persons: a new person whenever the running share of GUIDs says so.
            if current_guid.is_empty() || (idx * guids / users) >= guid_no {
                guid_no += 1;
                current_guid = format!("g_{}", uuid::Uuid::from_u128(rng.gen()).simple());
                pending_guid = Some(now - rng.gen_range(0..3 * 365 * 86_400_000i64));
                first_email.clear();
                let phone = rng
                    .gen_bool(0.7)
                    .then(|| format!("+41{}", rng.gen_range(700_000_000u64..799_999_999)));
                current_person = (
                    rng.gen_range(0..GIVEN.len()),
                    rng.gen_range(0..FAMILY.len()),
                    phone,
                );
            }
            let (g, f, ref phone) = current_person;
            // About 2% of accounts are unlinked duplicates: a new GUID, but the same name and phone as another person.
            let duplicate = !first_email.is_empty() && rng.gen_bool(0.02);
            let source = SOURCES[rng.gen_range(0..SOURCES.len())];
            let given = GIVEN[g];
            let family = FAMILY[f];
            let display = format!("{given} {family}");
            // Half of the duplicates reuse the person's mailbox with a +tag (same verified mailbox).
            let email = if duplicate && rng.gen_bool(0.5) {
                first_email.replacen('@', &format!("+{idx}@"), 1)
            } else {
                format!(
                    "{}.{}.{idx}.{run_tag}@{source}.example.com",
                    given.to_lowercase(),
                    family.to_lowercase().replace(['ü', ' '], "u")
                )
            };
            let guid_id = if duplicate {
                let dup = format!("g_{}", uuid::Uuid::from_u128(rng.gen()).simple());
                guid_rows.push((
                    dup.clone(),
                    now,
                    display.clone(),
                    email.clone(),
                    phone.clone(),
                ));
                dup
            } else {
                if let Some(at) = pending_guid.take() {
                    guid_rows.push((
                        current_guid.clone(),
                        at,
                        display.clone(),
                        email.clone(),
                        phone.clone(),
                    ));
                    first_email = email.clone();
                }
                current_guid.clone()
            };
            let status = match rng.gen_range(0..100) {
                0..=84 => "active",
                85..=89 => "staged",
                90..=93 => "suspended",
                94..=96 => "locked",
                _ => "deprovisioned",
            };
            let id = format!(
                "u_{}",
                uuid::Uuid::from_u128(
                    ((now as u128) << 80) | (idx as u128) << 32 | rng.gen::<u32>() as u128
                )
                .simple()
            );
            for t in name_tokens(&[&display]) {
                tokens.push((t, id.clone()));
            }
            let last_sign_in_at = if status == "active" && rng.gen_bool(0.6) {
                now - rng.gen_range(0..90 * 86_400_000i64)
            } else {
                0
            };
            user_rows.push(SeedUser {
                id,
                guid_id,
                email,
                display_name: display,
                given_name: given.to_string(),
                family_name: family.to_string(),
                phone: phone.clone(),
                status,
                source,
                external_id: format!("{}-{idx}-{run_tag}", &source[..2]),
                attributes: format!(
                    "{{\"department\":\"{}\",\"cost_center\":\"CC-{}\"}}",
                    DEPARTMENTS[rng.gen_range(0..DEPARTMENTS.len())],
                    rng.gen_range(1000..9999)
                ),
                created_at: now - rng.gen_range(0..3 * 365 * 86_400_000i64),
                last_sign_in_at,
            });
        }
        seed::insert_batch(db, &guid_rows, &user_rows, &tokens).await?;
        made += n;
        progress(made);
    }
    Ok(SeedReport {
        users,
        guids: guid_no,
        seconds: started.elapsed().as_secs_f64(),
    })
}
