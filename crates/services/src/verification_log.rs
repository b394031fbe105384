//! The record of every check, written off the request path: handlers hand records to a
//! background writer that stores them in batches. What is in the channel when the process
//! dies is lost (at most the checks of the last moment; see docs/VERIFICATION.md).

use exitentry_storage::Db;
use exitentry_storage::partners::{self, LogRecord};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

enum Msg {
    Record(LogRecord),
    Flush(oneshot::Sender<()>),
}

pub struct UsageLog {
    tx: mpsc::UnboundedSender<Msg>,
    /// Keys the hash under which a checked document is logged (`security.log_hash_secret`):
    /// set up once, not per check.
    subject_key: ring::hmac::Key,
}

/// Records written per statement batch at most (the writer drains what has queued up).
const MAX_BATCH: usize = 2_000;

impl UsageLog {
    /// Starts the writer on the current tokio runtime; `None` outside one (commands that
    /// never verify anything).
    pub fn start(db: Db, log_hash_secret: &str) -> Option<Self> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = mpsc::unbounded_channel();
        handle.spawn(writer(db, rx));
        let subject_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, log_hash_secret.as_bytes());
        Some(UsageLog { tx, subject_key })
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
            let _ = done.await;
        }
    }
}

/// How long the writer gathers records before storing them. Every write to a SQLite file makes
/// each reader drop its cached and mapped pages at its next read: writing as records arrived
/// (hundreds of times a second under load) cost the lookups over half their time in the kernel.
const LINGER: Duration = Duration::from_millis(250);

async fn writer(db: Db, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.recv().await {
        let until = Instant::now() + LINGER;
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Record(r) => batch.push(r),
                Msg::Flush(a) => acks.push(a),
            }
            // A flush is waited for: store at once. Otherwise until the batch is full or
            // the linger is over (or the sender is gone).
            if acks.is_empty() && batch.len() < MAX_BATCH {
                next = tokio::time::timeout_at(until, rx.recv())
                    .await
                    .ok()
                    .flatten();
            }
        }
        if !batch.is_empty() {
            let stored = async {
                let mut conn = db.conn().await?;
                partners::insert_log(&mut conn, &batch).await
            }
            .await;
            if let Err(e) = stored {
                tracing::error!(error = %e, lost = batch.len(), "verification records not stored");
            }
        }
        for a in acks {
            let _ = a.send(());
        }
    }
}
