//! Secrets: the JWT secrets and the ClickHouse password, from the environment or from files,
//! re-read on `SIGHUP` (wired in `startup`) so a rotation needs no restart. A secret is never
//! printed: [`Secret`]'s `Debug` is redacted and only key ids reach the log.

use serde::Deserialize;
use std::fmt;

/// Shortest JWT secret accepted (HS256 with a short secret is guessable offline).
pub const MIN_JWT_SECRET_LEN: usize = 16;
/// Most JWT secrets at once: a token without `kid` is tried against each of them.
pub const MAX_JWT_SECRETS: usize = 8;

/// A secret value whose `Debug` never shows it (so any struct holding one may derive `Debug`).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that needs it (a key, a driver call).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything secret the gateway uses, as read at one moment.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// JWT secrets, newest first (the first signs `cdrstats token`); may be empty for commands
    /// that do not need one.
    pub jwt: Vec<Secret>,
    /// Which variable the JWT secrets came from.
    pub jwt_source: Option<&'static str>,
    pub clickhouse_password: Secret,
}

/// Where the secrets come from: the variables as set (files win over values).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub jwt_secrets_file: Option<String>,
    pub jwt_secret_file: Option<String>,
    /// Comma-separated, newest first.
    pub jwt_secrets: Secret,
    pub jwt_secret: Secret,
    pub clickhouse_password_file: Option<String>,
    pub clickhouse_password: Secret,
}

/// A secret source that cannot be used: the variable and why (never the value).
#[derive(Debug, thiserror::Error)]
#[error("{var} is invalid: {reason}")]
pub struct Invalid {
    pub var: &'static str,
    pub reason: String,
}

fn invalid(var: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid {
        var,
        reason: reason.into(),
    }
}

/// Reads a secret file. Only the path and the OS error are reported, never the content.
fn read_file(var: &'static str, path: &str) -> Result<String, Invalid> {
    std::fs::read_to_string(path).map_err(|e| invalid(var, format!("cannot read {path}: {e}")))
}

/// One secret per line; blank lines and `#` comments are skipped, surrounding whitespace
/// (a trailing newline, a CR) is not part of a secret.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// A file variable that is set and not blank.
fn given(path: &Option<String>) -> Option<&str> {
    path.as_deref().filter(|p| !p.trim().is_empty())
}

