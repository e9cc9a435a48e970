//! Limits on long, heavy work (exports, integrity checks, imports) that a signed-in insider could
//! otherwise start by the hundred: at most `per_person` at once per person and `total` at once
//! on this instance. A permit is held for as long as the work runs and released when dropped.
use crate::model::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct HeavyWork {
    per_person: u32,
    total: u32,
    running: Mutex<(u32, HashMap<String, u32>)>,
}

pub struct Permit {
    work: Arc<HeavyWork>,
    person: String,
}

impl HeavyWork {
    pub fn new(per_person: u32, total: u32) -> Arc<HeavyWork> {
        Arc::new(HeavyWork {
            per_person,
            total,
            running: Mutex::new((0, HashMap::new())),
        })
    }

    /// A permit to start one piece of heavy work for `person`, or a clear "busy" refusal.
    pub fn try_start(self: &Arc<Self>, person: &str) -> Result<Permit, AppError> {
        let mut running = self.running.lock().map_err(|_| AppError::Internal)?;
        let (all, per) = &mut *running;
        let mine = per.get(person).copied().unwrap_or(0);
        if mine >= self.per_person {
            return Err(AppError::RateLimited(format!(
                "you already have {mine} exports, integrity checks or imports running; wait for one to finish"
            )));
        }
        if *all >= self.total {
            return Err(AppError::RateLimited(
                "the server is busy with other exports, integrity checks and imports; try again in a minute".into(),
            ));
        }
        *all += 1;
        per.insert(person.to_string(), mine + 1);
        Ok(Permit {
            work: self.clone(),
            person: person.to_string(),
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut running) = self.work.running.lock() {
            let (all, per) = &mut *running;
            *all = all.saturating_sub(1);
            if let Some(n) = per.get_mut(&self.person) {
                *n -= 1;
                if *n == 0 {
                    per.remove(&self.person);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_person_and_in_all_and_releases_on_drop() {
        let work = HeavyWork::new(2, 3);
        let a1 = work.try_start("a").unwrap();
        let _a2 = work.try_start("a").unwrap();
        let e = work.try_start("a").err().unwrap();
        assert!(e.to_string().contains("already have 2"), "{e}");
        let _b1 = work.try_start("b").unwrap();
        let e = work.try_start("c").err().unwrap();
        assert!(e.to_string().contains("busy"), "{e}");
        drop(a1);
        assert!(
            work.try_start("c").is_ok(),
            "a finished permit frees a place"
        );
    }
}
