//! JWT handling: where the token comes from, and strict HS256 verification.

use crate::limits::Class;
use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

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

/// Verifies tokens with the one configured secret. Built once at start-up.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    pub fn new(secret: &str) -> Self {
        // HS256 only: `none` and every other algorithm fail the header check.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        // `sub` is checked below: the library only knows string subjects.
        validation.set_required_spec_claims(&["aud"]);
        validation.validate_exp = true; // checked when present
        validation.leeway = 0;
        Self {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// The subject of a valid token; `None` for anything malformed, forged, expired or meant
    /// for another audience.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).ok()?;
        let claims = data.claims;
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
        }?;
        Some(Verified { subject, class })
    }
}

/// What a minted token speaks for.
pub enum Mint {
    Access(u32),
    Dynamic(DynamicCfg),
}

/// Mints an HS256 token (for the `token` subcommand, demos and tests).
pub fn mint(secret: &str, subject: Mint, expires_at: Option<i64>) -> anyhow::Result<String> {
    mint_with_class(secret, subject, expires_at, None)
}

/// Like [`mint`], marking the token's traffic class (`cls` claim) when given.
pub fn mint_with_class(
    secret: &str,
    subject: Mint,
    expires_at: Option<i64>,
    class: Option<Class>,
) -> anyhow::Result<String> {
    let mut claims = serde_json::json!({ "aud": [AUDIENCE] });
    match subject {
        Mint::Access(id) => claims["sub"] = id.into(),
        Mint::Dynamic(cfg) => {
            claims["sub"] = "D".into();
            claims["cfg"] = serde_json::to_value(cfg)?;
        }
    }
    if let Some(exp) = expires_at {
        claims["exp"] = exp.into();
    }
    if let Some(class) = class {
        claims["cls"] = class.as_str().into();
    }
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
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

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(SECRET)
    }

    impl JwtVerifier {
        fn verify_subject(&self, token: &str) -> Option<Subject> {
            self.verify(token).map(|v| v.subject)
        }
    }

    #[test]
    fn integer_and_dynamic_subjects() {
        let t = mint(SECRET, Mint::Access(60), None).expect("mint");
        assert_eq!(verifier().verify_subject(&t), Some(Subject::Access(60)));
        let cfg = DynamicCfg {
            customer_id: 5,
            account_ids: vec![1, 2],
            allowed_ips: vec!["10.0.0.0/8".into()],
        };
        let t = mint(SECRET, Mint::Dynamic(cfg.clone()), None).expect("mint");
        assert_eq!(verifier().verify_subject(&t), Some(Subject::Dynamic(cfg)));
    }

    #[test]
    fn forged_expired_and_foreign_tokens_fail() {
        let other = mint("another-secret-value-xx", Mint::Access(1), None).expect("mint");
        assert_eq!(verifier().verify_subject(&other), None);
        let expired = mint(SECRET, Mint::Access(1), Some(1_000_000)).expect("mint");
        assert_eq!(verifier().verify_subject(&expired), None);
        let future = chrono::Utc::now().timestamp() + 3600;
        let live = mint(SECRET, Mint::Access(1), Some(future)).expect("mint");
        assert_eq!(verifier().verify_subject(&live), Some(Subject::Access(1)));

        let claims = br#"{"aud":["customer-v1"],"sub":1}"#;
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims));
        assert_eq!(verifier().verify_subject(&none), None);
        let wrong_aud = format!(
            "{}.{}.sig",
            b64(br#"{"alg":"HS256"}"#),
            b64(br#"{"aud":["admin"],"sub":1}"#)
        );
        assert_eq!(verifier().verify_subject(&wrong_aud), None);
        assert_eq!(verifier().verify("not.a.token"), None);
        assert_eq!(verifier().verify(""), None);
    }

    #[test]
    fn the_seed_token_shape_verifies_with_its_secret() {
        // Header {"alg":"HS256"} without typ, aud as an array, integer sub, like the seed.
        let header = b64(br#"{"alg":"HS256"}"#);
        let claims = b64(br#"{"aud":["customer-v1"],"sub":60}"#);
        let signing_input = format!("{header}.{claims}");
        let sig = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_secret(SECRET.as_bytes()),
            Algorithm::HS256,
        )
        .expect("sign");
        let token = format!("{signing_input}.{sig}");
        assert_eq!(verifier().verify_subject(&token), Some(Subject::Access(60)));
    }
}
