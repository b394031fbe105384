//! The record of every check, written off the request path: handlers hand records to a
//! background writer that stores them in batches. What is in the channel when the process
//! dies is lost (at most the checks of the last moment; see docs/VERIFICATION.md).

use exitentry_storage::Db;
use exitentry_storage::check_log::LogRecord;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

enum Msg {
    Record(LogRecord),
    Flush(oneshot::Sender<()>),
}

pub struct UsageLog {
    tx: mpsc::UnboundedSender<Msg>,
    /// Cuts the writer's linger short for a flush.
    flush_now: Arc<Notify>,
    /// Keys the hash under which a checked document is logged (`security.log_hash_secret`):
    /// set up once, not per check.
    subject_key: ring::hmac::Key,
}

/// Records written per transaction at most (the writer drains what has queued up).
const MAX_BATCH: usize = 20_000;

impl UsageLog {
    /// Starts the writer on the current tokio runtime; `None` outside one (commands that
    /// never verify anything).
    pub fn start(db: Db, log_hash_secret: &str) -> Option<Self> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let flush_now = Arc::new(Notify::new());
        handle.spawn(writer(db, rx, flush_now.clone()));
        let subject_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, log_hash_secret.as_bytes());
        Some(UsageLog {
            tx,
            flush_now,
            subject_key,
        })
    }

    /// The keyed hash under which a document number is logged: lets staff count repeated
    /// checks of one document without the log holding the number itself.
    pub fn subject_hash(&self, subject: &str) -> String {
        hex::encode(&ring::hmac::sign(&self.subject_key, subject.as_bytes()).as_ref()[..16])
    }

    pub fn record(&self, r: LogRecord) {
        let _ = self.tx.send(Msg::Record(r));
    }

    /// Waits until everything recorded so far is stored (tests, graceful shutdown).
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            self.flush_now.notify_one();
            let _ = done.await;
        }
    }
}

/// How long the writer gathers records before storing them. Every write to a SQLite file makes
/// each reader drop its cached and mapped pages at its next read: writing as records arrived
/// (hundreds of times a second under load) cost the lookups over half their time in the kernel.
/// Not much longer either: a quarter-second's records (4,000 under load) took one blocking
/// thread for tens of milliseconds at a time, and the checks answered meanwhile made the tail.
const LINGER: Duration = Duration::from_millis(50);

async fn writer(db: Db, mut rx: mpsc::UnboundedReceiver<Msg>, flush_now: Arc<Notify>) {
    let mut store = db.check_log_store();
    while let Some(first) = rx.recv().await {
        // Sleep out the linger, then take what came: waking for every record cost the
        // request path a thread wake-up per check.
        if matches!(first, Msg::Record(_)) {
            tokio::select! {
                () = tokio::time::sleep_until(Instant::now() + LINGER) => {}
                () = flush_now.notified() => {}
            }
        }
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Record(r) => batch.push(r),
                Msg::Flush(a) => acks.push(a),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            // One transaction: one change for the SQLite readers to notice, not one per
            // statement.
            let lost = batch.len();
            if let Err(e) = store.store(batch).await {
                tracing::error!(error = %e, lost, "verification records not stored");
            }
        }
        for a in acks {
            let _ = a.send(());
        }
    }
}
