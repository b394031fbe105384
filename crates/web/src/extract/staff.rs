//! Staff pages that need a permission say so in their signature: `StaffWith<need::P>` is the
//! signed-in staff member whose role has `P`, checked before any form is read.

use super::forms::{Back, Here};
use crate::AppState;
use crate::error::PageError;
use crate::i18n::Lang;
use crate::session::Staff;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use exitentry_domain::staff::Permission;
use exitentry_services::auth::StaffSession;
use std::marker::PhantomData;

/// A permission a staff page needs, as a type: `StaffWith<need::ServeCounter>`.
pub trait Need {
    const PERMISSION: Permission;
}

/// One marker type per permission (the whole table, used by a page or not yet).
#[allow(dead_code)]
pub mod need {
    use super::{Need, Permission};

    macro_rules! needs {
        ($($p:ident),* $(,)?) => {
            $(
                pub struct $p;
                impl Need for $p {
                    const PERMISSION: Permission = Permission::$p;
                }
            )*
        };
    }

    needs!(
        SearchRegistry,
        ManageStaff,
        ViewAudit,
        ViewTemporaryPermits,
        RevokeTemporaryPermits,
        PrintLinkageProofs,
        ManageCentre,
        ServeCounter,
        ProcessApplications,
        ReviewEndorsements,
        RegisterStatePersonnel,
        ManageJobs,
        ReviewPreApplications,
        RecordHukou,
    );
}

/// A signed-in staff member whose role has the permission `P` (checked before the form is
/// read); anonymous visitors are sent to sign in, others get the 403 page for `B`.
pub struct StaffWith<P, B = Here>(pub StaffSession, pub PhantomData<(P, B)>);

impl<P, B> FromRequestParts<AppState> for StaffWith<P, B>
where
    P: Need + Send,
    B: Back + Send,
{
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Staff(staff) = Staff::from_request_parts(parts, state).await?;
        if let Err(e) = staff.require(P::PERMISSION) {
            let path = match parts.extensions.get::<OriginalUri>() {
                Some(u) => u.0.path().to_string(),
                None => parts.uri.path().to_string(),
            };
            return Err(PageError::at(
                Lang::from_headers(&parts.headers),
                &B::path(&path),
            )(e));
        }
        Ok(StaffWith(staff, PhantomData))
    }
}
