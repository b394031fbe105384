//! Staff roles and what each may do. The one table of permissions: pages and APIs ask
//! `role.can(permission)`, never compare role names.

use crate::ErrorCode;
use crate::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Reviewer,
    Approver,
    CounterClerk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Search people and documents, open a person's page.
    SearchRegistry,
    /// Create and list staff accounts.
    ManageStaff,
    /// Read the audit log.
    ViewAudit,
    /// List issued temporary e-permits and read their trail.
    ViewTemporaryPermits,
    /// Revoke a temporary e-permit (with a reason).
    RevokeTemporaryPermits,
    /// Print a paper linkage proof for a holder at the counter.
    PrintLinkageProofs,
    /// Slot templates, the calendar, devices and the office measures.
    ManageCentre,
    /// Work in the building: photo station, queue, counter acceptance and payment.
    ServeCounter,
    /// Mark processing done so a document can be collected; see uncollected documents.
    ProcessApplications,
    /// Confirm or reject what an applicant declared (the relative of a family visit).
    ReviewEndorsements,
    /// Record that a person is registered state personnel (no online endorsements).
    RegisterStatePersonnel,
    /// See jobs the queue gave up on (undelivered email and SMS) and queue them again.
    ManageJobs,
    /// Review online pre-applications: claim, approve, ask for supplements, reject.
    ReviewPreApplications,
    /// Record where a person's household registration is now, from the hukou booklet.
    RecordHukou,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::Reviewer,
        Role::Approver,
        Role::CounterClerk,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Approver => "approver",
            Role::CounterClerk => "counter_clerk",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadRole,
                    format!("role must be admin, reviewer, approver or counter_clerk, not {s:?}"),
                )
            })
    }

    /// Least privilege: officers who handle cases search the registry; only admins
    /// manage accounts and read the audit log.
    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            SearchRegistry => matches!(self, Admin | Reviewer | Approver | CounterClerk),
            ManageStaff | ViewAudit => matches!(self, Admin),
            ViewTemporaryPermits => matches!(self, Admin | Reviewer | Approver),
            // Revocation takes a traveller's document away: approvers and admins only.
            RevokeTemporaryPermits => matches!(self, Admin | Approver),
            // Paper proofs are handed over at the counter, with both documents in hand.
            PrintLinkageProofs => matches!(self, Admin | CounterClerk),
            ManageCentre => matches!(self, Admin),
            ServeCounter => matches!(self, Admin | CounterClerk),
            // Processing happens in the back office, after the counter took the money.
            ProcessApplications => matches!(self, Admin | Approver),
            // Checking declared relations is the reviewers' work, not the counter's.
            ReviewEndorsements => matches!(self, Admin | Reviewer),
            // The register comes from the units' personnel departments, entered by admins.
            RegisterStatePersonnel => matches!(self, Admin),
            // Failed jobs show recipients and errors of every journey: administrators only.
            ManageJobs => matches!(self, Admin),
            ReviewPreApplications => matches!(self, Admin | Reviewer),
            // The counter sees the hukou booklet with the application; admins correct records.
            RecordHukou => matches!(self, Admin | CounterClerk),
        }
    }
}

/// Usernames: 3–32 lower-case ASCII letters, digits, `.`, `_` or `-`.
pub fn parse_username(s: &str) -> Result<String, Invalid> {
    let s = s.trim().to_ascii_lowercase();
    let ok = (3..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(s)
    } else {
        Err(Invalid::new(
            ErrorCode::BadUsername,
            "a username is 3-32 letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Passwords: at least 10 characters; at most 256 so hashing cannot be used to burn CPU.
pub fn check_password_strength(p: &str) -> Result<(), Invalid> {
    let n = p.chars().count();
    if n < 10 {
        return Err(Invalid::new(
            ErrorCode::WeakPassword,
            "a password needs at least 10 characters",
        ));
    }
    if n > 256 {
        return Err(Invalid::new(
            ErrorCode::PasswordTooLong,
            "a password may have at most 256 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_see_and_retry_failed_jobs() {
        for r in Role::ALL {
            assert_eq!(r.can(Permission::ManageJobs), r == Role::Admin, "{r:?}");
        }
    }

    #[test]
    fn only_admins_manage_staff_and_read_audit() {
        for r in Role::ALL {
            assert!(r.can(Permission::SearchRegistry));
            assert_eq!(r.can(Permission::ManageStaff), r == Role::Admin);
            assert_eq!(r.can(Permission::ViewAudit), r == Role::Admin);
        }
    }

    #[test]
    fn counter_clerks_never_see_temporary_permits_and_only_approvers_and_admins_revoke() {
        for r in Role::ALL {
            assert_eq!(
                r.can(Permission::ViewTemporaryPermits),
                r != Role::CounterClerk
            );
            assert_eq!(
                r.can(Permission::RevokeTemporaryPermits),
                matches!(r, Role::Admin | Role::Approver)
            );
        }
    }

    #[test]
    fn roles_round_trip_and_reject_unknown() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()).unwrap(), r);
        }
        assert_eq!(Role::parse("root").unwrap_err().code, "bad_role");
    }

    #[test]
    fn usernames_and_passwords() {
        assert_eq!(parse_username(" Officer.Li ").unwrap(), "officer.li");
        for bad in ["ab", "has space", "名字", &"x".repeat(33)] {
            assert_eq!(
                parse_username(bad).unwrap_err().code,
                "bad_username",
                "{bad}"
            );
        }
        assert_eq!(
            check_password_strength("short").unwrap_err().code,
            "weak_password"
        );
        assert!(check_password_strength("long enough pw").is_ok());
        assert_eq!(
            check_password_strength(&"x".repeat(257)).unwrap_err().code,
            "password_too_long"
        );
    }
}
