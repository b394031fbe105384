//! `exitentry slots …` and `exitentry devices …`: service-centre operations.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Subcommand;
use exitentry_services::{App, appointments, centre};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum SlotsWhat {
    /// Open slots from the office's weekly template (or, when none is set, from its opening
    /// hours, slots as long as the service, one place per counter).
    Open {
        #[arg(long)]
        office: String,
        /// e.g. eep_application, endorsement, hrp_non_chinese, linkage_proof_paper, collection.
        #[arg(long)]
        service: String,
        /// First day, YYYY-MM-DD (Beijing).
        #[arg(long)]
        from: NaiveDate,
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// Places per slot (default: the template's, or the office's counters).
        #[arg(long)]
        capacity: Option<u32>,
    },
}

#[derive(Subcommand)]
pub enum DevicesWhat {
    /// Register a kiosk or ticket printer at an office; its token is printed once, alone on
    /// the last line, to be entered on the machine at /kiosk.
    Create {
        #[arg(long)]
        office: String,
        #[arg(long)]
        name: String,
        /// kiosk or ticket_printer.
        #[arg(long, default_value = "kiosk")]
        kind: String,
    },
    /// Disable a device: its next request is refused.
    Disable { name: String },
}

fn fail(e: exitentry_services::ServiceError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e, e.code())
}

pub async fn slots(app: &App, what: &SlotsWhat) -> Result<ExitCode> {
    match what {
        SlotsWhat::Open {
            office,
            service,
            from,
            days,
            capacity,
        } => {
            let o = appointments::open_slots(app, "cli", office, service, *from, *days, *capacity)
                .await
                .map_err(fail)?;
            println!(
                "opened {} new slots for {} at {} from {} ({} days)",
                o.opened, o.service, o.office_code, o.from, o.days
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn devices(app: &App, what: &DevicesWhat) -> Result<ExitCode> {
    match what {
        DevicesWhat::Create { office, name, kind } => {
            let (d, token) = centre::create_device(app, "cli", office, name, kind)
                .await
                .map_err(fail)?;
            println!("created {} {} at {}", d.kind, d.name, d.office_code);
            println!("device token (shown once; enter it on the machine at /kiosk):");
            println!("{token}");
        }
        DevicesWhat::Disable { name } => {
            centre::set_device_disabled(app, "cli", name, true)
                .await
                .map_err(fail)?;
            println!("disabled {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum PaymentsWhat {
    /// The day's orders of one provider (paid, refunded, pending, failed, totals) as JSON, to
    /// compare with the provider's settlement file; `counter` holds the same provider's
    /// payments at the counters' terminals.
    Reconcile {
        /// unionpay, yang_cheng_tong, alipay or wechat_pay.
        #[arg(long)]
        provider: String,
        /// YYYY-MM-DD (Beijing).
        #[arg(long)]
        day: NaiveDate,
    },
}

pub async fn payments(app: &App, what: &PaymentsWhat) -> Result<ExitCode> {
    match what {
        PaymentsWhat::Reconcile { provider, day } => {
            use exitentry_services::online_payments::reconciliation;
            let r = reconciliation(app, provider, *day).await.map_err(fail)?;
            let mut out = serde_json::to_value(&r)?;
            // The same provider's money taken by the counters' terminals settles in the same
            // file: shown next to the online orders.
            if !provider.starts_with("terminal:")
                && let Some(o) = out.as_object_mut()
            {
                let counter = reconciliation(app, &format!("terminal:{provider}"), *day)
                    .await
                    .map_err(fail)?;
                o.insert("counter".into(), serde_json::to_value(&counter)?);
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum PeopleWhat {
    /// Mark a person as registered state personnel (they apply for endorsements through their
    /// unit, not online); `--off` removes the mark.
    StatePersonnel {
        /// The person's identity number.
        id_number: String,
        #[arg(long)]
        off: bool,
    },
}

pub async fn people(app: &App, what: &PeopleWhat) -> Result<ExitCode> {
    match what {
        PeopleWhat::StatePersonnel { id_number, off } => {
            exitentry_services::endorsement_applications::set_state_personnel(
                app, "cli", id_number, !off,
            )
            .await
            .map_err(fail)?;
            println!(
                "{id_number}: {}",
                if *off {
                    "not state personnel"
                } else {
                    "state personnel"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
