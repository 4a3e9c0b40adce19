//! JWT handling: where the token comes from, and strict HS256 verification with time rules
//! (RFC 7519 §4.1.4–4.1.6), a maximum lifetime and several secrets for key rotation.

use crate::limits::Class;
use crate::secrets::Secret;
use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};

/// The audience every token must name.
pub const AUDIENCE: &str = "customer-v1";
/// Tokens longer than this are rejected before any parsing.
const MAX_TOKEN_LEN: usize = 4096;

/// The customer context carried inside a dynamic (`sub: "D"`) token.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct DynamicCfg {
    pub customer_id: u32,
    #[serde(default)]
    pub account_ids: Vec<u32>,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
}

/// Who a verified token speaks for.
#[derive(Debug, PartialEq)]
pub enum Subject {
    /// A row of `api_access`.
    Access(u32),
    /// A context given in the token itself.
    Dynamic(DynamicCfg),
}

#[derive(Deserialize)]
struct Claims {
    sub: serde_json::Value,
    #[serde(default)]
    cfg: Option<DynamicCfg>,
    /// Optional traffic class: `customer`, `bi` or `loadtest`.
    #[serde(default)]
    cls: Option<String>,
    #[serde(default)]
    exp: Option<NumericDate>,
    #[serde(default)]
    nbf: Option<NumericDate>,
    #[serde(default)]
    iat: Option<NumericDate>,
}

/// A JWT NumericDate: seconds since the epoch, possibly fractional (RFC 7519 §2). A claim of
/// another type fails deserialization, so the token is refused as malformed.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(transparent)]
struct NumericDate(f64);

impl NumericDate {
    /// Whole seconds, saturating (a date beyond i64 is simply "very late").
    #[allow(clippy::cast_possible_truncation)]
    fn secs(self) -> i64 {
        self.0.floor() as i64
    }
}

/// A verified token.
#[derive(Debug, PartialEq)]
pub struct Verified {
    pub subject: Subject,
    /// The traffic class the token claims, if any.
    pub class: Option<Class>,
}

/// The token of a request: the last word of `Authorization` (so `Bearer <t>` and a bare token
/// both work), else the session cookie. The flag says whether it came from the cookie.
pub fn extract(req: &HttpRequest, cookie_name: &str) -> Option<(String, bool)> {
    let from_header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().last())
        .map(str::to_owned);
    if let Some(token) = from_header {
        return Some((token, false));
    }
    req.cookie(cookie_name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
        .map(|v| (v, true))
}

/// Why a token was refused: a label for `/metrics` and the log. The client only ever sees an
/// empty 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Longer than any token we issue.
    TooLong,
    /// Not a JWT, or a claim of the wrong type (includes `alg: none`, which has no algorithm).
    Malformed,
    /// Signed with anything but HS256.
    Algorithm,
    /// The header asks for a key from elsewhere (`jku`, `jwk`, `x5u`, `x5c`) or for critical
    /// extensions (`crit`): nothing we issue does that, so it is refused, not ignored.
    KeyHeader,
    /// `kid` names no configured secret.
    UnknownKid,
    /// No configured secret produced this signature.
    Signature,
    /// `aud` missing or without `customer-v1`.
    Audience,
    /// No `exp` while `JWT_REQUIRE_EXP` is on.
    MissingExp,
    Expired,
    /// `nbf` is still in the future.
    NotYetValid,
    /// `iat` is in the future.
    IssuedInFuture,
    /// No `iat` while `JWT_MAX_LIFETIME_SECS` is set: the age cannot be measured.
    MissingIat,
    /// Issued longer ago than `JWT_MAX_LIFETIME_SECS`.
    TooOld,
    /// `sub` is neither an integer nor `"D"` with a `cfg`.
    Subject,
}

impl Rejection {
    /// The label used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::KeyHeader => "key_header",
            Self::UnknownKid => "unknown_kid",
            Self::Signature => "signature",
            Self::Audience => "audience",
            Self::MissingExp => "missing_exp",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::MissingIat => "missing_iat",
            Self::TooOld => "too_old",
            Self::Subject => "subject",
        }
    }
}