/// Reads the secrets `sources` point at. The JWT secrets come from the first of
/// `JWT_SECRETS_FILE`, `JWT_SECRET_FILE`, `JWT_SECRETS`, `JWT_SECRET` that is set (files first,
/// so a deployment that mounts secrets never depends on the environment); the password from
/// `CLICKHOUSE_PASSWORD_FILE` when set, else `CLICKHOUSE_PASSWORD`.
pub fn load(sources: &Sources) -> Result<Loaded, Invalid> {
    let (source, values): (Option<&'static str>, Vec<String>) =
        if let Some(path) = given(&sources.jwt_secrets_file) {
            let var = "JWT_SECRETS_FILE";
            (Some(var), lines(&read_file(var, path)?))
        } else if let Some(path) = given(&sources.jwt_secret_file) {
            let var = "JWT_SECRET_FILE";
            let text = read_file(var, path)?;
            (Some(var), vec![text.trim().to_owned()])
        } else if !sources.jwt_secrets.is_blank() {
            let values = crate::lists::comma_separated(sources.jwt_secrets.expose())
                .map(str::to_owned)
                .collect();
            (Some("JWT_SECRETS"), values)
        } else if !sources.jwt_secret.expose().is_empty() {
            (
                Some("JWT_SECRET"),
                vec![sources.jwt_secret.expose().to_owned()],
            )
        } else {
            (None, vec![])
        };
    if let Some(var) = source {
        check_jwt_secrets(var, &values)?;
    }
    let clickhouse_password = match given(&sources.clickhouse_password_file) {
        // A password file ends with a newline more often than not; the newline is not part of it.
        Some(path) => read_file("CLICKHOUSE_PASSWORD_FILE", path)?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
        None => sources.clickhouse_password.expose().to_owned(),
    };
    Ok(Loaded {
        jwt: values.into_iter().map(Secret).collect(),
        jwt_source: source,
        clickhouse_password: Secret(clickhouse_password),
    })
}

fn check_jwt_secrets(var: &'static str, values: &[String]) -> Result<(), Invalid> {
    if values.is_empty() {
        return Err(invalid(var, "holds no secret"));
    }
    if values.len() > MAX_JWT_SECRETS {
        return Err(invalid(
            var,
            format!("at most {MAX_JWT_SECRETS} secrets at once"),
        ));
    }
    for (i, value) in values.iter().enumerate() {
        if value.len() < MIN_JWT_SECRET_LEN {
            return Err(invalid(
                var,
                format!(
                    "secret #{} is shorter than {MIN_JWT_SECRET_LEN} characters",
                    i + 1
                ),
            ));
        }
        if values[..i].contains(value) {
            return Err(invalid(var, format!("secret #{} is listed twice", i + 1)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Sources {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Sources {
            jwt_secrets_file: get("JWT_SECRETS_FILE"),
            jwt_secret_file: get("JWT_SECRET_FILE"),
            jwt_secrets: Secret::new(get("JWT_SECRETS").unwrap_or_default()),
            jwt_secret: Secret::new(get("JWT_SECRET").unwrap_or_default()),
            clickhouse_password_file: get("CLICKHOUSE_PASSWORD_FILE"),
            clickhouse_password: Secret::new(get("CLICKHOUSE_PASSWORD").unwrap_or_default()),
        }
    }

    fn temp_file(name: &str, content: &str) -> String {
        let dir = std::env::temp_dir().join(format!("cdrstats-secrets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, content).expect("write");
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn jwt_secrets_come_from_one_source_newest_first() {
        let s = settings(&[(
            "JWT_SECRETS",
            "new-secret-0123456789, old-secret-0123456789",
        )]);
        let loaded = load(&s).expect("load");
        assert_eq!(loaded.jwt_source, Some("JWT_SECRETS"));
        let values: Vec<_> = loaded.jwt.iter().map(Secret::expose).collect();
        assert_eq!(values, ["new-secret-0123456789", "old-secret-0123456789"]);

        let file = temp_file(
            "jwt",
            "# rotated 2026-11\nfile-new-0123456789\n\nfile-old-0123456789\r\n",
        );
        let s = settings(&[
            ("JWT_SECRETS_FILE", &file),
            ("JWT_SECRET", "ignored-because-a-file-is-set"),
        ]);
        let loaded = load(&s).expect("load");
        assert_eq!(loaded.jwt_source, Some("JWT_SECRETS_FILE"));
        let values: Vec<_> = loaded.jwt.iter().map(Secret::expose).collect();
        assert_eq!(values, ["file-new-0123456789", "file-old-0123456789"]);

        // Each source is enough on its own: the signing secret is the file's first line.
        let alone = load(&settings(&[("JWT_SECRETS_FILE", &file)])).expect("load");
        assert_eq!(alone.jwt[0].expose(), "file-new-0123456789");
        let single = temp_file("one", "single-secret-0123456789\n");
        let loaded = load(&settings(&[("JWT_SECRET_FILE", &single)])).expect("load");
        assert_eq!(loaded.jwt[0].expose(), "single-secret-0123456789");
        assert!(
            load(&settings(&[]))
                .expect("none is fine here")
                .jwt
                .is_empty()
        );
    }

    #[test]
    fn bad_secrets_name_their_variable_but_never_the_value() {
        for (var, value) in [
            ("JWT_SECRETS", "long-enough-secret-01,short"),
            (
                "JWT_SECRETS",
                "same-secret-0123456789,same-secret-0123456789",
            ),
            ("JWT_SECRET_FILE", "/nonexistent/cdrstats/secret"),
        ] {
            let err = load(&settings(&[(var, value)])).expect_err("invalid");
            let text = err.to_string();
            assert!(text.contains(var), "{text}");
            assert!(
                !text.contains("long-enough-secret") && !text.contains("same-secret"),
                "{text}"
            );
        }
    }

    #[test]
    fn the_clickhouse_password_file_wins_and_loses_its_newline() {
        let file = temp_file("pw", "s3cret pass\n");
        let s = settings(&[
            ("CLICKHOUSE_PASSWORD_FILE", &file),
            ("CLICKHOUSE_PASSWORD", "from-env"),
        ]);
        assert_eq!(
            load(&s).expect("load").clickhouse_password.expose(),
            "s3cret pass"
        );
        assert_eq!(format!("{:?}", Secret::new("x")), "<redacted>");
    }
}
