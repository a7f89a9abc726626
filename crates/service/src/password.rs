//! Password checking that a storm of bad logins cannot turn into a
//! denial of service or an oracle:
//!
//! - Argon2 runs on a few dedicated threads (one per core), each reusing
//!   its own memory, so concurrent logins cost no more memory than that;
//!   requests wait for a thread in a bounded queue with a deadline, then are
//!   refused (503) instead of piling up.
//! - An unknown user costs the same hash as a known one (a dummy
//!   verification), so timing does not tell which names exist.
//! - Keystone's lockout (`lockout_failure_attempts`, `lockout_duration`): a
//!   user with that many consecutive failures is refused without hashing
//!   until the duration passes.
//! - A per-source budget of failed attempts (a token bucket): a source that
//!   spent it is refused (429) before any hashing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use platter_model::DomainError;
use tokio::sync::{oneshot, Semaphore};

/// The limits of password authentication (`[security]` in the TOML).
#[derive(Debug, Clone)]
pub struct AuthLimits {
    /// Consecutive failures that lock a user (0: never).
    pub lockout_failure_attempts: u32,
    /// How long a locked user stays locked.
    pub lockout_duration: Duration,
    /// Failed attempts a source may make per minute, in bursts of as many
    /// (0: unlimited).
    pub failures_per_minute_per_source: u32,
    /// Threads that hash (0: one per core).
    pub hash_threads: usize,
    /// Logins that may wait for a hashing thread; more are refused at once.
    pub hash_queue: usize,
    /// How long a login may wait for a hashing thread.
    pub hash_wait: Duration,
}

impl Default for AuthLimits {
    fn default() -> Self {
        AuthLimits {
            lockout_failure_attempts: 10,
            lockout_duration: Duration::from_secs(300),
            failures_per_minute_per_source: 60,
            hash_threads: 0,
            hash_queue: 256,
            hash_wait: Duration::from_secs(5),
        }
    }
}

/// The largest Argon2 memory a stored hash may ask for (256 MiB): a hash
/// is ours, but a corrupt row must not take the machine.
const MAX_BLOCKS: u32 = 256 * 1024;

/// Entries kept per table before the oldest expired ones are swept.
const TABLE_SWEEP: usize = 10_000;

enum Job {
    Verify {
        password: String,
        hash: String,
        reply: oneshot::Sender<bool>,
    },
    /// Hashes `password` and discards the result: the cost of a
    /// verification, for unknown users.
    Dummy {
        password: String,
        reply: oneshot::Sender<bool>,
    },
    Hash {
        password: String,
        reply: oneshot::Sender<Result<String, String>>,
    },
}

struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// How a login attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Login {
    Valid,
    Invalid,
    /// Refused without checking: too many failures.
    Locked,
}

