//! The official SDKs' profile file, `~/.huaweicloud/credentials`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::env::EnvProvider;
use super::{CredentialsFuture, CredentialsProvider, load_once};
use crate::signing::credentials::Credentials;
use crate::signing::error::CredentialsError;

/// The variable that names another profile file.
pub(crate) const CREDENTIALS_FILE: &str = "HUAWEICLOUD_SDK_CREDENTIALS_FILE";

/// Credentials from the SDKs' INI profile file: the path in
/// `HUAWEICLOUD_SDK_CREDENTIALS_FILE`, or `~/.huaweicloud/credentials`.
///
/// It reads the `[basic]` section (keys `ak`, `sk`, `security_token`,
/// `project_id`, `domain_id`), or `[global]` when `[basic]` has no `ak`;
/// [`with_section`](Self::with_section) picks one. Once the file gives
/// credentials they are kept.
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::signing::ProfileProvider;
///
/// let dir = std::env::temp_dir().join(format!("hc-profile-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("credentials");
/// std::fs::write(&path, "[global]\nak = AK\nsk = SK\ndomain_id = d-1\n").unwrap();
///
/// let credentials = ProfileProvider::from_path(&path).load().unwrap();
/// assert_eq!(credentials.domain_id(), Some("d-1"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone)]
pub struct ProfileProvider {
    path: Option<PathBuf>,
    env: EnvProvider,
    section: Option<String>,
    cached: Arc<OnceLock<Credentials>>,
}

impl ProfileProvider {
    /// The file the SDKs read: `HUAWEICLOUD_SDK_CREDENTIALS_FILE`, or
    /// `.huaweicloud/credentials` in the home directory.
    pub fn new() -> ProfileProvider {
        ProfileProvider::from_env(EnvProvider::new())
    }

    /// As [`new`](Self::new), reading `HUAWEICLOUD_SDK_CREDENTIALS_FILE` and
    /// `HOME` (`USERPROFILE` on Windows) through `env`.
    pub fn from_env(env: EnvProvider) -> ProfileProvider {
        ProfileProvider {
            path: None,
            env,
            section: None,
            cached: Arc::new(OnceLock::new()),
        }
    }

    /// The file at `path`.
    pub fn from_path(path: impl AsRef<Path>) -> ProfileProvider {
        ProfileProvider {
            path: Some(path.as_ref().to_owned()),
            ..ProfileProvider::from_env(EnvProvider::from_lookup(|_| None))
        }
    }

    /// Reads section `name` only (for example `"global"`).
    pub fn with_section(mut self, name: impl Into<String>) -> ProfileProvider {
        self.section = Some(name.into());
        self
    }

    /// The file this provider reads, if one can be named.
    pub fn path(&self) -> Option<PathBuf> {
        if let Some(path) = &self.path {
            return Some(path.clone());
        }
        if let Some(file) = self.env.var(CREDENTIALS_FILE) {
            return Some(PathBuf::from(file));
        }
        let home = self
            .env
            .var("HOME")
            .or_else(|| self.env.var("USERPROFILE"))?;
        Some(Path::new(&home).join(".huaweicloud").join("credentials"))
    }

    /// Reads the file now.
    pub fn load(&self) -> Result<Credentials, CredentialsError> {
        let Some(path) = self.path() else {
            return Err(CredentialsError::new(
                "profile file",
                "no HOME or HUAWEICLOUD_SDK_CREDENTIALS_FILE to find it by",
            ));
        };
        let source = format!("profile file {}", path.display());
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(CredentialsError::new(source, "not found"));
            }
            Err(err) => return Err(CredentialsError::new(source, format!("cannot read: {err}"))),
        };
        parse(&text, self.section.as_deref())
            .map_err(|reason| CredentialsError::new(source, reason))
    }
}