/// The time rules every token must pass (`JWT_REQUIRE_EXP`, `JWT_LEEWAY_SECS`,
/// `JWT_MAX_LIFETIME_SECS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRules {
    pub require_exp: bool,
    /// Clock skew tolerated on `exp`, `nbf`, `iat` and the lifetime, seconds.
    pub leeway_secs: i64,
    /// Largest age (now − `iat`) accepted, seconds; 0 = no limit.
    pub max_lifetime_secs: i64,
}

impl TimeRules {
    /// Checks `exp`, `nbf`, `iat` and the age at `now` (unix seconds).
    fn check(&self, claims: &Claims, now: i64) -> Result<(), Rejection> {
        let leeway = self.leeway_secs;
        match claims.exp.map(NumericDate::secs) {
            // RFC 7519 §4.1.4: the current time MUST be before `exp`.
            Some(exp) if now >= exp.saturating_add(leeway) => return Err(Rejection::Expired),
            None if self.require_exp => return Err(Rejection::MissingExp),
            _ => {}
        }
        // RFC 7519 §4.1.5: the current time MUST be after or equal to `nbf`.
        if let Some(nbf) = claims.nbf.map(NumericDate::secs)
            && now.saturating_add(leeway) < nbf
        {
            return Err(Rejection::NotYetValid);
        }
        let iat = claims.iat.map(NumericDate::secs);
        if let Some(iat) = iat
            && iat > now.saturating_add(leeway)
        {
            return Err(Rejection::IssuedInFuture);
        }
        if self.max_lifetime_secs > 0 {
            let iat = iat.ok_or(Rejection::MissingIat)?;
            if now.saturating_sub(iat) > self.max_lifetime_secs.saturating_add(leeway) {
                return Err(Rejection::TooOld);
            }
        }
        Ok(())
    }
}

/// The key id of a secret: the first 16 hex digits of its SHA-256. Derived rather than
/// configured so rotating needs no second list to keep in step; it reveals nothing a token
/// signed with the secret does not already allow an attacker to test offline.
pub fn kid_of(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// One verification key and its id.
struct Key {
    kid: String,
    key: DecodingKey,
}

/// Verifies tokens against the configured secrets (newest first). Built once at start-up; the
/// keys can be replaced on `SIGHUP` without touching requests in flight.
pub struct JwtVerifier {
    /// A lock rather than a new dependency: reads only clone the `Arc`, writes happen on SIGHUP.
    keys: RwLock<Arc<Vec<Key>>>,
    validation: Validation,
    rules: TimeRules,
}

impl JwtVerifier {
    pub fn new(secrets: &[Secret], rules: TimeRules) -> Self {
        // HS256 only: `none` and every other algorithm fail the header check.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        // Times are checked by `TimeRules` (with reasons); `sub` below (the library only knows
        // string subjects).
        validation.set_required_spec_claims(&["aud"]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        Self {
            keys: RwLock::new(Arc::new(build_keys(secrets))),
            validation,
            rules,
        }
    }

    /// Replaces the secrets (a rotation); tokens signed with a dropped secret fail from now on.
    pub fn replace_secrets(&self, secrets: &[Secret]) {
        let keys = Arc::new(build_keys(secrets));
        match self.keys.write() {
            Ok(mut guard) => *guard = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    /// The key ids in use, newest first (for the log: never the secrets).
    pub fn kids(&self) -> Vec<String> {
        self.current().iter().map(|k| k.kid.clone()).collect()
    }

    fn current(&self) -> Arc<Vec<Key>> {
        match self.keys.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The subject of a valid token, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Verified, Rejection> {
        self.verify_at(token, chrono::Utc::now().timestamp())
    }

    /// [`Self::verify`] at a given time (unix seconds), for tests of the time rules.
    pub fn verify_at(&self, token: &str, now: i64) -> Result<Verified, Rejection> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Rejection::TooLong);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(Rejection::Algorithm);
        }
        if header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.crit.is_some()
        {
            return Err(Rejection::KeyHeader);
        }
        let keys = self.current();
        // A `kid` picks its secret; without one every secret is tried, newest first (tokens
        // of issuers that do not set `kid` keep working across a rotation).
        let candidates: Vec<&Key> = match &header.kid {
            Some(kid) => keys.iter().filter(|k| &k.kid == kid).collect(),
            None => keys.iter().collect(),
        };
        if candidates.is_empty() {
            return Err(if header.kid.is_some() {
                Rejection::UnknownKid
            } else {
                Rejection::Signature
            });
        }
        let mut claims = None;
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &self.validation) {
                Ok(data) => {
                    claims = Some(data.claims);
                    break;
                }
                Err(e) => match e.kind() {
                    ErrorKind::InvalidSignature => continue,
                    ErrorKind::InvalidAlgorithm => return Err(Rejection::Algorithm),
                    ErrorKind::InvalidAudience | ErrorKind::MissingRequiredClaim(_) => {
                        return Err(Rejection::Audience);
                    }
                    _ => return Err(Rejection::Malformed),
                },
            }
        }
        let claims = claims.ok_or(Rejection::Signature)?;
        self.rules.check(&claims, now)?;
        let class = claims.cls.as_deref().and_then(Class::parse);
        let subject = match claims.sub {
            serde_json::Value::Number(n) => n
                .as_u64()
                .and_then(|id| u32::try_from(id).ok())
                .map(Subject::Access),
            serde_json::Value::String(s) if s == "D" => claims.cfg.map(Subject::Dynamic),
            // Some issuers put integer subjects in strings.
            serde_json::Value::String(s) => s.parse().ok().map(Subject::Access),
            _ => None,
        }
        .ok_or(Rejection::Subject)?;
        Ok(Verified { subject, class })
    }
}

