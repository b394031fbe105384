//! Published verification material: the signed trust list and revocation status list.

use crate::{App, Result, ServiceError};
use exitentry_credentials::{StatusList, sign_status_list, sign_trust_list};

fn keys(app: &App) -> Result<&crate::keys::KeySet> {
    app.keys.as_deref().ok_or(ServiceError::Unavailable {
        code: "keys_not_initialised",
        message: "signing keys are not set up; run `exitentry keys init`".into(),
    })
}

/// The trust list: every signer certificate, signed by the root. The version is the
/// number of signers, which only grows (keys are added by rotation, never replaced).
pub fn trust_list(app: &App) -> Result<String> {
    let keys = keys(app)?;
    let certs: Vec<Vec<u8>> = keys.signers.iter().map(|s| s.cert_der.clone()).collect();
    let root = keys.root_key()?;
    sign_trust_list(certs.len() as u64, app.now().timestamp(), &certs, &root)
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The revocation status list, signed by the current signer: the bit of every credential
/// that was cancelled or revoked is set.
pub async fn status_list(app: &App) -> Result<String> {
    let keys = keys(app)?;
    let mut list = StatusList::new(app.config.credentials.status_list_size);
    list.issued_at = app.now().timestamp();
    let mut conn = app.db.conn().await?;
    for index in exitentry_storage::temporary_permits::ended_indexes(&mut conn).await? {
        let index = u64::try_from(index).map_err(|e| ServiceError::Internal(e.to_string()))?;
        list.set(index)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
    }
    sign_status_list(&list, &keys.current()?).map_err(|e| ServiceError::Internal(e.to_string()))
}
