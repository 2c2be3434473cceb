//! Real SMTP servers for tests: Postfix's smtp-sink and Python's aiosmtpd, each on a
//! free port of this machine, stopped when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for(port: u16, child: &mut Child, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited before listening ({status}); is it installed? scripts/test installs it"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port}");
}

fn spawn(mut cmd: Command, port: u16, what: &str) -> Server {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e} (scripts/test installs it)"));
    wait_for(port, &mut child, what);
    Server { child, port }
}

/// aiosmtpd storing every message in a Maildir, exactly as DESIGN §5 runs it.
pub fn aiosmtpd_maildir(maildir: &Path) -> Server {
    aiosmtpd_maildir_on(free_port(), maildir)
}

pub fn aiosmtpd_maildir_on(port: u16, maildir: &Path) -> Server {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        &format!("127.0.0.1:{port}"),
        "-c",
        "aiosmtpd.handlers.Mailbox",
    ])
    .arg(maildir);
    spawn(cmd, port, "aiosmtpd")
}

/// aiosmtpd answering by recipient: bounce*@ 5.1.1, policy*@ 5.7.26, defer*@ 4.3.0.
pub fn answering_server(maildir: &Path) -> Server {
    answering_server_with(maildir, 0.0, false)
}

/// The answering server, replying `delay` seconds after it stored each message, and
/// offering SMTPUTF8 or not.
pub fn answering_server_with(maildir: &Path, delay: f64, smtputf8: bool) -> Server {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(port.to_string())
        .arg(maildir)
        .arg(delay.to_string())
        .env("SMTPUTF8", if smtputf8 { "1" } else { "0" });
    spawn(cmd, port, "the answering aiosmtpd server")
}

/// Postfix's smtp-sink with fault flags (e.g. `-r RCPT`), dumping each accepted
/// message into `dump` so duplicates can be counted.
pub fn smtp_sink_on(port: u16, flags: &[&str], dump: &Path) -> Server {
    std::fs::create_dir_all(dump).expect("dump dir");
    // smtp-sink drops to `nobody`, who must be able to write the dumps.
    let mut p = dump.to_path_buf();
    loop {
        let _ = std::process::Command::new("chmod")
            .arg("a+rwx")
            .arg(&p)
            .status();
        if !p.pop() || p.as_os_str().is_empty() || p == Path::new("/") || p == std::env::temp_dir()
        {
            break;
        }
    }
    let template = format!("{}/%s.", dump.display());
    let mut cmd = Command::new("smtp-sink");
    cmd.args(["-u", "nobody", "-d", &template])
        .args(flags)
        .arg(format!("127.0.0.1:{port}"))
        .arg("256");
    spawn(cmd, port, "smtp-sink")
}

pub fn smtp_sink(flags: &[&str], dump: &Path) -> Server {
    smtp_sink_on(free_port(), flags, dump)
}

/// Messages parsed by Python's e-mail package (tests/support/read_maildir.py).
pub fn read_messages(dir: &Path) -> Vec<serde_json::Value> {
    let script: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/read_maildir.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "read_maildir.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Files smtp-sink dumped (one per accepted message).
pub fn dumped(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| e.path().is_file()).count())
        .unwrap_or(0)
}
