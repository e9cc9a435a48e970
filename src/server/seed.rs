//! `gatehouse seed`: realistic synthetic people for development and benchmarks: N accounts over
//! M persons (GUIDs), across several sources, with statuses, attributes and duplicates to find
//! (the same person registered twice under different GUIDs, sharing a phone or a name).
use crate::server::db::seed::{self, SeedDevice, SeedFactor, SeedUser};
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
    pub factors: u64,
    pub devices: u64,
    pub seconds: f64,
}

/// Passkey authenticators: (name, AAGUID).
const AUTHENTICATORS: &[(&str, &str)] = &[
    ("YubiKey 5 NFC", "cb69481e-8ff7-4039-93ec-0a2729a154a8"),
    ("iCloud Keychain", "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"),
    (
        "Google Password Manager",
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
    ),
    ("Windows Hello", "08987058-cadc-4b81-b6e1-30de50dcbe96"),
];
/// Device models: (kind, platform, OS versions, names).
const DEVICE_MODELS: &[(&str, &str, &[&str], &str)] = &[
    ("phone", "ios", &["17.6", "18.1", "18.2"], "iPhone"),
    ("phone", "android", &["13", "14", "15"], "Pixel"),
    ("laptop", "macos", &["14.6", "15.1"], "MacBook Pro"),
    (
        "laptop",
        "windows",
        &["10 22H2", "11 23H2", "11 24H2"],
        "ThinkPad",
    ),
    (
        "laptop",
        "linux",
        &["Ubuntu 24.04", "Fedora 41"],
        "Dell XPS",
    ),
    ("browser", "chromeos", &["130", "131"], "Chrome"),
    ("browser", "windows", &["Edge 131"], "Edge"),
    ("server", "linux", &["Debian 12", "RHEL 9"], "build-agent"),
];

/// 1 to 3 factors of varied kinds for a user.
fn factors_for(
    rng: &mut StdRng,
    user_id: &str,
    email: &str,
    phone: &Option<String>,
    now: i64,
    out: &mut Vec<SeedFactor>,
) {
    let n = rng.gen_range(1..=3);
    let mut kinds = [
        "totp",
        "webauthn",
        "email_otp",
        "recovery_codes",
        "sms",
        "voice",
    ];
    // Without a phone on file, only the first four kinds apply.
    let available = if phone.is_some() { kinds.len() } else { 4 };
    for i in 0..n {
        let j = rng.gen_range(i..available);
        kinds.swap(i, j);
        let kind = kinds[i];
        let enrolled_at = now - rng.gen_range(0..2 * 365 * 86_400_000i64);
        let last_used_at = rng
            .gen_bool(0.8)
            .then(|| enrolled_at + rng.gen_range(0..(now - enrolled_at).max(1)));
        let (label, authn) = match kind {
            "totp" => ("Authenticator app".to_string(), None),
            "webauthn" => {
                let a = AUTHENTICATORS[rng.gen_range(0..AUTHENTICATORS.len())];
                (a.0.to_string(), Some(a))
            }
            "sms" => ("Mobile phone".to_string(), None),
            "voice" => ("Phone call".to_string(), None),
            "email_otp" => ("Email code".to_string(), None),
            _ => ("Recovery codes".to_string(), None),
        };
        out.push(SeedFactor {
            id: format!("f_{}", uuid::Uuid::from_u128(rng.gen()).simple()),
            user_id: user_id.to_string(),
            kind,
            label,
            status: if rng.gen_bool(0.95) {
                "active"
            } else {
                "disabled"
            },
            enrolled_at,
            last_used_at,
            credential_id: authn.map(|_| format!("cred-{:032x}", rng.gen::<u128>())),
            authenticator_name: authn.map(|a| a.0),
            aaguid: authn.map(|a| a.1),
            phone: matches!(kind, "sms" | "voice")
                .then(|| phone.clone())
                .flatten(),
            email: (kind == "email_otp").then(|| email.to_string()),
            codes_left: (kind == "recovery_codes").then(|| rng.gen_range(0..=10)),
        });
    }
}

/// 1 to 4 devices for a person's main account.
fn devices_for(rng: &mut StdRng, user_id: &str, given: &str, now: i64, out: &mut Vec<SeedDevice>) {
    for _ in 0..rng.gen_range(1..=4) {
        let (kind, platform, versions, model) =
            DEVICE_MODELS[rng.gen_range(0..DEVICE_MODELS.len())];
        let first_seen_at = now - rng.gen_range(0..2 * 365 * 86_400_000i64);
        // Most devices were seen recently; a tail has not been seen for months.
        let last_seen_at = if rng.gen_bool(0.8) {
            now - rng.gen_range(0..30 * 86_400_000i64)
        } else {
            now - rng.gen_range(30 * 86_400_000i64..400 * 86_400_000)
        }
        .max(first_seen_at);
        let trust_state = match rng.gen_range(0..100) {
            0..=64 => "trusted",
            65..=94 => "untrusted",
            _ => "blocked",
        };
        out.push(SeedDevice {
            id: format!("d_{}", uuid::Uuid::from_u128(rng.gen()).simple()),
            owner_user_id: user_id.to_string(),
            name: format!("{given}'s {model}"),
            platform,
            os_version: versions[rng.gen_range(0..versions.len())],
            kind,
            fingerprint: format!("SHA256:{:032x}", rng.gen::<u128>()),
            trust_state,
            remembered: trust_state == "trusted" && rng.gen_bool(0.5),
            first_seen_at,
            last_seen_at,
            last_ip: format!(
                "10.{}.{}.{}",
                rng.gen_range(0..255),
                rng.gen_range(0..255),
                rng.gen_range(1..255)
            ),
        });
    }
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
    let (mut factor_count, mut device_count) = (0u64, 0u64);
    while made < users {
        let n = batch.min(users - made);
        let mut guid_rows = Vec::new();
        let mut user_rows = Vec::with_capacity(n as usize);
        let mut tokens = Vec::with_capacity(n as usize * 3);
        let mut factors = Vec::with_capacity(n as usize * 2);
        let mut devices = Vec::with_capacity(n as usize * 2);
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
            // A person's main account carries their devices; active and locked accounts have factors.
            if first_email == email && !duplicate {
                devices_for(&mut rng, &id, given, now, &mut devices);
            }
            if matches!(status, "active" | "locked" | "suspended") {
                factors_for(&mut rng, &id, &email, phone, now, &mut factors);
            }
            for t in name_tokens(&[&display]) {
                tokens.push((t, id.clone(), display.to_lowercase()));
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
        factor_count += factors.len() as u64;
        device_count += devices.len() as u64;
        seed::insert_batch(db, &guid_rows, &user_rows, &tokens, &factors, &devices).await?;
        made += n;
        progress(made);
    }
    Ok(SeedReport {
        users,
        guids: guid_no,
        factors: factor_count,
        devices: device_count,
        seconds: started.elapsed().as_secs_f64(),
    })
}