pub(crate) struct PasswordGuard {
    limits: AuthLimits,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    jobs: OnceLock<Mutex<mpsc::Sender<Job>>>,
    failures: Mutex<HashMap<String, Failures>>,
    sources: Mutex<HashMap<IpAddr, Bucket>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn threads(limits: &AuthLimits) -> usize {
    if limits.hash_threads > 0 {
        limits.hash_threads
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }
}

impl PasswordGuard {
    pub(crate) fn new(limits: AuthLimits) -> PasswordGuard {
        PasswordGuard {
            slots: Arc::new(Semaphore::new(threads(&limits))),
            limits,
            waiting: AtomicUsize::new(0),
            jobs: OnceLock::new(),
            failures: Mutex::new(HashMap::new()),
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// The hashing threads, started at first use; they end when the guard
    /// (its sender) is dropped.
    fn sender(&self) -> mpsc::Sender<Job> {
        let jobs = self.jobs.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            for i in 0..threads(&self.limits) {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("platter-hash-{i}"))
                    .spawn(move || hash_worker(&rx));
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "starting a password-hashing thread");
                }
            }
            Mutex::new(tx)
        });
        lock(jobs).clone()
    }

    /// Runs `job` on a hashing thread, after waiting for a free one.
    async fn run<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Job) -> Result<T, DomainError> {
        let _permit = self.permit().await?;
        self.exec(make).await
    }

    /// A free hashing thread, waited for in a bounded queue.
    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, DomainError> {
        let busy = || DomainError::Overloaded {
            message: "The service is busy authenticating other requests; try again shortly.".into(),
            retry_after: 1,
            rate_limited: false,
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.limits.hash_queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            crate::metrics::auth_refused("busy");
            return Err(busy());
        }
        let permit =
            tokio::time::timeout(self.limits.hash_wait, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match permit {
            Ok(Ok(p)) => Ok(p),
            _ => {
                crate::metrics::auth_refused("busy");
                Err(busy())
            }
        }
    }

    /// Runs `job` on a hashing thread (the caller holds a permit).
    async fn exec<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Job,
    ) -> Result<T, DomainError> {
        let (tx, rx) = oneshot::channel();
        self.sender()
            .send(make(tx))
            .map_err(|_| DomainError::Internal("the password-hashing threads are gone".into()))?;
        rx.await
            .map_err(|_| DomainError::Internal("a password-hashing thread failed".into()))
    }

    /// Checks a login by `who` (a user id, or a key for a name that does
    /// not exist): refused without hashing if `who` is locked out (also when
    /// the lock came while it waited for a thread), else `password` is
    /// verified against `hash`, or against a dummy for a user who does not
    /// exist or may not log in (`None`), which costs the same.
    pub(crate) async fn login(
        &self,
        who: &str,
        password: &str,
        hash: Option<&str>,
    ) -> Result<Login, DomainError> {
        if self.is_locked(who) {
            return Ok(Login::Locked);
        }
        let _permit = self.permit().await?;
        if self.is_locked(who) {
            return Ok(Login::Locked);
        }
        let password = password.to_string();
        let valid = match hash {
            Some(hash) => {
                let hash = hash.to_string();
                self.exec(|reply| Job::Verify {
                    password,
                    hash,
                    reply,
                })
                .await?
            }
            None => self.exec(|reply| Job::Dummy { password, reply }).await?,
        };
        Ok(if valid { Login::Valid } else { Login::Invalid })
    }

    /// Whether `password` matches the stored `hash`.
    #[cfg(test)]
    pub(crate) async fn verify(&self, password: &str, hash: &str) -> Result<bool, DomainError> {
        let (password, hash) = (password.to_string(), hash.to_string());
        self.run(|reply| Job::Verify {
            password,
            hash,
            reply,
        })
        .await
    }

    /// Costs what [`PasswordGuard::verify`] costs, and fails.
    #[cfg(test)]
    pub(crate) async fn verify_unknown(&self, password: &str) -> Result<bool, DomainError> {
        let password = password.to_string();
        self.run(|reply| Job::Dummy { password, reply }).await?;
        Ok(false)
    }

    /// A new Argon2id hash of `password`.
    pub(crate) async fn hash(&self, password: &str) -> Result<String, DomainError> {
        let password = password.to_string();
        self.run(|reply| Job::Hash { password, reply })
            .await?
            .map_err(|e| DomainError::Internal(format!("hashing password: {e}")))
    }

    /// Refuses a source that spent its budget of failures (429), before
    /// anything else is done for it.
    pub(crate) fn check_source(&self, source: Option<IpAddr>) -> Result<(), DomainError> {
        let (Some(ip), rate) = (source, self.limits.failures_per_minute_per_source) else {
            return Ok(());
        };
        if rate == 0 {
            return Ok(());
        }
        let mut sources = lock(&self.sources);
        if let Some(b) = sources.get_mut(&ip) {
            refill(b, rate);
            if b.tokens < 1.0 {
                crate::metrics::auth_refused("rate_limited");
                let wait = ((1.0 - b.tokens) * 60.0 / f64::from(rate)).ceil() as u64;
                return Err(DomainError::Overloaded {
                    message: "Too many failed authentication attempts from this address; try again later."
                        .into(),
                    retry_after: wait.max(1),
                    rate_limited: true,
                });
            }
        }
        Ok(())
    }

    /// Whether `who` is locked out.
    fn is_locked(&self, who: &str) -> bool {
        let failures = lock(&self.failures);
        failures
            .get(who)
            .and_then(|f| f.locked_until)
            .is_some_and(|until| until > Instant::now())
    }

    /// Records a failed attempt by `who` from `source`; true when it locked
    /// `who` out.
    pub(crate) fn failed(&self, who: &str, source: Option<IpAddr>) -> bool {
        let now = Instant::now();
        if let (Some(ip), rate) = (source, self.limits.failures_per_minute_per_source) {
            if rate > 0 {
                let mut sources = lock(&self.sources);
                if sources.len() > TABLE_SWEEP {
                    sources.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(60));
                }
                let b = sources.entry(ip).or_insert(Bucket {
                    tokens: f64::from(rate),
                    at: now,
                });
                refill(b, rate);
                b.tokens = (b.tokens - 1.0).max(0.0);
            }
        }
        let attempts = self.limits.lockout_failure_attempts;
        if attempts == 0 {
            return false;
        }
        let mut failures = lock(&self.failures);
        if failures.len() > TABLE_SWEEP {
            let keep = self.limits.lockout_duration;
            failures.retain(|_, f| now.duration_since(f.last) < keep);
        }
        let f = failures.entry(who.to_string()).or_insert(Failures {
            count: 0,
            locked_until: None,
            last: now,
        });
        // A lock that ran out starts a new count (Keystone resets it too).
        if f.locked_until.is_some_and(|u| u <= now) {
            f.count = 0;
            f.locked_until = None;
        }
        f.count += 1;
        f.last = now;
        if f.count >= attempts && f.locked_until.is_none() {
            f.locked_until = Some(now + self.limits.lockout_duration);
            crate::metrics::auth_lockout();
            return true;
        }
        false
    }

    /// Clears `who`'s failures and lifts its lockout: a successful login,
    /// or an administrator who set a new password or enabled the user.
    pub(crate) fn clear(&self, who: &str) {
        lock(&self.failures).remove(who);
    }
}

