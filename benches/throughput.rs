//! Batch throughput of every side and mode, next to the raw curve25519-dalek floor and the
//! `voprf` crate (0.6.0-pre.1, on curve25519-dalek 4), all on the same inputs.
//!
//! Bench ids read `group/what/threads/batch`: `1t` runs in a dedicated one-thread rayon pool,
//! `all` in one with every core. Each id reports elements per second (`Throughput::Elements`),
//! so any figure divides directly by the `floor` group's figure for the same thread count.
//!
//! * `floor/server`, `floor/client_blind`, `floor/client_finalize` — the library's
//!   `hazmat::floor::Floor` for the evaluate, blind and finalize stages: per element, decode +
//!   constant-time variable-base scalar mul + encode; RFC 9380 hash-to-group + scalar mul +
//!   encode; decode + scalar inversion + scalar mul + encode + `Finalize` hash.
//! * `primitive/*` — each of those primitives alone, single-threaded.
//!
//! Batches: 1, 64 and 1024; set `BLINDNYM_BENCH_LARGE=1` to add 65535 (the largest batch one
//! proof covers).

use std::hint::black_box;
use std::time::Duration;

use blindnym::curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use blindnym::curve25519_dalek::scalar::Scalar;
use blindnym::hazmat::floor::{Floor, Stage};
use blindnym::hazmat::{finalize_hash, hash_to_group, random_scalar};
use blindnym::{
    BlindedElement, EvaluatedElement, Mode, OprfServer, PoprfClient, PoprfServer, Proof,
    VoprfClient, VoprfServer,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// Public info of the POPRF benches: the domain of a bulk pseudonymisation (flow B).
const INFO: &[u8] = b"blindnym/domain/tax-office/2026";

/// Batch size of the floor and peer comparisons.
const FLOOR_BATCH: usize = 1024;

/// A framed subject identifier, as the data holder of flow B would feed it.
fn subject(i: usize) -> Vec<u8> {
    let id = format!("{:018}", 110_101_190_001_010_000u64 + i as u64);
    let mut framed = b"blindnym/subject/v1".to_vec();
    framed.extend_from_slice(&u16::try_from(id.len()).expect("18 digits").to_be_bytes());
    framed.extend_from_slice(id.as_bytes());
    framed
}

fn batch_sizes() -> Vec<usize> {
    let mut sizes = vec![1, 64, FLOOR_BATCH];
    if std::env::var_os("BLINDNYM_BENCH_LARGE").is_some() {
        sizes.push(blindnym::MAX_BATCH);
    }
    sizes
}

struct Pools {
    one: ThreadPool,
    all: ThreadPool,
}

impl Pools {
    fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let build = |n| {
            ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("rayon pool")
        };
        Self {
            one: build(1),
            all: build(cores),
        }
    }

    fn each(&self) -> [(&'static str, &ThreadPool); 2] {
        [("1t", &self.one), ("all", &self.all)]
    }
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x626c_696e_646e_796d)
}

fn configure(c: &mut Criterion) -> Criterion {
    std::mem::take(c)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
}

