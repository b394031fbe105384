//! The showcase holder the walk-throughs use (陳大文, H12345678).

use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::DocumentKind;

/// The expiry date of the showcase home return permit (H12345678, 陳大文, male), which
/// the temporary e-permit journey asks for; `None` if the registry does not hold it.
pub async fn showcase_permit_expiry(
    app: &exitentry_services::App,
) -> exitentry_services::Result<Option<NaiveDate>> {
    let mut conn = app.db.conn().await?;
    let docs = exitentry_storage::documents::by_number(&mut conn, "H12345678").await?;
    Ok(docs
        .iter()
        .filter(|(d, _)| d.doc.kind == DocumentKind::Hrp && d.doc.status == DocumentStatus::Valid)
        .map(|(d, _)| d.doc.expires_on)
        .max())
}

/// The showcase holder's residence permit number (for the linkage-proof walk-through).
pub async fn showcase_residence_permit(
    app: &exitentry_services::App,
) -> exitentry_services::Result<Option<String>> {
    let mut conn = app.db.conn().await?;
    let Some((_, person)) = exitentry_storage::documents::by_number(&mut conn, "H12345678")
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    Ok(
        exitentry_storage::documents::for_person(&mut conn, person.id)
            .await?
            .into_iter()
            .find(|d| {
                d.doc.kind == DocumentKind::ResidencePermit && d.doc.status == DocumentStatus::Valid
            })
            .map(|d| d.doc.number),
    )
}