fn build_keys(secrets: &[Secret]) -> Vec<Key> {
    secrets
        .iter()
        .map(|s| Key {
            kid: kid_of(s.expose()),
            key: DecodingKey::from_secret(s.expose().as_bytes()),
        })
        .collect()
}

/// What a minted token speaks for.
pub enum Mint {
    Access(u32),
    Dynamic(DynamicCfg),
}

/// Mints an HS256 token (for demos and tests): `iat` now, `exp` when given, no `kid`.
pub fn mint(secret: &str, subject: Mint, expires_at: Option<i64>) -> anyhow::Result<String> {
    mint_with(
        secret,
        subject,
        &MintOptions {
            expires_at,
            ..MintOptions::default()
        },
    )
}

/// Like [`mint`], marking the token's traffic class (`cls` claim) when given.
pub fn mint_with_class(
    secret: &str,
    subject: Mint,
    expires_at: Option<i64>,
    class: Option<Class>,
) -> anyhow::Result<String> {
    mint_with(
        secret,
        subject,
        &MintOptions {
            expires_at,
            class,
            ..MintOptions::default()
        },
    )
}

/// The optional parts of a minted token.
#[derive(Default)]
pub struct MintOptions {
    /// `exp`, unix seconds.
    pub expires_at: Option<i64>,
    /// `cls`, the traffic class.
    pub class: Option<Class>,
    /// Put the secret's [`kid_of`] in the header (what `cdrstats token` does).
    pub with_kid: bool,
}

