//! Load benchmark (not a test): starts `blindnym-server --dev` as its own process, drives flow
//! B from this process over loopback, and reports elements per second, p50/p99 latency, and
//! the ratio to the in-process evaluator measured in the same run on the same request.
//!
//! `cargo build --release -p blindnym-server && cargo run --release -p blindnym-server --example load -- [SECONDS] [BATCH] [CONNECTIONS]`
//!
//! The server and this load generator share the machine's cores; the ratio is per core of
//! what the server process used (its CPU time), so the generator's own cost is not counted
//! against the server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark script: a panic is its failure"
)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use blindnym::caller_auth::{self, RequestSigner};
use blindnym::pseudonym::bulk::{CallerId, DataHolder, Evaluator, Grants, MemoryQuota};
use blindnym::pseudonym::{
    EvaluationBudget, KeyRatchet, KeySetSigner, KeySetVerifier, RootSeed, SignedKeySet,
};

const REALM: &str = "blindnym dev";

/// A signed flow B request's headers (`blindnym::caller_auth`), for the evaluator at `url`.
fn sign(key: &RequestSigner, url: &str, body: &[u8]) -> caller_auth::SignedHeaders {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    key.sign_post(
        &format!("{url}/v1/flow-b/evaluate"),
        REALM,
        None,
        None,
        body,
        now,
        &mut rand::rng(),
    )
    .unwrap()
}

/// CPU seconds a process has used (Linux `/proc/PID/stat`: utime + stime, in clock ticks).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank: p of the way through the sorted latencies.
    let last = sorted.len() - 1;
    let index = (0..=last)
        .find(|&i| i as f64 >= last as f64 * p - 0.5)
        .unwrap_or(last);
    sorted[index]
}