/// The raw per-element costs every protocol figure is read against: the library's
/// [`Floor`], the same definition the runner measures.
fn floor(c: &mut Criterion, pools: &Pools) {
    let mut rng = rng();
    let k = random_scalar(&mut rng).expect("rng");
    let inputs: Vec<Vec<u8>> = (0..FLOOR_BATCH).map(subject).collect();
    let points: Vec<RistrettoPoint> = inputs
        .iter()
        .map(|x| hash_to_group(Mode::Voprf, x).expect("hash"))
        .collect();
    let wire: Vec<[u8; 32]> = points.iter().map(|p| p.compress().to_bytes()).collect();
    let blinds: Vec<Scalar> = (0..FLOOR_BATCH)
        .map(|_| random_scalar(&mut rng).expect("rng"))
        .collect();
    let floor = Floor::new(Mode::Voprf, &inputs, &wire, &wire, &mut rng).expect("floor");

    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Elements(FLOOR_BATCH as u64));
    for (threads, pool) in pools.each() {
        for (name, stage) in [
            ("server", Stage::Evaluate),
            ("client_blind", Stage::Blind),
            ("client_finalize", Stage::Finalize),
        ] {
            group.bench_function(BenchmarkId::new(name, threads), |b| {
                b.iter(|| pool.install(|| floor.run(stage)))
            });
        }
    }
    group.finish();

    // The primitives one at a time, single-threaded, so any other composition of the floor
    // (for instance without the encode) can be read off.
    let mut group = c.benchmark_group("primitive");
    group.throughput(Throughput::Elements(FLOOR_BATCH as u64));
    let decoded: Vec<RistrettoPoint> = wire
        .iter()
        .map(|w| CompressedRistretto(*w).decompress().expect("valid"))
        .collect();
    let each = |f: &dyn Fn(usize)| (0..FLOOR_BATCH).for_each(f);
    group.bench_function("decode", |b| {
        b.iter(|| {
            each(&|i| {
                black_box(CompressedRistretto(wire[i]).decompress());
            })
        })
    });
    group.bench_function("mul", |b| {
        b.iter(|| {
            each(&|i| {
                black_box(k * decoded[i]);
            })
        })
    });
    group.bench_function("encode", |b| {
        b.iter(|| {
            each(&|i| {
                black_box(decoded[i].compress());
            })
        })
    });
    group.bench_function("invert", |b| {
        b.iter(|| {
            each(&|i| {
                black_box(blinds[i].invert());
            })
        })
    });
    group.bench_function("hash_to_group", |b| {
        b.iter(|| {
            each(&|i| {
                let _ = black_box(hash_to_group(Mode::Voprf, &inputs[i]));
            })
        })
    });
    group.bench_function("finalize_hash", |b| {
        b.iter(|| {
            each(&|i| {
                let _ = black_box(finalize_hash(&inputs[i], None, &wire[i]));
            })
        })
    });
    group.finish();
}

/// One key of each mode, with the matching clients.
struct Parties {
    poprf_server: PoprfServer,
    poprf: PoprfClient,
    voprf_server: VoprfServer,
    voprf: VoprfClient,
    oprf_server: OprfServer,
}

impl Parties {
    fn new(rng: &mut ChaCha20Rng) -> Self {
        let poprf_server = PoprfServer::generate(rng).expect("rng");
        let voprf_server = VoprfServer::generate(rng).expect("rng");
        Self {
            poprf: PoprfClient::new(*poprf_server.public_key()),
            voprf: VoprfClient::new(*voprf_server.public_key()),
            poprf_server,
            voprf_server,
            oprf_server: OprfServer::generate(rng).expect("rng"),
        }
    }
}

/// One verifiable exchange of `n` inputs, as it crosses the wire.
struct Exchange {
    inputs: Vec<Vec<u8>>,
    blinds: Vec<blindnym::Blind>,
    blinded: Vec<BlindedElement>,
    request: Vec<[u8; 32]>,
    response: Vec<[u8; 32]>,
    proof: [u8; blindnym::PROOF_LEN],
}

impl Exchange {
    fn new(parties: &Parties, poprf: bool, n: usize, rng: &mut ChaCha20Rng) -> Self {
        let inputs: Vec<Vec<u8>> = (0..n).map(subject).collect();
        let (blinds, blinded) = if poprf {
            parties.poprf.blind_batch(&inputs, rng)
        } else {
            parties.voprf.blind_batch(&inputs, rng)
        }
        .expect("blind");
        let request: Vec<[u8; 32]> = blinded.iter().map(BlindedElement::to_bytes).collect();
        let (response, proof) = evaluate(parties, poprf, &request, rng);
        let response = response.iter().map(EvaluatedElement::to_bytes).collect();
        Self {
            inputs,
            blinds,
            blinded,
            request,
            response,
            proof,
        }
    }
}

/// Evaluator, bytes in and out: decode, evaluate with one batched proof (the evaluated
/// elements carry their encodings), encode the proof.
fn evaluate(
    parties: &Parties,
    poprf: bool,
    request: &[[u8; 32]],
    rng: &mut ChaCha20Rng,
) -> (Vec<EvaluatedElement>, [u8; blindnym::PROOF_LEN]) {
    let blinded = BlindedElement::from_bytes_batch(request).expect("decode");
    let (evaluated, proof) = if poprf {
        parties
            .poprf_server
            .blind_evaluate_batch(&blinded, INFO, rng)
    } else {
        parties.voprf_server.blind_evaluate_batch(&blinded, rng)
    }
    .expect("evaluate");
    (evaluated, proof.to_bytes())
}

