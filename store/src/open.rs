//! Opening the store a URL names, as the binaries' `--store` flag takes it:
//!
//! | URL | store |
//! |---|---|
//! | empty, or `embedded:` | the embedded redb store in the data directory ([`crate::embedded`]) |
//! | `tikv://host:port[,host:port...][?timeout=5s]` | a TiKV cluster through those PD endpoints ([`crate::tikv`]) |

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::embedded::{EmbeddedOptions, EmbeddedStore};
use crate::error::{Result, StoreError};
use crate::kv::Store;
use crate::tikv::{TikvOptions, TikvStore, URL_SCHEME};

/// The URL meaning the embedded store (as does an empty URL).
pub const EMBEDDED_URL: &str = "embedded:";

/// Which backend a store URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// The embedded store in the data directory.
    Embedded,
    /// A TiKV cluster.
    Tikv(TikvOptions),
}

impl StoreUrl {
    /// Parses a store URL; `None` or an empty one means [`StoreUrl::Embedded`]. Anything else
    /// than the forms in the module docs is [`StoreError::Invalid`].
    pub fn parse(url: Option<&str>) -> Result<StoreUrl> {
        match url.map(str::trim) {
            None | Some("") | Some(EMBEDDED_URL) => Ok(StoreUrl::Embedded),
            Some(url) if url.starts_with(URL_SCHEME) => {
                TikvOptions::from_url(url).map(StoreUrl::Tikv)
            }
            Some(url) => Err(StoreError::Invalid(format!(
                "store URL {url:?}: expected {EMBEDDED_URL} or {URL_SCHEME}host:port[,host:port...]"
            ))),
        }
    }

    /// Opens the store: the embedded one in `data_dir` with `embedded` options, or a
    /// [`TikvStore`], which connects on first use (so this does no network I/O and succeeds
    /// while the cluster is down; its transactions then fail with
    /// [`StoreError::Unavailable`] until it is back).
    pub fn open(&self, data_dir: &Path, embedded: EmbeddedOptions) -> Result<Arc<dyn Store>> {
        Ok(match self {
            StoreUrl::Embedded => Arc::new(EmbeddedStore::open_with(data_dir, embedded)?),
            StoreUrl::Tikv(options) => Arc::new(TikvStore::new(options.clone())),
        })
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Embedded => f.write_str(EMBEDDED_URL),
            StoreUrl::Tikv(options) => write!(
                f,
                "{URL_SCHEME}{}?timeout={}ms",
                options.pd_endpoints.join(","),
                options.timeout.as_millis()
            ),
        }
    }
}

/// Opens the store `url` names (see the module docs and [`StoreUrl::open`]).
pub fn open_store(
    url: Option<&str>,
    data_dir: &Path,
    embedded: EmbeddedOptions,
) -> Result<Arc<dyn Store>> {
    StoreUrl::parse(url)?.open(data_dir, embedded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_urls() {
        assert_eq!(StoreUrl::parse(None).unwrap(), StoreUrl::Embedded);
        assert_eq!(StoreUrl::parse(Some("")).unwrap(), StoreUrl::Embedded);
        assert_eq!(
            StoreUrl::parse(Some("embedded:")).unwrap(),
            StoreUrl::Embedded
        );
        let url = StoreUrl::parse(Some("tikv://a:1,b:2")).unwrap();
        assert_eq!(
            url,
            StoreUrl::Tikv(TikvOptions::new(vec!["a:1".into(), "b:2".into()]))
        );
        assert_eq!(url.to_string(), "tikv://a:1,b:2?timeout=5000ms");
        assert_eq!(StoreUrl::parse(Some(&url.to_string())).unwrap(), url);
        for bad in ["redb:/tmp", "embedded:/tmp", "tikv://nowhere"] {
            assert!(
                matches!(StoreUrl::parse(Some(bad)), Err(StoreError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn opens_the_embedded_store_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(None, dir.path(), EmbeddedOptions::default()).unwrap();
        let mut txn = store.begin().await.unwrap();
        txn.put(b"k".to_vec(), b"v".to_vec()).await.unwrap();
        txn.commit().await.unwrap();
        assert!(dir.path().join(crate::embedded::FILE_NAME).is_file());
    }
}