/// Mints an HS256 token with `iat` = now and the given options.
pub fn mint_with(secret: &str, subject: Mint, options: &MintOptions) -> anyhow::Result<String> {
    let mut claims = serde_json::json!({
        "aud": [AUDIENCE],
        "iat": chrono::Utc::now().timestamp(),
    });
    match subject {
        Mint::Access(id) => claims["sub"] = id.into(),
        Mint::Dynamic(cfg) => {
            claims["sub"] = "D".into();
            claims["cfg"] = serde_json::to_value(cfg)?;
        }
    }
    if let Some(exp) = options.expires_at {
        claims["exp"] = exp.into();
    }
    if let Some(class) = options.class {
        claims["cls"] = class.as_str().into();
    }
    let mut header = Header::new(Algorithm::HS256);
    if options.with_kid {
        header.kid = Some(kid_of(secret));
    }
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64_helpers::*;

    const SECRET: &str = "test-secret-0123456789";
    const OLD_SECRET: &str = "old-test-secret-9876543210";
    /// 2026-01-01T00:00:00Z: the tests' "now".
    const NOW: i64 = 1_767_225_600;

    mod base64_helpers {
        /// Unpadded URL-safe base64, enough to forge tokens by hand.
        pub fn b64(data: &[u8]) -> String {
            const A: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in data.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for i in 0..=chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }

    const RULES: TimeRules = TimeRules {
        require_exp: true,
        leeway_secs: 30,
        max_lifetime_secs: 0,
    };

    fn verifier_with(secrets: &[&str], rules: TimeRules) -> JwtVerifier {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::new(*s)).collect();
        JwtVerifier::new(&secrets, rules)
    }

    fn verifier() -> JwtVerifier {
        verifier_with(&[SECRET], RULES)
    }

    /// Signs `claims` (JSON text) with `header` (JSON text) by hand.
    fn signed(secret: &str, header: &str, claims: &serde_json::Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &EncodingKey::from_secret(secret.as_bytes()),
            Algorithm::HS256,
        )
        .expect("sign");
        format!("{input}.{sig}")
    }

    fn claims_with(extra: serde_json::Value) -> serde_json::Value {
        let mut c = serde_json::json!({ "aud": ["customer-v1"], "sub": 7 });
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        c
    }

    fn reason(v: &JwtVerifier, token: &str) -> Result<Subject, Rejection> {
        v.verify_at(token, NOW).map(|v| v.subject)
    }

    impl JwtVerifier {
        fn verify_subject(&self, token: &str) -> Option<Subject> {
            self.verify(token).ok().map(|v| v.subject)
        }
    }

    #[test]
    fn integer_and_dynamic_subjects() {
        let exp = Some(chrono::Utc::now().timestamp() + 60);
        let t = mint(SECRET, Mint::Access(60), exp).expect("mint");
        assert_eq!(verifier().verify_subject(&t), Some(Subject::Access(60)));
        let cfg = DynamicCfg {
            customer_id: 5,
            account_ids: vec![1, 2],
            allowed_ips: vec!["10.0.0.0/8".into()],
        };
        let t = mint(SECRET, Mint::Dynamic(cfg.clone()), exp).expect("mint");
        assert_eq!(verifier().verify_subject(&t), Some(Subject::Dynamic(cfg)));
    }

    #[test]
    fn forged_expired_and_foreign_tokens_fail_with_their_reason() {
        let v = verifier();
        let exp = serde_json::json!({ "exp": NOW + 60 });
        let other = signed(
            "another-secret-value-xx",
            r#"{"alg":"HS256"}"#,
            &claims_with(exp.clone()),
        );
        assert_eq!(reason(&v, &other), Err(Rejection::Signature));
        let live = signed(SECRET, r#"{"alg":"HS256"}"#, &claims_with(exp.clone()));
        assert_eq!(reason(&v, &live), Ok(Subject::Access(7)));

        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(br#"{"aud":["customer-v1"],"sub":1}"#)
        );
        assert_eq!(reason(&v, &none), Err(Rejection::Malformed));
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims_with(exp.clone()),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("encode");
        assert_eq!(reason(&v, &hs512), Err(Rejection::Algorithm));
        let wrong_aud = signed(
            SECRET,
            r#"{"alg":"HS256"}"#,
            &serde_json::json!({"aud":["admin"],"sub":1,"exp":NOW + 60}),
        );
        assert_eq!(reason(&v, &wrong_aud), Err(Rejection::Audience));
        let no_aud = signed(
            SECRET,
            r#"{"alg":"HS256"}"#,
            &serde_json::json!({"sub":1,"exp":NOW + 60}),
        );
        assert_eq!(reason(&v, &no_aud), Err(Rejection::Audience));
        let bad_sub = signed(
            SECRET,
            r#"{"alg":"HS256"}"#,
            &claims_with(serde_json::json!({"exp": NOW + 60, "sub": "admin"})),
        );
        assert_eq!(reason(&v, &bad_sub), Err(Rejection::Subject));
        let string_exp = signed(
            SECRET,
            r#"{"alg":"HS256"}"#,
            &claims_with(serde_json::json!({"exp": "tomorrow"})),
        );
        assert_eq!(reason(&v, &string_exp), Err(Rejection::Malformed));
        assert_eq!(reason(&v, "not.a.token"), Err(Rejection::Malformed));
        assert_eq!(reason(&v, ""), Err(Rejection::Malformed));
        assert_eq!(reason(&v, &"a".repeat(5000)), Err(Rejection::TooLong));
    }

    #[test]
    fn exp_is_required_unless_configured_otherwise_and_honoured_with_leeway() {
        let v = verifier();
        let hdr = r#"{"alg":"HS256"}"#;
        let no_exp = signed(SECRET, hdr, &claims_with(serde_json::json!({})));
        assert_eq!(reason(&v, &no_exp), Err(Rejection::MissingExp));
        let relaxed = verifier_with(
            &[SECRET],
            TimeRules {
                require_exp: false,
                ..RULES
            },
        );
        assert_eq!(reason(&relaxed, &no_exp), Ok(Subject::Access(7)));
        // Expired 29 s ago: inside the 30 s leeway. 30 s ago: outside.
        let just = signed(
            SECRET,
            hdr,
            &claims_with(serde_json::json!({ "exp": NOW - 29 })),
        );
        assert_eq!(reason(&v, &just), Ok(Subject::Access(7)));
        let gone = signed(
            SECRET,
            hdr,
            &claims_with(serde_json::json!({ "exp": NOW - 30 })),
        );
        assert_eq!(reason(&v, &gone), Err(Rejection::Expired));
        let strict = verifier_with(
            &[SECRET],
            TimeRules {
                leeway_secs: 0,
                ..RULES
            },
        );
        let now_exp = signed(SECRET, hdr, &claims_with(serde_json::json!({ "exp": NOW })));
        assert_eq!(
            reason(&strict, &now_exp),
            Err(Rejection::Expired),
            "exp must be after now"
        );
        // Fractional NumericDates are valid (RFC 7519 §2).
        let frac = signed(
            SECRET,
            hdr,
            &claims_with(serde_json::json!({ "exp": NOW as f64 + 60.5 })),
        );
        assert_eq!(reason(&strict, &frac), Ok(Subject::Access(7)));
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused_beyond_the_leeway() {
        let v = verifier();
        let hdr = r#"{"alg":"HS256"}"#;
        let t = |extra: serde_json::Value| {
            let mut c = claims_with(extra);
            c["exp"] = (NOW + 7200).into();
            signed(SECRET, hdr, &c)
        };
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "nbf": NOW + 3600 }))),
            Err(Rejection::NotYetValid)
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "nbf": NOW + 30 }))),
            Ok(Subject::Access(7))
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "nbf": NOW + 31 }))),
            Err(Rejection::NotYetValid)
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "nbf": NOW - 10 }))),
            Ok(Subject::Access(7))
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "iat": NOW + 3600 }))),
            Err(Rejection::IssuedInFuture)
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "iat": NOW + 30 }))),
            Ok(Subject::Access(7))
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "nbf": "soon" }))),
            Err(Rejection::Malformed)
        );
    }

    #[test]
    fn the_maximum_lifetime_is_measured_from_iat() {
        let v = verifier_with(
            &[SECRET],
            TimeRules {
                max_lifetime_secs: 3600,
                ..RULES
            },
        );
        let hdr = r#"{"alg":"HS256"}"#;
        let t = |extra: serde_json::Value| {
            let mut c = claims_with(extra);
            c["exp"] = (NOW + 86_400 * 365).into();
            signed(SECRET, hdr, &c)
        };
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "iat": NOW - 3600 }))),
            Ok(Subject::Access(7))
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "iat": NOW - 3630 }))),
            Ok(Subject::Access(7)),
            "leeway"
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({ "iat": NOW - 3631 }))),
            Err(Rejection::TooOld)
        );
        assert_eq!(
            reason(&v, &t(serde_json::json!({}))),
            Err(Rejection::MissingIat)
        );
        // Without a maximum, age does not matter.
        assert_eq!(
            reason(
                &verifier(),
                &t(serde_json::json!({ "iat": NOW - 86_400 * 300 }))
            ),
            Ok(Subject::Access(7))
        );
    }

    #[test]
    fn every_secret_verifies_and_kid_picks_one() {
        let v = verifier_with(&[SECRET, OLD_SECRET], RULES);
        let c = claims_with(serde_json::json!({ "exp": NOW + 60 }));
        let hdr = r#"{"alg":"HS256"}"#;
        assert_eq!(reason(&v, &signed(SECRET, hdr, &c)), Ok(Subject::Access(7)));
        assert_eq!(
            reason(&v, &signed(OLD_SECRET, hdr, &c)),
            Ok(Subject::Access(7))
        );
        let with_kid = |kid: &str, secret: &str| {
            signed(secret, &format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#), &c)
        };
        assert_eq!(
            reason(&v, &with_kid(&kid_of(OLD_SECRET), OLD_SECRET)),
            Ok(Subject::Access(7))
        );
        // A kid naming one secret does not let another secret's signature through.
        assert_eq!(
            reason(&v, &with_kid(&kid_of(SECRET), OLD_SECRET)),
            Err(Rejection::Signature)
        );
        assert_eq!(
            reason(&v, &with_kid("https://evil.example/key", SECRET)),
            Err(Rejection::UnknownKid)
        );
        // Dropping the old secret logs out only its tokens.
        v.replace_secrets(&[Secret::new(SECRET)]);
        assert_eq!(
            reason(&v, &signed(OLD_SECRET, hdr, &c)),
            Err(Rejection::Signature)
        );
        assert_eq!(
            reason(&v, &with_kid(&kid_of(OLD_SECRET), OLD_SECRET)),
            Err(Rejection::UnknownKid)
        );
        assert_eq!(reason(&v, &signed(SECRET, hdr, &c)), Ok(Subject::Access(7)));
        assert_eq!(v.kids(), vec![kid_of(SECRET)]);
    }

    #[test]
    fn headers_pointing_at_outside_keys_are_refused() {
        let v = verifier();
        let c = claims_with(serde_json::json!({ "exp": NOW + 60 }));
        for header in [
            r#"{"alg":"HS256","jku":"https://evil.example/jwks.json"}"#,
            r#"{"alg":"HS256","x5u":"https://evil.example/cert.pem"}"#,
            r#"{"alg":"HS256","jwk":{"kty":"oct","k":"c2VjcmV0"}}"#,
            r#"{"alg":"HS256","crit":["exp"]}"#,
        ] {
            let t = signed(SECRET, header, &c);
            let got = reason(&v, &t);
            assert!(
                got == Err(Rejection::KeyHeader) || got == Err(Rejection::Malformed),
                "{header}: {got:?}"
            );
            assert!(got.is_err(), "{header}");
        }
        let t = signed(
            SECRET,
            r#"{"alg":"HS256","jku":"https://evil.example/jwks.json"}"#,
            &c,
        );
        assert_eq!(reason(&v, &t), Err(Rejection::KeyHeader));
    }

    #[test]
    fn minted_tokens_carry_iat_and_optionally_the_kid() {
        let t = mint_with(
            SECRET,
            Mint::Access(3),
            &MintOptions {
                expires_at: Some(chrono::Utc::now().timestamp() + 60),
                with_kid: true,
                ..MintOptions::default()
            },
        )
        .expect("mint");
        let header = jsonwebtoken::decode_header(&t).expect("header");
        assert_eq!(header.kid, Some(kid_of(SECRET)));
        let v = verifier_with(
            &[SECRET],
            TimeRules {
                max_lifetime_secs: 60,
                ..RULES
            },
        );
        assert_eq!(v.verify(&t).map(|v| v.subject), Ok(Subject::Access(3)));
        assert_eq!(kid_of(SECRET).len(), 16);
        assert_ne!(kid_of(SECRET), kid_of(OLD_SECRET));
    }

    #[test]
    fn the_seed_token_shape_verifies_with_its_secret() {
        // Header {"alg":"HS256"} without typ, aud as an array, integer sub, like the seed.
        let claims = serde_json::json!({"aud":["customer-v1"],"sub":60});
        let token = signed(SECRET, r#"{"alg":"HS256"}"#, &claims);
        let relaxed = verifier_with(
            &[SECRET],
            TimeRules {
                require_exp: false,
                ..RULES
            },
        );
        assert_eq!(reason(&relaxed, &token), Ok(Subject::Access(60)));
    }
}
