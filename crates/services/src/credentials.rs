//! The credentials we sign (temporary permits, linkage proofs) and the published
//! verification material: the signed trust list and revocation status list.

use crate::ErrorCode;
use crate::{App, Result, ServiceError};
use chrono::{DateTime, Utc};
use exitentry_credentials::{
    Claims, CredentialBody, CredentialKind, Reason, SigningKey, StatusList, TrustStore, Verdict,
    VerifyOptions, sign_status_list, sign_trust_list, verify,
};
use exitentry_domain::states::{LinkageProofState, TemporaryPermitState};
use exitentry_storage::documents::StoredDocument;
use exitentry_storage::people::StoredPerson;

fn keys(app: &App) -> Result<std::sync::Arc<crate::keys::KeySet>> {
    set_up(app.keys.get())
}

fn set_up(
    keys: Option<std::sync::Arc<crate::keys::KeySet>>,
) -> Result<std::sync::Arc<crate::keys::KeySet>> {
    keys.ok_or(ServiceError::unavailable(
        ErrorCode::KeysNotInitialised,
        "signing keys are not set up; run `exitentry keys init`",
    ))
}

/// The key credentials are signed with now; asked for before any work that would be lost
/// without one.
pub(crate) fn current_signer(app: &App) -> Result<SigningKey> {
    keys(app)?.current()
}

/// A credential about a registered person and one of their documents, before signing:
/// `Draft::new(…).valid(from, until).status_index(i)?.sign(app, &signer)?`.
pub(crate) struct Draft {
    claims: Claims,
    body: CredentialBody,
}

impl Draft {
    /// `kind` numbered `id`, issued now, stating `holder`'s names, birth and sex and the
    /// kind and number of `document`.
    pub(crate) fn new(
        app: &App,
        kind: CredentialKind,
        id: &str,
        holder: &StoredPerson,
        document: &StoredDocument,
    ) -> Draft {
        let now = app.now().timestamp();
        Draft {
            claims: Claims {
                iss: app.config.credentials.issuer.clone(),
                iat: now,
                nbf: now,
                exp: now,
                cti: id.as_bytes().to_vec(),
                body: None,
            },
            body: CredentialBody {
                kind,
                holder_name_zh: holder.person.names.zh.clone(),
                holder_name_latin: holder.person.names.latin.clone(),
                date_of_birth: holder.person.date_of_birth.to_string(),
                sex: holder.person.sex.code().to_string(),
                document_kind: document.doc.kind.code().to_string(),
                document_number: document.doc.number.clone(),
                permitted_uses: Vec::new(),
                status_index: 0,
                linked_document_number: None,
            },
        }
    }

    pub(crate) fn valid(mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> Draft {
        self.claims.nbf = from.timestamp();
        self.claims.exp = until.timestamp();
        self
    }

    /// Its bit in the revocation status list.
    pub(crate) fn status_index(mut self, index: i64) -> Result<Draft> {
        self.body.status_index =
            u64::try_from(index).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(self)
    }

    pub(crate) fn uses(mut self, uses: &[&str]) -> Draft {
        self.body.permitted_uses = uses.iter().map(|u| u.to_string()).collect();
        self
    }

    /// The residence permit a linkage proof ties the document to.
    pub(crate) fn linked_to(mut self, number: &str) -> Draft {
        self.body.linked_document_number = Some(number.to_string());
        self
    }

    /// The payload the holder shows and a verifier reads.
    pub(crate) fn sign(mut self, app: &App, signer: &SigningKey) -> Result<String> {
        self.claims.body = Some(self.body);
        exitentry_credentials::issue(signer, &self.claims, &app.config.credentials.prefix)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

/// The trust list: every signer certificate in service, signed by the root. Published keys
/// come with the list their root signed (its version grows with each rotation and
/// retirement): the same bytes from every node. Keys in a folder only are listed as
/// version = the number of signers.
pub fn trust_list(app: &App) -> Result<String> {
    let keys = keys(app)?;
    if let Some(doc) = &keys.trust_list {
        return Ok(doc.clone());
    }
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
    let mut ended = exitentry_storage::temporary_permits::ended_indexes(&mut conn).await?;
    ended.extend(exitentry_storage::linkage_proofs::ended_indexes(&mut conn).await?);
    for index in ended {
        let index = u64::try_from(index).map_err(|e| ServiceError::Internal(e.to_string()))?;
        list.set(index)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
    }
    sign_status_list(&list, &keys.current()?).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The online check used by relying parties: signature against this platform's signers,
/// validity now, revocation read live from the database (not the published list, which a
/// verifier may hold for a while), then the use asked about.
pub async fn check_live(app: &App, payload: &str, required_use: Option<&str>) -> Result<Verdict> {
    // The signers as published now: one retired anywhere is refused from its commit on.
    let keys = set_up(crate::keys::up_to_date(app).await?)?;
    let mut trust = TrustStore::new();
    for s in &keys.signers {
        trust
            .add_cert_der(&s.cert_der)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
    }
    let mut opts = VerifyOptions::at(app.now().timestamp());
    opts.prefix = &app.config.credentials.prefix;
    opts.required_use = required_use;
    let mut v = verify(payload, &trust, &opts);
    let authentic_and_current = matches!(v.reason, Reason::Valid | Reason::WrongUse);
    if authentic_and_current
        && let Some(claims) = &v.claims
        && matches!(
            v.kind,
            CredentialKind::TemporaryPermit | CredentialKind::LinkageProof
        )
    {
        let id = String::from_utf8_lossy(&claims.cti).into_owned();
        let mut conn = app.db.conn().await?;
        // Cancelled or revoked since it was issued (or unknown here): refused.
        let live = if v.kind == CredentialKind::TemporaryPermit {
            exitentry_storage::temporary_permits::permit(&mut conn, &id)
                .await?
                .is_some_and(|p| p.status == TemporaryPermitState::Valid)
        } else {
            exitentry_storage::linkage_proofs::get(&mut conn, &id)
                .await?
                .is_some_and(|p| p.status == LinkageProofState::Valid)
        };
        if !live {
            v.valid = false;
            v.reason = Reason::Revoked;
        }
    }
    Ok(v)
}

/// The root certificate (DER) that verifiers pin; the offline verifier page carries it.
pub fn root_certificate(app: &App) -> Result<Vec<u8>> {
    Ok(keys(app)?.root.cert_der.clone())
}