fn refill(b: &mut Bucket, rate: u32) {
    let now = Instant::now();
    let per_sec = f64::from(rate) / 60.0;
    b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec).min(f64::from(rate));
    b.at = now;
}

/// A hashing thread: takes jobs until the guard is dropped, reusing one
/// buffer of Argon2 memory for all of them.
fn hash_worker(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match lock(rx).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        match job {
            Job::Verify {
                password,
                hash,
                reply,
            } => {
                let _ = reply.send(verify_with(&mut memory, password.as_bytes(), &hash));
            }
            Job::Dummy { password, reply } => {
                let params = Params::default();
                let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
                let _ = compute(
                    &mut memory,
                    Algorithm::default(),
                    Version::default(),
                    params,
                    password.as_bytes(),
                    b"platter-dummy-salt",
                    &mut out,
                );
                let _ = reply.send(false);
            }
            Job::Hash { password, reply } => {
                let _ = reply.send(hash_with(&mut memory, password.as_bytes()));
            }
        }
    }
}

fn compute(
    memory: &mut Vec<Block>,
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), String> {
    if params.m_cost() > MAX_BLOCKS {
        return Err(format!(
            "memory cost {} KiB is above the limit",
            params.m_cost()
        ));
    }
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..])
        .map_err(|e| e.to_string())
}

fn verify_with(memory: &mut Vec<Block>, password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if compute(memory, algorithm, version, params, password, salt, &mut out).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|o| o == expected)
}

fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| e.to_string())?;
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(
        memory,
        Algorithm::default(),
        Version::default(),
        params.clone(),
        password,
        salt_bytes,
        &mut out,
    )?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: (&params)
            .try_into()
            .map_err(|e: argon2::password_hash::Error| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_interoperate_with_the_crate() {
        let g = PasswordGuard::new(AuthLimits::default());
        let h = g.hash("s3cret").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(g.verify("s3cret", &h).await.unwrap());
        assert!(!g.verify("other", &h).await.unwrap());
        assert!(!g.verify("s3cret", "not-a-hash").await.unwrap());
        // A hash the argon2 crate made (as older rows hold) verifies too.
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"legacy", &salt)
            .unwrap()
            .to_string();
        assert!(g.verify("legacy", &old).await.unwrap());
        assert!(!g.verify_unknown("legacy").await.unwrap());
    }

    #[test]
    fn locks_after_the_attempts_and_budgets_sources() {
        let g = PasswordGuard::new(AuthLimits {
            lockout_failure_attempts: 3,
            failures_per_minute_per_source: 4,
            ..AuthLimits::default()
        });
        let ip: IpAddr = [10, 1, 2, 3].into();
        assert!(!g.failed("u1", Some(ip)));
        assert!(!g.failed("u1", Some(ip)));
        assert!(!g.is_locked("u1"));
        assert!(g.failed("u1", Some(ip)));
        assert!(g.is_locked("u1"));
        assert!(!g.is_locked("u2"));
        g.clear("u1");
        assert!(!g.is_locked("u1"));
        // Three failures spent three of four tokens.
        assert!(g.check_source(Some(ip)).is_ok());
        g.failed("u3", Some(ip));
        match g.check_source(Some(ip)) {
            Err(DomainError::Overloaded {
                rate_limited: true,
                retry_after,
                ..
            }) => assert!(retry_after >= 1),
            other => panic!("expected a 429, got {other:?}"),
        }
        assert!(g.check_source(Some([10, 9, 9, 9].into())).is_ok());
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_not_queued() {
        let g = Arc::new(PasswordGuard::new(AuthLimits {
            hash_threads: 1,
            hash_queue: 1,
            hash_wait: Duration::from_secs(30),
            ..AuthLimits::default()
        }));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let g = g.clone();
            tasks.push(tokio::spawn(async move { g.verify_unknown("x").await }));
        }
        let mut busy = 0;
        for t in tasks {
            if let Err(DomainError::Overloaded {
                rate_limited: false,
                ..
            }) = t.await.unwrap()
            {
                busy += 1;
            }
        }
        assert!(busy >= 1, "some of 8 logins over a queue of 1 are refused");
    }
}
