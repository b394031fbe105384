//! Cancelling after a confirmation, the same for everything a signed-in person may cancel
//! (a booking, an endorsement application, a temporary permit): `GET …/cancel` shows what
//! goes and what follows ([`Confirm::cancel`](super::Confirm::cancel)), `POST …/cancel`
//! cancels and redirects, or shows the confirmation again at its GET address with why not.

use super::actions::conflict;
use crate::AppState;
use crate::error::PageResult;
use crate::extract::context::Cx;
use crate::extract::forms::{Back, CsrfField, CsrfForm};
use axum::extract::{FromRequestParts, Path};
use axum::response::{IntoResponse, Redirect};
use exitentry_services::ServiceError;
use serde::de::DeserializeOwned;

/// One kind of thing its owner cancels; routed as
/// `get(cancel_form::<C>).post(cancel::<C>)`.
pub trait Cancel: 'static {
    /// Whose it is: the extractor of the signed-in session (`Holder`, `Applicant`).
    type Owner: FromRequestParts<AppState> + Send + Sync;
    /// The form the confirmation posts.
    type Form: DeserializeOwned + CsrfField + Send;
    /// The page a refused CSRF token answers for.
    type Back: Back + Send;

    /// The confirmation of cancelling `id` (with why the last try was refused when `cx`
    /// carries it).
    fn confirm(cx: &Cx, owner: &Self::Owner, id: &str) -> impl Future<Output = PageResult> + Send;

    /// Cancels `id`; where to go afterwards.
    fn cancel(
        cx: &Cx,
        owner: &Self::Owner,
        id: &str,
    ) -> impl Future<Output = Result<String, ServiceError>> + Send;

    /// The page an error the confirmation does not show is the error page of.
    fn fails_at(id: &str) -> String;

    /// The errors the confirmation shows: a state that no longer allows cancelling.
    fn shown(e: &ServiceError) -> bool {
        conflict(e)
    }
}

/// `GET …/cancel`: the confirmation.
pub async fn cancel_form<C: Cancel>(cx: Cx, owner: C::Owner, Path(id): Path<String>) -> PageResult {
    C::confirm(&cx, &owner, &id).await
}

/// `POST …/cancel`: cancels and redirects, or shows the confirmation again with why not.
pub async fn cancel<C: Cancel>(
    cx: Cx,
    owner: C::Owner,
    Path(id): Path<String>,
    _: CsrfForm<C::Form, C::Back>,
) -> PageResult {
    match C::cancel(&cx, &owner, &id).await {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(e) if C::shown(&e) => C::confirm(&cx.after(Err(cx.shown(&e))), &owner, &id).await,
        Err(e) => Err(cx.fail(&C::fails_at(&id))(e)),
    }
}
