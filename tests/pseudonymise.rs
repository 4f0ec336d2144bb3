//! `blindnym pseudonymise` against a real `blindnym-server` process on 127.0.0.1: 10^5 rows,
//! the evaluator killed and restarted mid-run, and the client itself killed and resumed; the
//! output equals the reference exactly, no row lost or repeated. The same through a 2-of-3
//! threshold set of server processes, one evaluator killed for good and another killed and
//! restarted mid-run. Also the documented refusals: an empty identifier, a domain the caller
//! is not granted.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a panic is a failed test"
)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blindnym::pseudonym::bulk::{Evaluator, Grants, MemoryQuota};
use blindnym::pseudonym::{EvaluationBudget, KeyRatchet, KeySetSigner, RootSeed};

const DOMAIN: &str = "dev domain";
const REALM: &str = "blindnym dev";

/// The server binary, built on demand beside this test's `blindnym`.
fn server_binary() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_blindnym"))
        .parent()
        .unwrap()
        .to_path_buf();
    let profile_release = dir.ends_with("release");
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-p", "blindnym-server", "--bin", "blindnym-server"]);
    if profile_release {
        build.arg("--release");
    }
    assert!(
        build.status().unwrap().success(),
        "cargo build -p blindnym-server failed"
    );
    dir.join("blindnym-server")
}

fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn start_server(binary: &Path, dir: &Path, address: SocketAddr) -> Child {
    let mut command = Command::new(binary);
    command
        .args(["--dev", "--dev-dir"])
        .arg(dir)
        .args(["--listen", &address.to_string()]);
    wait_until_listening(command, address)
}

fn wait_until_listening(mut command: Command, address: SocketAddr) -> Child {
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(address).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn anchor(dir: &Path) -> String {
    let seed = std::fs::read(dir.join("signer.key")).unwrap();
    hex::encode(
        KeySetSigner::from_bytes(&seed)
            .unwrap()
            .verifying_key()
            .as_bytes(),
    )
}

fn client(dir: &Path, address: SocketAddr, input: &Path, output: &Path, domain: &str) -> Command {
    client_of(dir, &[address], input, output, domain)
}

fn client_of(
    dir: &Path,
    evaluators: &[SocketAddr],
    input: &Path,
    output: &Path,
    domain: &str,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blindnym"));
    command.arg("pseudonymise");
    for address in evaluators {
        command.args(["--evaluator", &format!("http://{address}")]);
    }
    command
        .arg("--key-file")
        .arg(dir.join("data-holder.key"))
        .args([
            "--anchor",
            &anchor(dir),
            "--realm",
            REALM,
            "--domain",
            domain,
            "--column",
            "id",
        ])
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(["--batch", "1024"])
        .stderr(Stdio::piped());
    command
}

fn write_register(path: &Path, rows: usize) -> Vec<String> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "id,name").unwrap();
    let ids: Vec<String> = (0..rows).map(|i| format!("1{:017}", i * 7919)).collect();
    for (i, id) in ids.iter().enumerate() {
        writeln!(file, "{id},\"person {i}, of the register\"").unwrap();
    }
    ids
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    // The evaluator writes the data holder's request key into the folder at its first start.
    let dir = tempfile::tempdir().unwrap();
    (dir, server_binary())
}

