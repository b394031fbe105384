//! `exitentry import …`: reads a CSV file, prints a summary, writes the problem report.

use crate::ImportWhat;
use anyhow::{Context, Result};
use exitentry_services::App;
use exitentry_services::import::{self, ImportKind, ImportOptions, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The CSV file (header row required).
    pub file: PathBuf,
    /// Write problems as row,column,code,message to this file instead of standard error.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Import the valid rows even when others are invalid.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// A terminal progress bar; silent when standard error is not a terminal.
struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn inc(&self, bytes: u64) {
        if let Some(b) = &self.0 {
            b.inc(bytes);
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

pub async fn run(app: &App, what: &ImportWhat) -> Result<ExitCode> {
    let (kind, args) = match what {
        ImportWhat::Offices(a) => (ImportKind::Offices, a),
        ImportWhat::People(a) => (ImportKind::People, a),
        ImportWhat::Documents(a) => (ImportKind::Documents, a),
        ImportWhat::Endorsements(a) => (ImportKind::Endorsements, a),
        ImportWhat::Sample { .. } => unreachable!("handled before opening the database"),
    };
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(len);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:20} [{bar:40}] {percent:>3}% {elapsed}")
        {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_message(format!("importing {}", kind.name()));
        b
    });
    let opts = ImportOptions {
        skip_invalid: args.skip_invalid,
        actor: format!("cli:import:{}", kind.name()),
    };
    let started = Instant::now();
    let s = import::run(app, kind, file, &opts, &Bar(bar)).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}: {} rows, {} inserted, {} updated, {} unchanged, {} invalid rows{} ({secs:.1} s)",
        args.file.display(),
        s.rows,
        s.inserted,
        s.updated,
        s.unchanged,
        s.skipped,
        if s.problems.is_empty() || s.committed {
            ""
        } else {
            ", nothing imported"
        },
    );
    if s.problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    match &args.report {
        Some(path) => {
            std::fs::write(path, s.report_csv())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "{} problems written to {}",
                s.problems.len(),
                path.display()
            );
        }
        None => eprint!("{}", s.report_csv()),
    }
    Ok(ExitCode::from(1))
}

/// Writes generated people.csv and documents.csv (valid by construction) to `dir`.
pub fn sample(people: usize, dir: &Path, seed: u64) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let today = chrono::Utc::now().date_naive();
    let files = exitentry_demo::generate(
        seed,
        people,
        today,
        &exitentry_domain::policy::Policy::builtin(),
        &[],
    );
    std::fs::write(dir.join("people.csv"), &files.people_csv)?;
    std::fs::write(dir.join("documents.csv"), &files.documents_csv)?;
    println!(
        "wrote {} people and {} documents to {}",
        files.people,
        files.documents,
        dir.display()
    );
    Ok(())
}
