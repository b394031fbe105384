//! Logs go to standard error: JSON for machines, readable text for people.

use exitentry_config::LogConfig;
use tracing_subscriber::EnvFilter;

pub fn init(c: &LogConfig) {
    // RUST_LOG, when set, wins over the configured filter (handy for one-off debugging).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&c.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if c.format == "json" {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
}
