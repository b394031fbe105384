//! Relying-party lookups gathered: the checks that arrive while the lookups in flight run
//! are answered together by the next one (all their numbers and keys in one read). Under
//! load the database then works per gathering instead of per check; a quiet node still
//! reads each check alone, at once. Every check is answered by a read that started after it
//! arrived, so no answer is older than the database.

use super::columns::Holding;
use crate::{Result, StorageError};
use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Numbers read at once at most (more checks wait for the next read).
const MOST_NUMBERS: usize = 2_000;

/// Where gathered lookups are read: the live keys among `keys`, and the documents under
/// `numbers` with their holders, as of one moment.
pub(super) trait Source: Send + Sync + 'static {
    fn read(
        &self,
        numbers: Vec<String>,
        keys: Vec<String>,
    ) -> impl Future<Output = Result<(Vec<String>, Vec<Holding>)>> + Send;

    /// Closes what the reads hold open (a read after this fails).
    fn close(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Closing a gatherer's source, whatever it is.
type Close = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// One check's lookup waiting to be gathered.
struct Ask {
    /// Each number once.
    numbers: Vec<String>,
    key: Option<String>,
    answer: oneshot::Sender<Result<Option<Vec<Holding>>>>,
}

/// The queue of checks waiting for a read.
pub(crate) struct Gatherer {
    asks: mpsc::UnboundedSender<Ask>,
    /// Closes the reads' own connections with the database (PostgreSQL).
    close: Close,
}

impl Gatherer {
    /// Starts gathering on the current runtime, with at most `in_flight` reads at once.
    pub(super) fn start(source: impl Source, in_flight: usize) -> Self {
        let (asks, queue) = mpsc::unbounded_channel();
        let source = Arc::new(source);
        let closing = source.clone();
        let close: Close = Box::new(move || {
            let source = closing.clone();
            Box::pin(async move { source.close().await })
        });
        tokio::spawn(gather(source, queue, in_flight));
        Gatherer { asks, close }
    }

    /// Closes the reads' own connections; a check after this fails.
    pub(crate) async fn close(&self) {
        (self.close)().await;
    }

    /// The documents under the numbers; `None` when `key` is given and not live.
    pub(crate) async fn check(
        &self,
        numbers: &[&str],
        key: Option<&str>,
    ) -> Result<Option<Vec<Holding>>> {
        let (answer, answered) = oneshot::channel();
        let mut own: Vec<String> = Vec::with_capacity(numbers.len());
        for n in numbers {
            if !own.iter().any(|o| o == n) {
                own.push(n.to_string());
            }
        }
        let ask = Ask {
            numbers: own,
            key: key.map(str::to_string),
            answer,
        };
        if self.asks.send(ask).is_err() {
            return Err(gone());
        }
        answered.await.unwrap_or_else(|_| Err(gone()))
    }
}

/// The gatherer stopped (its runtime is shutting down).
fn gone() -> StorageError {
    StorageError::Database(sqlx::Error::PoolClosed)
}

async fn gather<S: Source>(
    source: Arc<S>,
    mut queue: mpsc::UnboundedReceiver<Ask>,
    in_flight: usize,
) {
    let free = Arc::new(Semaphore::new(in_flight));
    while let Some(first) = queue.recv().await {
        // Wait for a free read first: the checks arriving meanwhile join this one.
        let Ok(slot) = free.clone().acquire_owned().await else {
            return;
        };
        let mut numbers = first.numbers.len();
        let mut asks = vec![first];
        while numbers < MOST_NUMBERS
            && let Ok(ask) = queue.try_recv()
        {
            numbers += ask.numbers.len();
            asks.push(ask);
        }
        let source = source.clone();
        tokio::spawn(async move {
            answer(&*source, asks).await;
            drop(slot);
        });
    }
}

/// Reads the documents and keys of all `asks` at once and answers each with its own.
async fn answer(source: &impl Source, asks: Vec<Ask>) {
    let numbers: HashSet<&String> = asks.iter().flat_map(|a| &a.numbers).collect();
    let keys: HashSet<&String> = asks.iter().filter_map(|a| a.key.as_ref()).collect();
    let numbers = numbers.into_iter().cloned().collect();
    let keys = keys.into_iter().cloned().collect();
    let read = source.read(numbers, keys).await;
    // What each check asked, apart from where its answer goes (which is used up).
    let (wants, answers): (Vec<_>, Vec<_>) = asks
        .into_iter()
        .map(|a| ((a.numbers, a.key), a.answer))
        .unzip();
    match read {
        Ok((live, found)) => {
            let wants: Vec<Option<&Vec<String>>> = wants
                .iter()
                .map(|(numbers, key)| match key {
                    Some(k) if !live.contains(k) => None,
                    _ => Some(numbers),
                })
                .collect();
            // How many checks want each number: the last one takes its documents, the others
            // get copies (a number is almost always asked once).
            let mut demand: HashMap<&str, usize> = HashMap::new();
            for n in wants.iter().flatten().copied().flatten() {
                *demand.entry(n).or_default() += 1;
            }
            // Batches ask for hundreds of numbers: look each up, do not scan.
            let mut under: HashMap<&str, Vec<Holding>> = HashMap::with_capacity(found.len());
            for h in found {
                if let Some((&n, _)) = demand.get_key_value(h.number.as_str()) {
                    under.entry(n).or_default().push(h);
                }
            }
            for (want, answer) in wants.into_iter().zip(answers) {
                let Some(numbers) = want else {
                    let _ = answer.send(Ok(None));
                    continue;
                };
                let mut mine = Vec::new();
                for n in numbers {
                    let left = demand.get_mut(n.as_str()).map(|left| {
                        *left -= 1;
                        *left
                    });
                    match left {
                        Some(0) => mine.extend(under.remove(n.as_str()).unwrap_or_default()),
                        _ => mine.extend(under.get(n.as_str()).into_iter().flatten().cloned()),
                    }
                }
                let _ = answer.send(Ok(Some(mine)));
            }
        }
        Err(e) => {
            // The first check gets the error itself, the others its words.
            let said = e.to_string();
            let mut error = Some(e);
            for answer in answers {
                let e = error
                    .take()
                    .unwrap_or_else(|| StorageError::Database(sqlx::Error::Protocol(said.clone())));
                let _ = answer.send(Err(e));
            }
        }
    }
}