/// Client, bytes in: decode the response and proof, verify, unblind, hash.
fn finalize(parties: &Parties, poprf: bool, x: &Exchange) -> Vec<blindnym::Output> {
    let evaluated = EvaluatedElement::from_bytes_batch(&x.response).expect("decode");
    let proof = Proof::from_bytes(&x.proof).expect("decode");
    if poprf {
        parties
            .poprf
            .finalize_batch(&x.inputs, INFO, &x.blinds, &evaluated, &x.blinded, &proof)
    } else {
        parties
            .voprf
            .finalize_batch(&x.inputs, &x.blinds, &evaluated, &x.blinded, &proof)
    }
    .expect("finalize")
}

/// Blind, evaluate and finalize for every mode, batch size and thread count.
fn sides(c: &mut Criterion, pools: &Pools) {
    let mut rng = rng();
    let parties = Parties::new(&mut rng);
    let sizes = batch_sizes();
    let exchanges: Vec<[Exchange; 2]> = sizes
        .iter()
        .map(|&n| [false, true].map(|poprf| Exchange::new(&parties, poprf, n, &mut rng)))
        .collect();
    let mut rng_blind = rng.clone();
    each_mode(c, pools, "client_blind", &sizes, &exchanges, |poprf, x| {
        if poprf {
            parties.poprf.blind_batch(&x.inputs, &mut rng_blind)
        } else {
            parties.voprf.blind_batch(&x.inputs, &mut rng_blind)
        }
        .expect("blind")
    });
    each_mode(
        c,
        pools,
        "server_evaluate",
        &sizes,
        &exchanges,
        |poprf, x| evaluate(&parties, poprf, &x.request, &mut rng),
    );
    each_mode(
        c,
        pools,
        "client_finalize",
        &sizes,
        &exchanges,
        |poprf, x| finalize(&parties, poprf, x),
    );

    // Base mode, for reference: no proof.
    let mut group = c.benchmark_group("server_evaluate");
    for (&n, pair) in sizes.iter().zip(&exchanges) {
        group.throughput(Throughput::Elements(n as u64));
        for (threads, pool) in pools.each() {
            let request = &pair[0].request;
            group.bench_function(BenchmarkId::new(format!("oprf/{threads}"), n), |b| {
                b.iter(|| {
                    pool.install(|| {
                        let blinded = BlindedElement::from_bytes_batch(request).expect("decode");
                        parties.oprf_server.blind_evaluate_batch(&blinded)
                    })
                })
            });
        }
    }
    group.finish();
}

/// Benches `step` as group `name`, ids `mode/threads/batch`, for both verifiable modes.
fn each_mode<R: Send>(
    c: &mut Criterion,
    pools: &Pools,
    name: &str,
    sizes: &[usize],
    exchanges: &[[Exchange; 2]],
    mut step: impl FnMut(bool, &Exchange) -> R + Send,
) {
    let mut group = c.benchmark_group(name);
    for (&n, pair) in sizes.iter().zip(exchanges) {
        group.throughput(Throughput::Elements(n as u64));
        for (threads, pool) in pools.each() {
            for (mode, poprf) in [("voprf", false), ("poprf", true)] {
                let x = &pair[usize::from(poprf)];
                group.bench_function(BenchmarkId::new(format!("{mode}/{threads}"), n), |b| {
                    b.iter(|| pool.install(|| step(poprf, x)))
                });
            }
        }
    }
    group.finish();
}

