//! What the CLI tests share: a temp database path and the binary, run as an
//! operator would run it (plain output, the test keys in the environment).
#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::process::{Command, Output};

/// A database path in a folder of its own, removed (with the database and
/// anything else the test wrote there) when the test ends.
pub struct TempDb {
    dir: PathBuf,
    path: PathBuf,
}

impl std::ops::Deref for TempDb {
    type Target = PathBuf;

    fn deref(&self) -> &PathBuf {
        &self.path
    }
}

impl AsRef<std::path::Path> for TempDb {
    fn as_ref(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TempDb {
    /// The test's own folder (a working directory for the binary).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

pub fn temp_db(name: &str) -> TempDb {
    let dir = std::env::temp_dir().join(format!("agentsec-cli-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("agentsec.db");
    TempDb { dir, path }
}

pub fn agentsec(args: &[&str]) -> Output {
    command(args).output().expect("the binary runs")
}

/// The binary run in the folder `dir` (for its default `./agentsec.db`).
pub fn agentsec_in(dir: &std::path::Path, args: &[&str]) -> Output {
    command(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// The command, set up as the tests run it.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentsec"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .env(
            "AGENTSEC_SECRET_AGENTSEC_KEY_PEPPER",
            "pepper-for-the-cli-tests-0123456789abcdef",
        )
        .env(
            "AGENTSEC_SECRET_AGENTSEC_APPROVAL_KEY",
            "approval-key-for-the-cli-tests-0123456789",
        );
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
