//! The file server over real HTTP: whole files, HEAD, Range requests and resumed downloads,
//! ETag with If-None-Match and If-Range, signed URLs that expire, and per-file counters.

use std::time::{SystemTime, UNIX_EPOCH};

use cwmp_edge::file_server::{router, signed_url, FileServer};
use prometheus_client::metrics::family::Family;

struct Served {
    base: String,
    downloads: Family<Vec<(&'static str, String)>, prometheus_client::metrics::counter::Counter>,
    _dir: tempfile::TempDir,
    image: Vec<u8>,
}

async fn serve(signing_key: Option<&[u8]>) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let image: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::create_dir_all(dir.path().join("fw")).unwrap();
    std::fs::write(dir.path().join("fw/2.0.bin"), &image).unwrap();
    let downloads = Family::default();
    let app = router(FileServer {
        dir: dir.path().to_path_buf(),
        signing_key: signing_key.map(<[u8]>::to_vec),
        downloads: downloads.clone(),
        store: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Served {
        base,
        downloads,
        _dir: dir,
        image,
    }
}

fn count(served: &Served, file: &str, status: u16) -> u64 {
    served
        .downloads
        .get_or_create(&vec![
            ("file", file.to_string()),
            ("status", status.to_string()),
        ])
        .get()
}

#[tokio::test]
async fn whole_files_ranges_resume_head_and_etags() {
    let served = serve(None).await;
    let http = reqwest::Client::new();
    let url = format!("{}/fw/2.0.bin", served.base);

    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    let etag = whole.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"'), "a strong ETag: {etag}");
    assert_eq!(whole.bytes().await.unwrap(), served.image);

    let head = http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        served.image.len().to_string().as_str()
    );
    assert_eq!(head.headers()["etag"], etag.as_str());
    assert!(head.bytes().await.unwrap().is_empty());

    let range = http
        .get(&url)
        .header("Range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert_eq!(
        range.headers()["content-range"],
        format!("bytes 1000-1999/{}", served.image.len()).as_str()
    );
    assert_eq!(range.bytes().await.unwrap(), &served.image[1000..2000]);

    // A download cut at 120,000 bytes resumes where it stopped, for the same file.
    let resumed = http
        .get(&url)
        .header("Range", "bytes=120000-")
        .header("If-Range", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 206);
    assert_eq!(resumed.bytes().await.unwrap(), &served.image[120_000..]);
    // ... and gets the whole file when it changed meanwhile.
    let changed = http
        .get(&url)
        .header("Range", "bytes=120000-")
        .header("If-Range", "\"0-0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.bytes().await.unwrap().len(), served.image.len());

    let unchanged = http
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);

    let missing = http
        .get(format!("{}/fw/9.9.bin", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let escape = http
        .get(format!("{}/fw/%2e%2e/%2e%2e/etc/passwd", served.base))
        .send()
        .await
        .unwrap();
    assert!(escape.status().is_client_error(), "{}", escape.status());

    assert_eq!(count(&served, "/fw/2.0.bin", 200), 3);
    assert_eq!(count(&served, "/fw/2.0.bin", 206), 2);
    assert_eq!(count(&served, "/fw/2.0.bin", 304), 1);
}

#[tokio::test]
async fn with_a_signing_key_only_valid_unexpired_signed_urls_are_served() {
    let key = b"files-key";
    let served = serve(Some(key)).await;
    let http = reqwest::Client::new();
    let url = format!("{}/fw/2.0.bin", served.base);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let unsigned = http.get(&url).send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
    assert!(unsigned
        .text()
        .await
        .unwrap()
        .contains("signed URL is required"));

    let signed = signed_url(key, &url, "/fw/2.0.bin", now + 60);
    let ok = http.get(&signed).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.bytes().await.unwrap(), served.image);

    let expired = signed_url(key, &url, "/fw/2.0.bin", now - 5);
    let refused = http.get(&expired).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("expired"));

    // A signature for one file does not open another.
    let other = signed.replace("/fw/2.0.bin?", "/fw/other.bin?");
    assert_eq!(http.get(&other).send().await.unwrap().status(), 403);
    assert_eq!(count(&served, "/fw/2.0.bin", 403), 2);
}