fn rows_done(output: &Path) -> u64 {
    let mut name = output.as_os_str().to_owned();
    name.push(".progress");
    std::fs::read_to_string(PathBuf::from(name))
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .find_map(|f| f.strip_prefix("rows=").and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn wait_for_rows(output: &Path, rows: u64, child: &mut Child) {
    let started = Instant::now();
    while rows_done(output) < rows {
        assert!(child.try_wait().unwrap().is_none(), "client ended early");
        assert!(started.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_evaluator_and_a_killed_client_lose_and_repeat_no_row() {
    let (dir, binary) = setup();
    let address = free_address();
    let mut server = start_server(&binary, dir.path(), address);
    let input = dir.path().join("register.csv");
    let output = dir.path().join("pseudonymised.csv");
    let ids = write_register(&input, 100_000);

    // The client runs; the evaluator is killed outright and restarted while it works.
    let mut run = client(dir.path(), address, &input, &output, DOMAIN)
        .spawn()
        .unwrap();
    wait_for_rows(&output, 20_000, &mut run);
    server.kill().unwrap();
    server.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut server = start_server(&binary, dir.path(), address);
    // Then the client itself is killed, and started again: it resumes.
    wait_for_rows(&output, 50_000, &mut run);
    run.kill().unwrap();
    run.wait().unwrap();
    let done = client(dir.path(), address, &input, &output, DOMAIN)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    server.kill().unwrap();
    server.wait().unwrap();

    assert_equals_reference(dir.path(), &output, &ids);
}

/// The output equals the development key's non-blind evaluation, row for row, and the
/// finished run left no progress file.
fn assert_equals_reference(dir: &Path, output: &Path, ids: &[String]) {
    let seed = std::fs::read(dir.join("root.seed")).unwrap();
    let keys = KeyRatchet::new(&RootSeed::from_bytes(&seed).unwrap(), REALM.as_bytes(), 1)
        .unwrap()
        .keys()
        .unwrap();
    let evaluator = Evaluator::new(
        keys.bulk(),
        Grants::new(),
        MemoryQuota::new(0),
        EvaluationBudget::default(),
    );
    let mut reader = csv::Reader::from_path(output).unwrap();
    assert_eq!(reader.headers().unwrap(), vec!["id", "name"]);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), ids.len(), "rows lost or repeated");
    for (i, (record, id)) in records.iter().zip(ids).enumerate() {
        let expected = evaluator
            .evaluate_direct(DOMAIN.as_bytes(), id.as_bytes())
            .unwrap();
        assert_eq!(&record[0], expected.to_text(), "row {i}");
        assert_eq!(
            &record[1],
            format!("person {i}, of the register"),
            "row {i}"
        );
    }
    let mut progress = output.as_os_str().to_owned();
    progress.push(".progress");
    assert!(
        !PathBuf::from(progress).exists(),
        "a finished run leaves no progress file"
    );
}

/// A base port with its next two and the three 100 above free (the development threshold
/// set's public and peer listeners).
fn free_base_port() -> u16 {
    // Random starts: tests running at once (threads or processes) rarely meet, and a base
    // taken between the check and the bind fails loudly rather than silently.
    (0..200)
        .map(|_| 20_000 + rand::random::<u16>() % 30_000)
        .find(|&base| {
            (0..3).all(|i| {
                TcpListener::bind(("127.0.0.1", base + i)).is_ok()
                    && TcpListener::bind(("127.0.0.1", base + 100 + i)).is_ok()
            })
        })
        .unwrap()
}

#[test]
fn a_threshold_set_with_one_evaluator_gone_for_good_loses_and_repeats_no_row() {
    let (dir, binary) = setup();
    let base = free_base_port();
    let generated = Command::new(&binary)
        .args(["--dev-threshold", "2/3", "--dev-dir"])
        .arg(dir.path())
        .args(["--listen", &format!("127.0.0.1:{base}")])
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let addresses: Vec<SocketAddr> = (0..3)
        .map(|i| SocketAddr::from(([127, 0, 0, 1], base + i)))
        .collect();
    let start = |index: usize| {
        let mut command = Command::new(&binary);
        command.arg("--config").arg(
            dir.path()
                .join(format!("evaluator-{}", index + 1))
                .join("config.toml"),
        );
        wait_until_listening(command, addresses[index])
    };
    let mut servers: Vec<Child> = (0..3).map(start).collect();
    let input = dir.path().join("register.csv");
    let output = dir.path().join("pseudonymised.csv");
    let ids = write_register(&input, 100_000);

    let mut run = client_of(dir.path(), &addresses, &input, &output, DOMAIN)
        .spawn()
        .unwrap();
    // Evaluator 3 is killed for good; two of three remain, which is t.
    wait_for_rows(&output, 20_000, &mut run);
    servers[2].kill().unwrap();
    servers[2].wait().unwrap();
    // Evaluator 1 is killed and restarted: while it is down only one answers, and the client
    // waits; back up, it answers with the tweak share it kept.
    wait_for_rows(&output, 40_000, &mut run);
    servers[0].kill().unwrap();
    servers[0].wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    servers[0] = start(0);
    // Then the client itself is killed and resumed.
    wait_for_rows(&output, 60_000, &mut run);
    run.kill().unwrap();
    run.wait().unwrap();
    let done = client_of(dir.path(), &addresses, &input, &output, DOMAIN)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    for (i, server) in servers.iter_mut().enumerate() {
        if i != 2 {
            server.kill().unwrap();
            server.wait().unwrap();
        }
    }
    assert_equals_reference(dir.path(), &output, &ids);
}

#[test]
fn refusals_are_reported_as_reasons() {
    let (dir, binary) = setup();
    let address = free_address();
    let mut server = start_server(&binary, dir.path(), address);
    let input = dir.path().join("register.csv");
    write_register(&input, 10);
    // A domain the caller is not granted: the evaluator's reason, no stack trace.
    let output = dir.path().join("out.csv");
    let refused = client(dir.path(), address, &input, &output, "another domain")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the evaluator refused: Unauthorized"),
        "{stderr}"
    );
    // An empty identifier.
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "id,name\n,nobody\n").unwrap();
    let failed = client(
        dir.path(),
        address,
        &empty,
        &dir.path().join("out2.csv"),
        DOMAIN,
    )
    .output()
    .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("identifier is empty"));
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Issue 20, as an operator does it with the two binaries: the evaluator's first start (here
/// `--export-epoch-keys`) begins the ratchet from the root seed and exports the epoch's public
/// keys; `blindnym sign-key-set` signs them on the signer's side; the evaluator, which never
/// sees the signer key, serves exactly those bytes, refuses a configuration that still names
/// the consumed seed, and a re-signing keeps the epoch and takes the next sequence number.
#[test]
fn an_operator_signs_the_key_set_offline_and_the_evaluator_serves_it() {
    use blindnym::pseudonym::SignedKeySet;
    let binary = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let secret = |name: &str, byte: u8| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(path(name))
            .unwrap()
            .write_all(&[byte; 32])
            .unwrap();
    };
    secret("root.seed", 0x31);
    secret("signer.key", 0x32);
    let signer = KeySetSigner::from_bytes(&[0x32; 32]).unwrap();
    let address = free_address();
    let config = |with_seed: bool| {
        let seed = if with_seed {
            format!("root_seed_file = {:?}\n", path("root.seed"))
        } else {
            String::new()
        };
        format!(
            "[server]\nlisten = \"{address}\"\ndata_dir = {:?}\ninsecure_http = true\n\n\
             [keys]\nrealm = \"operator realm\"\n{seed}key_set_file = {:?}\nanchor = \"{}\"\n",
            path("data"),
            path("key-set.bin"),
            hex::encode(signer.verifying_key().as_bytes()),
        )
    };
    std::fs::write(path("config.toml"), config(true)).unwrap();
    let export = || {
        Command::new(&binary)
            .arg("--config")
            .arg(path("config.toml"))
            .arg("--export-epoch-keys")
            .arg(path("epoch.pub"))
            .output()
            .unwrap()
    };
    assert!(export().status.success());
    assert!(path("data").join("ratchet.state").exists());
    let sign = |previous: Option<&str>, out: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_blindnym"));
        command
            .arg("sign-key-set")
            .arg("--signer-key")
            .arg(path("signer.key"))
            .args(["--realm", "operator realm", "--epoch-keys"])
            .arg(path("epoch.pub"))
            .arg("--out")
            .arg(path(out));
        if let Some(previous) = previous {
            command.arg("--previous").arg(path(previous));
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(sign(None, "key-set.bin").starts_with("key set 1 "));

    // The seed was consumed: naming it again is refused.
    let refused = export();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("consumed once"));
    std::fs::write(path("config.toml"), config(false)).unwrap();
    let mut command = Command::new(&binary);
    command.arg("--config").arg(path("config.toml"));
    let mut server = wait_until_listening(command, address);
    let served = ureq::get(&format!("http://{address}/v1/key-set"))
        .call()
        .unwrap()
        .into_body()
        .read_to_vec()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let signed = std::fs::read(path("key-set.bin")).unwrap();
    assert_eq!(served, signed, "the evaluator serves the signer's bytes");

    // The next set keeps the epoch as first published and takes sequence 2.
    assert!(sign(Some("key-set.bin"), "key-set-2.bin").starts_with("key set 2 "));
    let (first, second) = (
        SignedKeySet::from_bytes(&signed).unwrap(),
        SignedKeySet::from_bytes(&std::fs::read(path("key-set-2.bin")).unwrap()).unwrap(),
    );
    assert_eq!(first.unverified().epochs(), second.unverified().epochs());
}