#[tokio::main]
async fn main() {
    // reqwest is built with rustls and no built-in provider in this workspace: ring, as the
    // service uses.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(10);
    let batch: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1024);
    let connections: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(2);

    // The server, as its own process, beside this example's binary.
    let exe = std::env::current_exe().unwrap();
    let server = exe
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("blindnym-server");
    assert!(
        server.exists(),
        "build it first: cargo build --release -p blindnym-server"
    );
    let dir = tempfile::tempdir().unwrap();
    let address: SocketAddr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(&server)
        .args(["--dev", "--dev-dir"])
        .arg(dir.path())
        .args(["--listen", &address.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while TcpStream::connect(address).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("http://{address}");

    // The data holder's side: the key set, one blinded batch, posted again and again (the
    // server's work is the same each time; no client work in the timed loop).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signer =
        KeySetSigner::from_bytes(&std::fs::read(dir.path().join("signer.key")).unwrap()).unwrap();
    let bytes = reqwest::get(format!("{url}/v1/key-set"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let keys = KeySetVerifier::new(signer.verifying_key(), b"blindnym dev")
        .accept(&SignedKeySet::from_bytes(&bytes).unwrap(), now)
        .unwrap();
    let holder = DataHolder::new(keys, b"dev domain").unwrap();
    let ids: Vec<String> = (0..batch).map(|i| format!("1{:017}", i)).collect();
    let (_, request) = holder.blind_batch(&ids, &mut rand::rng()).unwrap();
    let body = Arc::new(request.to_bytes());
    // Every request is signed anew (its nonce is spent once); the signing is the client's
    // cost, outside the server's CPU time.
    let key = Arc::new(
        blindnym_server::dev::caller_key(dir.path(), blindnym_server::dev::DEV_DATA_HOLDER_KEY)
            .unwrap(),
    );

    // Load: `connections` concurrent requesters for `seconds`.
    let client = reqwest::Client::new();
    let cpu_before = cpu_seconds(child.id());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, body, url, key) = (client.clone(), body.clone(), url.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let signed = sign(&key, &url, &body);
                let sent = Instant::now();
                let response = client
                    .post(format!("{url}/v1/flow-b/evaluate"))
                    .header("content-digest", signed.content_digest)
                    .header("signature-input", signed.signature_input)
                    .header("signature", signed.signature)
                    .header(caller_auth::REALM_HEADER, REALM)
                    .body(body.as_ref().clone())
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds(child.id()) - cpu_before;
    child.kill().ok();
    child.wait().ok();
    latencies.sort();
    let elements = (latencies.len() * batch) as f64;

    // In-process: the same key and request on one thread, for the same time, bytes in and
    // bytes out as the service does (decode the request, evaluate, encode the answer).
    let seed = std::fs::read(dir.path().join("root.seed")).unwrap();
    let epoch = KeyRatchet::new(&RootSeed::from_bytes(&seed).unwrap(), b"blindnym dev", 1)
        .unwrap()
        .keys()
        .unwrap();
    let caller = CallerId::new(b"load");
    let evaluator = Evaluator::new(
        epoch.bulk(),
        Grants::new().allow(&caller, b"dev domain"),
        MemoryQuota::new(u64::MAX),
        EvaluationBudget::new(u64::MAX),
    );
    let measure = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let started = Instant::now();
            let mut n = 0usize;
            while started.elapsed() < Duration::from_secs(seconds.min(5)) {
                let decoded = blindnym::pseudonym::bulk::BatchRequest::from_bytes(&body).unwrap();
                let response = evaluator
                    .evaluate_batch(&caller, &decoded, &mut rand::rng())
                    .unwrap();
                std::hint::black_box(response.to_bytes().unwrap());
                n += batch;
            }
            n as f64 / started.elapsed().as_secs_f64() / threads as f64
        })
    };
    // The server's request authentication alone, on one thread: the signature's form and
    // verification, the body's digest and the nonce spent in a SQLite store as the
    // service's (WAL, synchronous FULL), per batch.
    let auth_per_batch = {
        let store =
            blindnym_server::store::Store::open(&dir.path().join("auth.sqlite3"), 0).unwrap();
        let authority = address.to_string();
        let signed: Vec<_> = (0..2000).map(|_| sign(&key, &url, &body)).collect();
        let started = Instant::now();
        for headers in &signed {
            let covered = caller_auth::Covered {
                method: "POST",
                authority: &authority,
                path: "/v1/flow-b/evaluate",
                content_digest: &headers.content_digest,
                realm: REALM,
                tweak: None,
                session: None,
            };
            let presented = caller_auth::Presented::parse(
                &covered,
                &headers.signature_input,
                &headers.signature,
            )
            .unwrap();
            presented.verify(&covered).unwrap();
            caller_auth::check_content_digest(&headers.content_digest, &body).unwrap();
            assert!(
                store
                    .spend_nonce(&presented.key, &presented.nonce, presented.expires, now)
                    .unwrap()
            );
        }
        started.elapsed().as_secs_f64() / signed.len() as f64
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let in_process_per_core = measure(1);
    let in_process_all_per_core = measure(cores);
    let server_per_cpu_second = if server_cpu > 0.0 {
        elements / server_cpu
    } else {
        f64::NAN
    };

    println!(
        "blindnym-server load, flow B, batch {batch}, {connections} connections, {wall:.1} s over loopback"
    );
    println!("  requests            {}", latencies.len());
    println!("  elements/s          {:.0}", elements / wall);
    println!(
        "  latency p50 / p99   {:?} / {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    println!(
        "  server CPU          {server_cpu:.1} s ({:.2} cores busy)",
        server_cpu / wall
    );
    println!("  per server core     {server_per_cpu_second:.0} elements/s");
    println!("  in-process, 1 core  {in_process_per_core:.0} elements/s (bytes in, bytes out)");
    println!("  in-process, {cores} cores {in_process_all_per_core:.0} elements/s per core");
    let evaluation_per_batch = batch as f64 / in_process_per_core;
    println!(
        "  request auth        {:.1} µs per batch ({:.2}% of the batch's in-process evaluation, {:.1} ms; target < 1%)",
        auth_per_batch * 1e6,
        100.0 * auth_per_batch / evaluation_per_batch,
        evaluation_per_batch * 1e3
    );
    println!(
        "  ratio per core      {:.3} against 1 core, {:.3} against {cores} cores (target >= 0.85)",
        server_per_cpu_second / in_process_per_core,
        server_per_cpu_second / in_process_all_per_core
    );
}
