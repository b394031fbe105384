//! The one list of error codes: every stable code an answer of the API or a page can carry,
//! and every code a validation ([`crate::Invalid`]) or an import report can name.
//!
//! A code is published once it is here: the JSON API answers it as `error.code`, pages look up
//! its message as `err-<code>` in each language (`web/locales/*/main.ftl`; a test there fails
//! for a code without a message), and the OpenAPI document lists them all. Never rename a
//! code's string; to add one, add a line here and its message in the three languages.

use std::fmt;

macro_rules! error_codes {
    ($($(#[$meta:meta])* $variant:ident = $code:literal,)*) => {
        /// A stable error code. Serialized (and shown to machines) as its snake_case string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$meta])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of this file.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as published, e.g. `bad_check_digit`.
            pub const fn code(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The code for a published string, if it is one of ours.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s {
                    $($code => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    // General answers
    AccountLocked = "account_locked",
    BadCredentials = "bad_credentials",
    Conflict = "conflict",
    Forbidden = "forbidden",
    Internal = "internal",
    NotFound = "not_found",
    RateLimited = "rate_limited",
    Unauthenticated = "unauthenticated",
    // Requests the framework or the API cannot read
    BadAction = "bad_action",
    BadBatchSize = "bad_batch_size",
    BadForm = "bad_form",
    BadJson = "bad_json",
    BadNdjson = "bad_ndjson",
    BadQueryString = "bad_query_string",
    BadRequest = "bad_request",
    InvalidBody = "invalid_body",
    MethodNotAllowed = "method_not_allowed",
    PayloadTooLarge = "payload_too_large",
    UnsupportedMediaType = "unsupported_media_type",
    UriTooLong = "uri_too_long",
    // People, names and identity numbers
    BadBirthDate = "bad_birth_date",
    BadCheckDigit = "bad_check_digit",
    BadFormat = "bad_format",
    BadHukouArea = "bad_hukou_area",
    BadIdKind = "bad_id_kind",
    BadName = "bad_name",
    BadNationality = "bad_nationality",
    BadProvince = "bad_province",
    BadRegionPrefix = "bad_region_prefix",
    BadSex = "bad_sex",
    BirthDateMismatch = "birth_date_mismatch",
    FutureBirthDate = "future_birth_date",
    MissingLatinName = "missing_latin_name",
    NameTooLong = "name_too_long",
    RegionMismatch = "region_mismatch",
    SexMismatch = "sex_mismatch",
    // Documents, their numbers and policy
    BadDate = "bad_date",
    BadDocumentKind = "bad_document_kind",
    BadIssueCount = "bad_issue_count",
    BadStatus = "bad_status",
    BookletAfterVoidDate = "booklet_after_void_date",
    ExpiryBeforeIssue = "expiry_before_issue",
    IssuedInFuture = "issued_in_future",
    NoFeeOnDate = "no_fee_on_date",
    NotAvailableOnDate = "not_available_on_date",
    StatusConflict = "status_conflict",
    UnexpectedIssueCount = "unexpected_issue_count",
    ValidityTooLong = "validity_too_long",
    // Offices and staff
    BadCalendar = "bad_calendar",
    BadLevel = "bad_level",
    BadOfficeCode = "bad_office_code",
    BadRole = "bad_role",
    BadService = "bad_service",
    BadUsername = "bad_username",
    PasswordTooLong = "password_too_long",
    UnknownOffice = "unknown_office",
    UsernameTaken = "username_taken",
    WeakPassword = "weak_password",
    // Registry search and import
    BadEncoding = "bad_encoding",
    BadFlag = "bad_flag",
    BadHeader = "bad_header",
    BadNumber = "bad_number",
    BadQuery = "bad_query",
    BadRow = "bad_row",
    BadRowLength = "bad_row_length",
    BadValue = "bad_value",
    ConflictsWithRegistry = "conflicts_with_registry",
    DuplicateInFile = "duplicate_in_file",
    EndsBeforeStart = "ends_before_start",
    HolderRegionMismatch = "holder_region_mismatch",
    HukouNotMainland = "hukou_not_mainland",
    HukouReasonRequired = "hukou_reason_required",
    IdentityTaken = "identity_taken",
    IdKindRegionMismatch = "id_kind_region_mismatch",
    MissingColumn = "missing_column",
    MissingValue = "missing_value",
    NationalityMismatch = "nationality_mismatch",
    NationalityRegionMismatch = "nationality_region_mismatch",
    NumberTaken = "number_taken",
    OutsidePermitValidity = "outside_permit_validity",
    ServiceNotAtLevel = "service_not_at_level",
    UnknownColumn = "unknown_column",
    UnknownPermit = "unknown_permit",
    UnknownPerson = "unknown_person",
    // Signing keys, email and outside providers
    BadEmail = "bad_email",
    EmailNotConfigured = "email_not_configured",
    EmailUnavailable = "email_unavailable",
    FaceProviderNotConfigured = "face_provider_not_configured",
    JobNotFailed = "job_not_failed",
    KeysExist = "keys_exist",
    KeysNotInitialised = "keys_not_initialised",
    MessageLimitReached = "message_limit_reached",
    SignerInUse = "signer_in_use",
    SignerRetired = "signer_retired",
    SmsGatewayNotConfigured = "sms_gateway_not_configured",
    // Temporary e-permits and holders
    AlreadyDone = "already_done",
    ApplicationExpired = "application_expired",
    BadImage = "bad_image",
    BadMobile = "bad_mobile",
    BadReason = "bad_reason",
    CodeExpired = "code_expired",
    ImageTooLarge = "image_too_large",
    KindNotEligible = "kind_not_eligible",
    MonthlyLimitReached = "monthly_limit_reached",
    NoMatchingPermit = "no_matching_permit",
    NoMatchingPerson = "no_matching_person",
    NotAvailable = "not_available",
    PermitExpired = "permit_expired",
    PermitNotValid = "permit_not_valid",
    ResendTooSoon = "resend_too_soon",
    SignupExpired = "signup_expired",
    SignupInProgress = "signup_in_progress",
    SmsCodeExpired = "sms_code_expired",
    SmsCodeInvalid = "sms_code_invalid",
    TooManyAttempts = "too_many_attempts",
    TooManyCodes = "too_many_codes",
    TooManyFaceChecks = "too_many_face_checks",
    TooManyTries = "too_many_tries",
    WrongCode = "wrong_code",
    WrongStep = "wrong_step",
    // Partners and verification
    BadFingerprint = "bad_fingerprint",
    BadPartnerKind = "bad_partner_kind",
    BadPartnerName = "bad_partner_name",
    BadQuota = "bad_quota",
    BadRate = "bad_rate",
    BadScope = "bad_scope",
    DailyQuotaExceeded = "daily_quota_exceeded",
    PartnerDisabled = "partner_disabled",
    PartnerExists = "partner_exists",
    PayloadTooLong = "payload_too_long",
    UseRequired = "use_required",
    // Linkage proofs
    DifferentHolders = "different_holders",
    KindNotLinkable = "kind_not_linkable",
    NoMatch = "no_match",
    NoValidResidencePermit = "no_valid_residence_permit",
    NoValidTravelDocument = "no_valid_travel_document",
    OfficeLevelTooLow = "office_level_too_low",
    ResidencePermitNotValid = "residence_permit_not_valid",
    TravelDocumentNotValid = "travel_document_not_valid",
    // Appointments
    AlreadyBooked = "already_booked",
    ApplicantRequired = "applicant_required",
    BadCapacity = "bad_capacity",
    BadChannel = "bad_channel",
    BadDayKind = "bad_day_kind",
    BadDays = "bad_days",
    BadHours = "bad_hours",
    BadRange = "bad_range",
    BadSlotMinutes = "bad_slot_minutes",
    BadSlotStart = "bad_slot_start",
    BookingBlocked = "booking_blocked",
    ChannelNotAllowed = "channel_not_allowed",
    FaceCheckRequired = "face_check_required",
    FaceMismatch = "face_mismatch",
    NoSuchSlot = "no_such_slot",
    NotActive = "not_active",
    NotBookable = "not_bookable",
    PreApplicationNotApproved = "pre_application_not_approved",
    ServiceNotOffered = "service_not_offered",
    SlotFull = "slot_full",
    SlotInPast = "slot_in_past",
    SlotInsideCutoff = "slot_inside_cutoff",
    SlotTooFar = "slot_too_far",
    TooLateToChange = "too_late_to_change",
    // Service centres: devices, queue, photos, counter, collection
    AlreadyCollected = "already_collected",
    AlreadyPaid = "already_paid",
    AmbiguousIdNumber = "ambiguous_id_number",
    ApplicationOpen = "application_open",
    BadChecklistItem = "bad_checklist_item",
    BadCounter = "bad_counter",
    BadCounters = "bad_counters",
    BadCurrency = "bad_currency",
    BadDeviceKind = "bad_device_kind",
    BadDeviceName = "bad_device_name",
    BadMethod = "bad_method",
    BadProduct = "bad_product",
    ChecklistIncomplete = "checklist_incomplete",
    CurrentPermitMismatch = "current_permit_mismatch",
    DeviceExists = "device_exists",
    HoldsValidDocument = "holds_valid_document",
    IdNumberRequired = "id_number_required",
    NoOffice = "no_office",
    NoWalkIns = "no_walk_ins",
    NotCalled = "not_called",
    NotEligible = "not_eligible",
    NotPaid = "not_paid",
    NotReady = "not_ready",
    NothingToRenew = "nothing_to_renew",
    NothingToReplace = "nothing_to_replace",
    OldPermitChanged = "old_permit_changed",
    OldPermitMismatch = "old_permit_mismatch",
    OldPermitRequired = "old_permit_required",
    PaymentDeclined = "payment_declined",
    PaymentTerminalNotConfigured = "payment_terminal_not_configured",
    PersonNotFound = "person_not_found",
    PhotoEmpty = "photo_empty",
    PhotoExpired = "photo_expired",
    PhotoFormat = "photo_format",
    PhotoNotFound = "photo_not_found",
    PhotoOrientation = "photo_orientation",
    PhotoRequired = "photo_required",
    PhotoTooLarge = "photo_too_large",
    PhotoTooSmall = "photo_too_small",
    PhotoUnreadable = "photo_unreadable",
    PhotoUsed = "photo_used",
    PreApplicationIncomplete = "pre_application_incomplete",
    PreApplicationPurpose = "pre_application_purpose",
    ReceiptOrIdentityMismatch = "receipt_or_identity_mismatch",
    RenewExpiredDocument = "renew_expired_document",
    WrongDay = "wrong_day",
    WrongOffice = "wrong_office",
    WrongQueue = "wrong_queue",
    // Border crossings and endorsements
    AlreadyPrinting = "already_printing",
    ApprovalEnded = "approval_ended",
    ApprovalTooLong = "approval_too_long",
    BadDestination = "bad_destination",
    BadDirection = "bad_direction",
    BadDocumentNumber = "bad_document_number",
    BadEndorsementType = "bad_endorsement_type",
    BadRelation = "bad_relation",
    BadRelativeName = "bad_relative_name",
    BadStayDays = "bad_stay_days",
    BadTime = "bad_time",
    BadTrips = "bad_trips",
    CannotCancel = "cannot_cancel",
    CardNotValid = "card_not_valid",
    CardOrIdentityMismatch = "card_or_identity_mismatch",
    /// The card was surrendered, reported lost or has expired.
    CardNoLongerValid = "card_no_longer_valid",
    /// No appointment has the reference given at reception.
    UnknownReference = "unknown_reference",
    CardRequired = "card_required",
    CounterOnly = "counter_only",
    FirstTimeAtCounter = "first_time_at_counter",
    NoSuchVariant = "no_such_variant",
    NotAwaitingPayment = "not_awaiting_payment",
    NotReadyToPrint = "not_ready_to_print",
    NotReadyYet = "not_ready_yet",
    NotSchemeCity = "not_scheme_city",
    NotUnderReview = "not_under_review",
    PermitExpiresTooSoon = "permit_expires_too_soon",
    PrinterNotConfigured = "printer_not_configured",
    ReasonRequired = "reason_required",
    StatePersonnel = "state_personnel",
    // Online payments
    AmountMismatch = "amount_mismatch",
    BadCallback = "bad_callback",
    BadProvider = "bad_provider",
    PaymentProviderNotConfigured = "payment_provider_not_configured",
    ProviderUnavailable = "provider_unavailable",
    WrongProvider = "wrong_provider",
    // The non-Chinese permit's pre-application and uploads
    AlreadyClaimed = "already_claimed",
    ApplicationInProgress = "application_in_progress",
    BadApplicationPurpose = "bad_application_purpose",
    BadFileType = "bad_file_type",
    BadOwner = "bad_owner",
    BadPassportNumber = "bad_passport_number",
    BadPurpose = "bad_purpose",
    BadRegion = "bad_region",
    BadSupplementItem = "bad_supplement_item",
    BadText = "bad_text",
    ChineseNational = "chinese_national",
    CurrentPermitRequired = "current_permit_required",
    DocumentMissing = "document_missing",
    EmptyFile = "empty_file",
    FileTooLarge = "file_too_large",
    GuardianConsentRequired = "guardian_consent_required",
    Incomplete = "incomplete",
    LinkExpired = "link_expired",
    NotClaimedByYou = "not_claimed_by_you",
    NotEditable = "not_editable",
    NoteTooLong = "note_too_long",
    PassportExpiresTooSoon = "passport_expires_too_soon",
    PdfDamaged = "pdf_damaged",
    PdfEncrypted = "pdf_encrypted",
    PdfTooComplex = "pdf_too_complex",
    Required = "required",
    SupplementEmpty = "supplement_empty",
    TooManyFiles = "too_many_files",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Lets tests and callers compare with the published string: `e.code() == "slot_full"`.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.code() == other
    }
}

impl PartialEq<ErrorCode> for &str {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == other.code()
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ErrorCode::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown error code {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            let s = c.code();
            assert!(seen.insert(s), "{s} listed twice");
            assert!(
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{s} is not snake_case"
            );
            assert_eq!(ErrorCode::parse(s), Some(*c));
            assert_eq!(c.to_string(), s);
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }

    #[test]
    fn codes_compare_with_their_published_strings() {
        assert_eq!(ErrorCode::BadCheckDigit, "bad_check_digit");
        assert!("not_found" == ErrorCode::NotFound);
        assert_ne!(ErrorCode::NotFound, "not found");
    }
}