/// The credentials in profile text, or why there are none. The reason never
/// quotes the file.
fn parse(text: &str, section: Option<&str>) -> Result<Credentials, String> {
    let ini = ini::Ini::load_from_str_noescape(text)
        .map_err(|err| format!("not an INI file (line {}, column {})", err.line, err.col))?;
    let has_ak = |name: &str| {
        ini.section(Some(name))
            .and_then(|s| s.get("ak"))
            .is_some_and(|ak| !ak.trim().is_empty())
    };
    let name = match section {
        Some(name) => name,
        None if has_ak("basic") => "basic",
        None => "global",
    };
    let Some(props) = ini.section(Some(name)) else {
        return Err(match section {
            Some(_) => format!("no [{name}] section"),
            None => "no [basic] or [global] section with an ak".to_owned(),
        });
    };
    let get = |key: &str| props.get(key).map(str::trim).filter(|v| !v.is_empty());
    let access_key = get("ak").ok_or_else(|| format!("no ak in [{name}]"))?;
    let secret_key = get("sk").ok_or_else(|| format!("no sk in [{name}]"))?;
    let mut credentials = Credentials::new(access_key, secret_key);
    if let Some(token) = get("security_token") {
        credentials = credentials.with_security_token(token);
    }
    if let Some(project_id) = get("project_id") {
        credentials = credentials.with_project_id(project_id);
    }
    if let Some(domain_id) = get("domain_id") {
        credentials = credentials.with_domain_id(domain_id);
    }
    Ok(credentials)
}

impl Default for ProfileProvider {
    fn default() -> ProfileProvider {
        ProfileProvider::new()
    }
}

impl fmt::Debug for ProfileProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileProvider")
            .field("path", &self.path())
            .field("section", &self.section)
            .field("cached", &self.cached.get())
            .finish()
    }
}

impl CredentialsProvider for ProfileProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        load_once(&self.cached, || self.load())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn basic_is_read_before_global() {
        let text = "[global]\nak = G\nsk = GS\n[basic]\nak = B\nsk = BS\nproject_id = p-1\n";
        let credentials = parse(text, None).unwrap();
        assert_eq!(credentials.access_key(), "B");
        assert_eq!(credentials.project_id(), Some("p-1"));
        assert_eq!(parse(text, Some("global")).unwrap().access_key(), "G");
    }

    #[test]
    fn global_is_read_when_basic_has_no_ak() {
        let text = "[basic]\nproject_id = p\n[global]\nak = G\nsk = GS\nsecurity_token = T\ndomain_id = d\n";
        let credentials = parse(text, None).unwrap();
        assert_eq!(credentials.access_key(), "G");
        assert_eq!(credentials.security_token(), Some("T"));
        assert_eq!(credentials.domain_id(), Some("d"));
    }

    #[test]
    fn what_is_missing_is_named_and_no_value_quoted() {
        assert_eq!(
            parse("[basic]\nak = AK-1\n", None).unwrap_err(),
            "no sk in [basic]"
        );
        assert_eq!(
            parse("[other]\nak = x\n", None).unwrap_err(),
            "no [basic] or [global] section with an ak"
        );
        assert_eq!(
            parse("[basic]\nak = x\n", Some("prod")).unwrap_err(),
            "no [prod] section"
        );
        let err = parse("[basic\nsk = SECRET-1\n", None).unwrap_err();
        assert!(err.starts_with("not an INI file"), "{err}");
        assert!(!err.contains("SECRET-1"), "{err}");
    }

    proptest! {
        #[test]
        fn any_text_gives_credentials_or_a_reason_never_a_panic(text in "\\PC{0,200}") {
            let _ = parse(&text, None);
        }

        #[test]
        fn ini_like_text_never_panics(
            text in "(\\[[a-z]{0,6}\\]?\n|[a-z_]{0,8} ?[=:]? ?[\\PC]{0,8}\n|[;#].{0,5}\n){0,10}"
        ) {
            let _ = parse(&text, None);
        }
    }
}