/// The `voprf` crate and blindnym on the same VOPRF batch of 1024, wire bytes to wire bytes.
/// The peer is single-threaded, so compare `voprf-crate/*` with `blindnym/*/1t`.
fn peer(c: &mut Criterion, pools: &Pools) {
    use rand_chacha_09::ChaCha20Rng as PeerRng;
    use rand_chacha_09::rand_core::SeedableRng as _;
    use voprf::Ristretto255 as Suite;

    let n = FLOOR_BATCH;
    let inputs: Vec<Vec<u8>> = (0..n).map(subject).collect();
    let mut peer_rng = PeerRng::seed_from_u64(7);
    let mut rng = rng();

    // Peer VOPRF.
    let peer_server = voprf::VoprfServer::<Suite>::new(&mut peer_rng).expect("rng");
    let peer_blinds: Vec<_> = inputs
        .iter()
        .map(|x| voprf::VoprfClient::<Suite>::blind(x, &mut peer_rng).expect("blind"))
        .collect();
    let peer_states: Vec<_> = peer_blinds.iter().map(|r| r.state.clone()).collect();
    let peer_request: Vec<Vec<u8>> = peer_blinds
        .iter()
        .map(|r| r.message.serialize().to_vec())
        .collect();
    let peer_messages: Vec<_> = peer_request
        .iter()
        .map(|b| voprf::BlindedElement::<Suite>::deserialize(b).expect("decode"))
        .collect();
    let peer_result = peer_server
        .batch_blind_evaluate(&mut peer_rng, &peer_messages)
        .expect("evaluate");
    let peer_response: Vec<Vec<u8>> = peer_result
        .messages
        .iter()
        .map(|m| m.serialize().to_vec())
        .collect();
    let peer_proof = peer_result.proof.serialize().to_vec();
    let peer_pk = peer_server.get_public_key();

    // blindnym VOPRF on the same inputs.
    let parties = Parties::new(&mut rng);
    let x = Exchange::new(&parties, false, n, &mut rng);

    let mut group = c.benchmark_group("peer_voprf_1024");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("voprf-crate/server", |b| {
        b.iter(|| {
            let messages: Vec<_> = peer_request
                .iter()
                .map(|b| voprf::BlindedElement::<Suite>::deserialize(b).expect("decode"))
                .collect();
            let result = peer_server
                .batch_blind_evaluate(&mut peer_rng, &messages)
                .expect("evaluate");
            let wire: Vec<_> = result.messages.iter().map(|m| m.serialize()).collect();
            (wire, result.proof.serialize())
        })
    });
    group.bench_function("voprf-crate/client", |b| {
        b.iter(|| {
            let messages: Vec<_> = peer_response
                .iter()
                .map(|b| voprf::EvaluationElement::<Suite>::deserialize(b).expect("decode"))
                .collect();
            let proof = voprf::Proof::<Suite>::deserialize(&peer_proof).expect("decode");
            voprf::VoprfClient::batch_finalize(&inputs, &peer_states, &messages, &proof, peer_pk)
                .expect("verify")
                .collect::<Result<Vec<_>, _>>()
                .expect("finalize")
        })
    });
    group.bench_function("voprf-crate/client_blind", |b| {
        b.iter(|| {
            inputs
                .iter()
                .map(|x| {
                    let r = voprf::VoprfClient::<Suite>::blind(x, &mut peer_rng).expect("blind");
                    (r.state, r.message.serialize())
                })
                .collect::<Vec<_>>()
        })
    });
    for (threads, pool) in pools.each() {
        group.bench_function(format!("blindnym/server/{threads}"), |b| {
            b.iter(|| pool.install(|| evaluate(&parties, false, &x.request, &mut rng)))
        });
        group.bench_function(format!("blindnym/client/{threads}"), |b| {
            b.iter(|| pool.install(|| finalize(&parties, false, &x)))
        });
        group.bench_function(format!("blindnym/client_blind/{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    parties
                        .voprf
                        .blind_batch(&x.inputs, &mut rng)
                        .expect("blind")
                })
            })
        });
    }
    group.finish();

    // Base mode: the peer has no batch API, so both sides loop over the same 1024 inputs.
    let peer_oprf = voprf::OprfServer::<Suite>::new(&mut peer_rng).expect("rng");
    let peer_oprf_blinds: Vec<_> = inputs
        .iter()
        .map(|x| voprf::OprfClient::<Suite>::blind(x, &mut peer_rng).expect("blind"))
        .collect();
    let peer_oprf_request: Vec<Vec<u8>> = peer_oprf_blinds
        .iter()
        .map(|r| r.message.serialize().to_vec())
        .collect();
    let mut group = c.benchmark_group("peer_oprf_1024");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("voprf-crate/server", |b| {
        b.iter(|| {
            peer_oprf_request
                .iter()
                .map(|b| {
                    let m = voprf::BlindedElement::<Suite>::deserialize(b).expect("decode");
                    peer_oprf.blind_evaluate(&m).serialize()
                })
                .collect::<Vec<_>>()
        })
    });
    for (threads, pool) in pools.each() {
        group.bench_function(format!("blindnym/server/{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    let blinded = BlindedElement::from_bytes_batch(&x.request).expect("decode");
                    parties.oprf_server.blind_evaluate_batch(&blinded)
                })
            })
        });
    }
    group.finish();
}

fn all(c: &mut Criterion) {
    let pools = Pools::new();
    let mut c = configure(c);
    floor(&mut c, &pools);
    sides(&mut c, &pools);
    peer(&mut c, &pools);
}

criterion_group!(benches, all);
criterion_main!(benches);
