//! Finding an encoder given as a Hugging Face repo id, through hf-hub's cache.

use std::path::{Path, PathBuf};

use crate::encoder::ENCODER_FILES;
use crate::error::{ClassifierError, Result};

/// Environment variable that, when `1`/`true`, forbids network access (cache only), as for
/// the Hugging Face libraries.
pub const OFFLINE_ENV: &str = "HF_HUB_OFFLINE";

/// The local folder users can fill instead of downloading `repo` (`models/encoder/<name>`).
pub fn local_folder_for(repo: &str) -> PathBuf {
    let name = repo.rsplit('/').next().unwrap_or(repo);
    Path::new("models").join("encoder").join(name)
}

/// Whether `s` looks like a Hugging Face repo id (`owner/name`) rather than a path.
pub fn is_repo_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && *p != ".."
                && *p != "."
        })
        && !Path::new(s).exists()
}

/// Whether the environment asks for offline operation.
pub fn offline_from_env() -> bool {
    std::env::var(OFFLINE_ENV)
        .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "yes" | "on"))
}

/// Resolves `repo` to a folder holding the encoder files: from the hf-hub cache (`cache`
/// or hf-hub's default), downloading them when not cached and `offline` is false.
/// Offline and not cached, the error names the local folder to fill instead.
pub fn resolve(repo: &str, cache: Option<&Path>, offline: bool) -> Result<PathBuf> {
    let (owner, name) = repo.split_once('/').ok_or_else(|| {
        ClassifierError::invalid(
            "encoder id",
            format!("`{repo}` is not of the form owner/name"),
        )
    })?;
    let (owner, name, repo_s) = (owner.to_string(), name.to_string(), repo.to_string());
    let cache = cache.map(Path::to_path_buf);
    // hf-hub is async; run it on a private runtime in its own thread so this works both from
    // plain threads and from inside a tokio runtime.
    let joined = std::thread::spawn(move || -> Result<PathBuf> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClassifierError::io("starting the hf-hub runtime", e))?;
        rt.block_on(fetch(&repo_s, &owner, &name, cache, offline))
    })
    .join();
    joined.map_err(|_| {
        ClassifierError::invalid(
            "encoder download",
            "the download thread stopped unexpectedly",
        )
    })?
}

async fn fetch(
    repo: &str,
    owner: &str,
    name: &str,
    cache: Option<PathBuf>,
    offline: bool,
) -> Result<PathBuf> {
    let mut builder = hf_hub::HFClient::builder();
    if let Some(c) = &cache {
        builder = builder.cache_dir(c.clone());
    }
    let unavailable = |cache_dir: PathBuf, reason: String| ClassifierError::EncoderUnavailable {
        repo: repo.to_string(),
        cache: cache_dir,
        reason,
        fill: local_folder_for(repo),
    };
    let client = builder
        .build()
        .map_err(|e| unavailable(cache.clone().unwrap_or_default(), e.to_string()))?;
    let cache_dir = client.cache_dir().to_path_buf();
    let model = client.model(owner, name);
    let mut folder: Option<PathBuf> = None;
    for file in ENCODER_FILES {
        let cached = model
            .download_file()
            .filename(file)
            .local_files_only(true)
            .send()
            .await;
        let path = match cached {
            Ok(p) => p,
            Err(_) if !offline => model
                .download_file()
                .filename(file)
                .send()
                .await
                .map_err(|e| unavailable(cache_dir.clone(), format!("{file}: {e}")))?,
            Err(e) => {
                return Err(unavailable(
                    cache_dir.clone(),
                    format!("offline ({OFFLINE_ENV} is set) and {file} is not cached: {e}"),
                ))
            }
        };
        let parent = path.parent().map(Path::to_path_buf).ok_or_else(|| {
            unavailable(
                cache_dir.clone(),
                format!("{file}: cached path has no folder"),
            )
        })?;
        match &folder {
            Some(f) if *f != parent => {
                return Err(unavailable(
                    cache_dir,
                    "cached files are in different snapshots".into(),
                ));
            }
            _ => folder = Some(parent),
        }
    }
    folder.ok_or_else(|| unavailable(cache_dir, "no files".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_and_not_cached_names_the_folder_to_fill() {
        let cache = tempfile::tempdir().unwrap();
        let err = resolve(
            "sentence-transformers/all-MiniLM-L6-v2",
            Some(cache.path()),
            true,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ClassifierError::EncoderUnavailable { .. }),
            "{msg}"
        );
        assert!(msg.contains("models/encoder/all-MiniLM-L6-v2"), "{msg}");
        assert!(msg.contains(&cache.path().display().to_string()), "{msg}");
        assert!(msg.contains("config.json"), "{msg}");
    }

    #[test]
    fn repo_ids_and_paths() {
        assert!(is_repo_id("sentence-transformers/all-MiniLM-L6-v2"));
        assert!(!is_repo_id("models/encoder/all-MiniLM-L6-v2"));
        assert!(!is_repo_id("/abs/path"));
        assert!(!is_repo_id("../x"));
        assert_eq!(local_folder_for("a/b"), Path::new("models/encoder/b"));
    }
}
