//! Authentication (who is calling: a verified JWT) and authorization (which accounts and client
//! addresses that caller may use), exposed to handlers as the [`Authenticated`] extractor.

pub mod directory;
pub mod ip;
pub mod token;

use crate::error::ApiError;
use crate::limits::Class;
use crate::metrics::Metrics;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, HttpResponseBuilder, dev::Payload, web};
use base64::{Engine, prelude::BASE64_STANDARD};
use directory::{CustomerContext, Directory};
use futures_util::future::LocalBoxFuture;
use ipnet::IpNet;
use std::collections::HashMap;
use std::sync::Arc;
use token::{JwtVerifier, Subject};
use uuid::Uuid;

/// The session cookie a token may come in (and that is refreshed when it did).
#[derive(Clone, Debug)]
pub struct SessionCookie {
    pub name: String,
    pub secure: bool,
    pub ttl_secs: i64,
}

/// Everything authentication and authorization need, shared by every handler as its own
/// `web::Data<Gate>`.
pub struct Gate {
    pub jwt: JwtVerifier,
    pub directory: Directory,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Traffic classes of `api_access` ids (tokens may also say so in a claim).
    pub access_classes: HashMap<u32, Class>,
    pub cookie: SessionCookie,
    pub metrics: Arc<Metrics>,
}

/// A caller whose token verified and whose address is allowed.
pub struct Authenticated {
    pub context: Arc<CustomerContext>,
    /// The traffic class, for limits.
    pub class: Class,
    /// The token, when it came from the session cookie (which is then refreshed).
    cookie_token: Option<String>,
}

impl Authenticated {
    /// Resolves an API account-id to the internal account id, or the one uniform 400 that does
    /// not tell "unknown" from "not yours".
    pub async fn account(&self, gate: &Gate, uuid: Uuid) -> Result<u32, ApiError> {
        let account = gate.directory.account(uuid).await?;
        account
            .filter(|a| self.context.may_use(a))
            .map(|a| a.id)
            .ok_or(ApiError::InvalidValue("account-id"))
    }

    /// Adds the refreshed session cookie when the token came from it.
    pub fn refresh_cookie(&self, gate: &Gate, resp: &mut HttpResponseBuilder) {
        if let Some(token) = &self.cookie_token {
            let cookie = Cookie::build(gate.cookie.name.clone(), token.clone())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(gate.cookie.secure)
                .max_age(CookieDuration::seconds(gate.cookie.ttl_secs))
                .finish();
            resp.cookie(cookie);
        }
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

/// The token of a request and whether it came from the session cookie. `Authorization: Basic
/// base64(<any user>:<token>)` carries it as the password (Excel, Power BI and Tableau can send
/// nothing else); any other `Authorization` or the cookie is read by [`token::extract`].
/// Tokens in the URL are never read.
fn credentials(req: &HttpRequest, cookie_name: &str) -> Option<(String, bool)> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match header.and_then(basic_credentials) {
        // A Basic header that does not decode is a failed login, not a reason to try the cookie.
        Some(basic) => basic.map(|token| (token, false)),
        None => token::extract(req, cookie_name),
    }
}

/// `None` when the header is not `Basic`; `Some(None)` when it is but carries no usable
/// password (RFC 7617: the user-id ends at the first colon, the password is the rest).
fn basic_credentials(header: &str) -> Option<Option<String>> {
    let (scheme, encoded) = header.trim().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64_STANDARD.decode(encoded.trim()).ok();
    let text = decoded.and_then(|bytes| String::from_utf8(bytes).ok());
    let password = text
        .as_deref()
        .and_then(|t| t.split_once(':'))
        .map(|(_, password)| password.trim().to_owned())
        .filter(|p| !p.is_empty());
    Some(password)
}

/// Counts and logs a refusal by reason, request id and client address (never the token); the
/// client gets an empty 401.
fn refuse(req: &HttpRequest, state: &Gate, reason: &'static str) -> ApiError {
    state
        .metrics
        .auth_failures
        .with_label_values(&[reason])
        .inc();
    let client = ip::client_ip(req, &state.trusted_proxies);
    tracing::info!(
        reason,
        request_id = %crate::http::RequestId::of(req),
        client = ?client,
        "authentication failed"
    );
    ApiError::Unauthorized
}

async fn authenticate(req: &HttpRequest) -> Result<Authenticated, ApiError> {
    let state = req
        .app_data::<web::Data<Gate>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("auth gate missing")))?;
    let (raw, from_cookie) =
        credentials(req, &state.cookie.name).ok_or_else(|| refuse(req, state, "missing_token"))?;
    let verified = state
        .jwt
        .verify(&raw)
        .map_err(|why| refuse(req, state, why.as_str()))?;
    let configured = match verified.subject {
        Subject::Access(id) => state.access_classes.get(&id).copied(),
        Subject::Dynamic(_) => None,
    };
    let class = verified.class.or(configured).unwrap_or(Class::Customer);
    let context = match verified.subject {
        Subject::Access(id) => state
            .directory
            .access(id)
            .await?
            .ok_or_else(|| refuse(req, state, "unknown_access"))?,
        Subject::Dynamic(cfg) => Arc::new(CustomerContext::from(cfg)),
    };
    let client = ip::client_ip(req, &state.trusted_proxies)
        .ok_or_else(|| refuse(req, state, "no_client_address"))?;
    if !context.allows_ip(client) {
        return Err(refuse(req, state, "ip_not_allowed"));
    }
    Ok(Authenticated {
        context,
        class,
        cookie_token: from_cookie.then_some(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_and_password: &str) -> String {
        format!("Basic {}", BASE64_STANDARD.encode(user_and_password))
    }

    #[test]
    fn basic_auth_carries_the_token_as_the_password() {
        let token = Some(Some("eyJ.a.b".to_owned()));
        assert_eq!(basic_credentials(&basic("excel:eyJ.a.b")), token);
        assert_eq!(basic_credentials(&basic(":eyJ.a.b")), token);
        assert_eq!(
            basic_credentials(&format!("bAsIc  {}", BASE64_STANDARD.encode("u:eyJ.a.b"))),
            token
        );
    }

    #[test]
    fn a_basic_header_without_a_password_yields_no_token() {
        assert_eq!(basic_credentials(&basic("eyJ.a.b")), Some(None));
        assert_eq!(basic_credentials(&basic("user:")), Some(None));
        assert_eq!(basic_credentials("Basic not*base64"), Some(None));
        assert_eq!(basic_credentials("Basic"), None);
    }

    #[test]
    fn other_schemes_are_left_to_the_bearer_rules() {
        assert_eq!(basic_credentials("Bearer eyJ.a.b"), None);
        assert_eq!(basic_credentials("eyJ.a.b"), None);
    }
}
