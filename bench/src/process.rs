//! A function process run the way Lambda runs it: `bootstrap` started with the Runtime API's
//! address, fed events one at a time, watched through /proc.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::process::{Child, Command};

use crate::runtime_api::{Answer, RuntimeApi};

/// How long a process may take to start or to answer before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Running {
    child: Child,
    api: RuntimeApi,
    started: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start {0}: {1}")]
    Spawn(String, std::io::Error),
    #[error("{0} did not ask for an event within {PATIENCE:?} (init error: {1:?})")]
    NoPoll(String, Option<String>),
    #[error("{0} did not answer within {PATIENCE:?}")]
    NoAnswer(String),
}

impl Running {
    /// Starts `program` (with `args`) against a fresh Runtime API, with the environment Lambda
    /// gives a 128 MB function plus `env`.
    pub async fn start(
        name: &str,
        program: &Path,
        args: &[&str],
        env: &[(String, String)],
    ) -> Result<Running, RunError> {
        let api = RuntimeApi::start()
            .await
            .map_err(|e| RunError::Spawn(name.to_owned(), e))?;
        // What a process says on stderr (a panic, a Python traceback) is kept for whoever debugs.
        let logs = Path::new("target/bench-logs");
        let _ = std::fs::create_dir_all(logs);
        let stderr = std::fs::File::create(logs.join(format!("{name}.stderr")))
            .map_or_else(|_| Stdio::null(), Stdio::from);
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| RunError::Spawn(name.to_owned(), e))?;
        Ok(Running {
            child,
            api,
            started,
        })
    }

    /// From exec to the first call to `/runtime/invocation/next`.
    pub async fn init(&self, name: &str) -> Result<Duration, RunError> {
        match tokio::time::timeout(PATIENCE, self.api.first_poll()).await {
            Ok(at) => Ok(at - self.started),
            Err(_) => Err(RunError::NoPoll(name.to_owned(), self.api.init_error())),
        }
    }

    /// Since the process was started.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    /// Hands `event` over and waits for the answer; the time from handing it to the answer.
    pub async fn invoke(&self, name: &str, event: Bytes) -> Result<(Duration, Answer), RunError> {
        let sent = Instant::now();
        match tokio::time::timeout(PATIENCE, self.api.invoke(event)).await {
            Ok(Some(answer)) => Ok((answer.at - sent, answer)),
            _ => Err(RunError::NoAnswer(name.to_owned())),
        }
    }

    /// User + system CPU time of the process so far.
    pub fn cpu(&self) -> Duration {
        let ticks = self
            .proc_file("stat")
            .and_then(|stat| {
                // Fields after the command name (which may hold spaces): utime is the 12th.
                let rest = stat.rsplit_once(')')?.1.to_owned();
                let fields: Vec<&str> = rest.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        Duration::from_millis(ticks * 1000 / clock_ticks_per_second())
    }

    /// Peak resident memory (VmHWM) in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        self.proc_file("status")
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
                line.split_whitespace().nth(1)?.parse::<f64>().ok()
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }

    fn proc_file(&self, name: &str) -> Option<String> {
        let pid = self.child.id()?;
        std::fs::read_to_string(format!("/proc/{pid}/{name}")).ok()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}
