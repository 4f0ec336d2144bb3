//! `blindnym-server`: serve the evaluator (`--config PATH`) or a development one (`--dev`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use blindnym_server::{AppState, Config, ServerError, dev, serve};
use clap::Parser;

/// The blindnym evaluator as an HTTP service.
#[derive(Parser, Debug)]
#[command(name = "blindnym-server", version, about)]
struct Args {
    /// The configuration file (see config.example.toml).
    #[arg(long, value_name = "PATH", required_unless_present_any = ["dev", "dev_threshold"])]
    config: Option<PathBuf>,
    /// A local evaluator with generated keys in `--dev-dir`, plain HTTP, two callers' keys.
    #[arg(long, conflicts_with = "config")]
    dev: bool,
    /// Writes a development threshold set `T/N` (e.g. 2/3) into `--dev-dir`: shares of the
    /// development keys, a peer CA and certificates, and `evaluator-I/config.toml` for each
    /// evaluator (public ports from `--listen` up, peer ports 100 above); then exits. Start
    /// each with `--config`.
    #[arg(long, value_name = "T/N", conflicts_with_all = ["config", "dev"])]
    dev_threshold: Option<String>,
    /// Folder of the development keys and store.
    #[arg(long, default_value = "blindnym-dev")]
    dev_dir: PathBuf,
    /// Address for `--dev`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// With `--config` (a single evaluator): writes the public keys of its current epoch (a
    /// 140-byte key-set entry) to PATH for the key-set signer (`blindnym sign-key-set`), then
    /// exits. At the first start this begins the ratchet from the root seed.
    #[arg(long, value_name = "PATH", requires = "config")]
    export_epoch_keys: Option<PathBuf>,
    /// With `--config` (a single evaluator, stopped): rotates to the next epoch
    /// (`spec/04-keys.md` §4.3). The current epoch's state is kept for migrations while the
    /// key set lists it; the next epoch's public keys are written to PATH for the signer, who
    /// signs a set listing both; then start the evaluator on that set. To retire the old
    /// epoch, sign a set without it (`blindnym sign-key-set --retire E`): the next start
    /// erases its keys.
    #[arg(
        long,
        value_name = "PATH",
        requires = "config",
        conflicts_with = "export_epoch_keys"
    )]
    rotate: Option<PathBuf>,
    /// With `--rotate`: when the next epoch becomes current (Unix seconds; default now). An
    /// epoch announced ahead lets caches fetch the set before the switch.
    #[arg(long, value_name = "UNIX_SECONDS", requires = "rotate")]
    not_before: Option<u64>,
    /// With `--config` (threshold mode, the evaluator stopped): takes part in the ceremony
    /// of the plan file PATH (`spec/12-threshold.md` §12.13) with the other evaluators over
    /// the peer listener: a new epoch's keys without a dealer, a share refresh, or a committee
    /// change. Every participant is given the same file. The new shares are written beside
    /// the current ones as `.next`, the new public side to the data folder for the signer;
    /// then it exits.
    #[arg(
        long,
        value_name = "PATH",
        requires = "config",
        conflicts_with_all = ["export_epoch_keys", "rotate"]
    )]
    ceremony: Option<PathBuf>,
}

async fn ceremony(config: &Config, plan: &std::path::Path) -> Result<(), ServerError> {
    use blindnym_server::ceremony::{Ceremony, Plan};
    let plan = Plan::load(plan)?;
    let ceremony = Ceremony::prepare(config, plan)?;
    let section = config
        .threshold
        .as_ref()
        .ok_or_else(|| ServerError::Config("--ceremony needs [threshold]".into()))?;
    let listener = tokio::net::TcpListener::bind(section.peer_listen)
        .await
        .map_err(|e| ServerError::Config(format!("{}: {e}", section.peer_listen)))?;
    let tls = blindnym_server::peer::server_config(section)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listening = tokio::spawn(blindnym_server::api::ceremony::serve(
        listener,
        ceremony.mailbox(),
        ceremony.peers(),
        tls,
        async move {
            let _ = stopped.await;
        },
    ));
    let plan = ceremony.plan();
    eprintln!(
        "blindnym-server: ceremony {:?} ({:?} of epoch {}, to {} of {}) as evaluator {}; plan \
         sha256 {}; peers on https://{}",
        plan.id,
        plan.kind,
        plan.epoch,
        plan.new.t(),
        plan.new.n(),
        section.index,
        hex::encode(plan.digest),
        section.peer_listen
    );
    let outcome = ceremony.run().await;
    // A peer whose answer got lost retries: the mailbox answers it a little longer.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = stop.send(());
    let _ = listening.await;
    let outcome = outcome?;
    match (&outcome.epoch_shares, &outcome.digest) {
        (Some(path), Some(digest)) => {
            eprintln!(
                "blindnym-server: ceremony done. New shares: {}\n  public side (unsigned): {} \
                 sha256 {} — every evaluator must print the same digest",
                outcome
                    .share_files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                path.display(),
                hex::encode(digest)
            );
            let keys = outcome
                .epoch_keys
                .as_ref()
                .map(|k| format!(" --epoch-keys {}", k.display()))
                .unwrap_or_default();
            eprintln!(
                "On the signer's machine:\n  blindnym sign-key-set --signer-key SIGNER --realm \
                 {:?} --previous KEY_SET{keys} --epoch-shares {} --out NEXT_KEY_SET \
                 --epoch-shares-out NEXT_EPOCH_SHARES\nthen install both as key_set_file and \
                 epoch_shares_file and restart every evaluator: each installs its new shares.",
                config.keys.realm,
                path.display()
            );
        }
        _ => eprintln!("blindnym-server: ceremony done; this evaluator dealt and leaves the set"),
    }
    Ok(())
}

fn rotate(
    config: &Config,
    out: &std::path::Path,
    not_before: Option<u64>,
) -> Result<(), ServerError> {
    let public = blindnym_server::single::rotate(config, not_before)?;
    std::fs::write(out, public.to_bytes())
        .map_err(|e| ServerError::Config(format!("{}: {e}", out.display())))?;
    eprintln!(
        "rotated to epoch {} (current from {}); its public keys are in {}. On the signer's \
         machine:\n  blindnym sign-key-set --signer-key SIGNER --realm {:?} --previous KEY_SET \
         --epoch-keys {} --out NEXT_KEY_SET\nthen install NEXT_KEY_SET as key_set_file and \
         start the evaluator",
        public.epoch,
        public.not_before,
        out.display(),
        config.keys.realm,
        out.display()
    );
    Ok(())
}

fn export_epoch_keys(config: &Config, out: &std::path::Path) -> Result<(), ServerError> {
    let keys = blindnym_server::single::load_ratchet(config)?.keys()?;
    let not_before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(60);
    std::fs::write(out, keys.public(not_before).to_bytes())
        .map_err(|e| ServerError::Config(format!("{}: {e}", out.display())))?;
    eprintln!(
        "epoch {} public keys in {}; on the signer's machine:\n  blindnym sign-key-set \
         --signer-key SIGNER --realm {:?} --epoch-keys {} [--previous KEY_SET] --out KEY_SET",
        keys.epoch(),
        out.display(),
        config.keys.realm,
        out.display()
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn dev_threshold(args: &Args, spec: &str) -> Result<(), ServerError> {
    let params = spec
        .split_once('/')
        .and_then(|(t, n)| Some((t.parse().ok()?, n.parse().ok()?)))
        .ok_or_else(|| {
            ServerError::Config(format!("--dev-threshold {spec:?}: use T/N, e.g. 2/3"))
        })?;
    let params = blindnym::threshold::Threshold::new(params.0, params.1)?;
    std::fs::create_dir_all(&args.dev_dir)
        .map_err(|e| ServerError::Config(format!("{}: {e}", args.dev_dir.display())))?;
    let files = dev::threshold_set(&args.dev_dir, params, args.listen)?;
    eprintln!(
        "a {spec} threshold set in {}; start each evaluator:",
        args.dev_dir.display()
    );
    for file in files {
        eprintln!("  blindnym-server --config {}", file.display());
    }
    Ok(())
}

async fn run(args: Args) -> Result<(), ServerError> {
    if let Some(spec) = &args.dev_threshold {
        return dev_threshold(&args, spec);
    }
    let mut config = if args.dev {
        std::fs::create_dir_all(&args.dev_dir)
            .map_err(|e| ServerError::Config(format!("{}: {e}", args.dev_dir.display())))?;
        dev::config(&args.dev_dir, args.listen)?
    } else {
        let path = args
            .config
            .clone()
            .ok_or_else(|| ServerError::Config("--config or --dev".into()))?;
        Config::load(&path)?
    };
    if let Some(out) = &args.export_epoch_keys {
        return export_epoch_keys(&config, out);
    }
    if let Some(out) = &args.rotate {
        return rotate(&config, out, args.not_before);
    }
    if let Some(plan) = &args.ceremony {
        return ceremony(&config, plan).await;
    }
    let tls = if config.server.insecure_http {
        None
    } else {
        match (&config.server.tls_cert_file, &config.server.tls_key_file) {
            (Some(cert), Some(key)) => Some(blindnym_server::tls::server_config(cert, key)?),
            _ => {
                return Err(ServerError::Config(
                    "[server] needs tls_cert_file and tls_key_file (or insecure_http = true, \
                     development only)"
                        .into(),
                ));
            }
        }
    };
    // The public listener first: with port 0 its address is the audience callers sign for.
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| ServerError::Config(format!("{}: {e}", config.server.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| ServerError::Config(e.to_string()))?;
    config
        .server
        .authority
        .get_or_insert_with(|| address.to_string());
    let state = Arc::new(AppState::new(&config)?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let peers = match &config.threshold {
        Some(section) => {
            let listener = tokio::net::TcpListener::bind(section.peer_listen)
                .await
                .map_err(|e| ServerError::Config(format!("{}: {e}", section.peer_listen)))?;
            eprintln!(
                "blindnym-server: evaluator {} of a threshold set; peers on https://{} (mutual TLS)",
                section.index, section.peer_listen
            );
            let tls = blindnym_server::peer::server_config(section)?;
            Some(tokio::spawn(blindnym_server::serve_peers(
                listener,
                state.clone(),
                tls,
                wait(stopped.clone()),
            )))
        }
        None => None,
    };
    match tls {
        Some(_) => eprintln!("blindnym-server listening on https://{address}"),
        None => eprintln!(
            "blindnym-server listening on http://{address} (plain HTTP: development only)"
        ),
    }
    if let (true, Some(anchor)) = (args.dev, &config.keys.anchor) {
        let anchor = anchor.clone();
        // For `blindnym pseudonymise --key-file … --anchor …` in two commands (README).
        std::fs::write(args.dev_dir.join("anchor.hex"), &anchor)
            .map_err(|e| ServerError::Config(format!("anchor.hex: {e}")))?;
        let dir = args.dev_dir.display();
        eprintln!(
            "  key-set anchor:   {anchor} (realm {:?}; also in {dir}/anchor.hex)",
            config.keys.realm,
        );
        eprintln!(
            "  data holder key:  {dir}/{} (flow B, domain {:?})\n  holder key:       {dir}/{} (flow A, subject alice)\n  flow H:           anonymous, no key",
            dev::DEV_DATA_HOLDER_KEY,
            dev::DEV_DOMAIN,
            dev::DEV_HOLDER_KEY,
        );
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    serve(listener, state, tls, wait(stopped)).await?;
    if let Some(peers) = peers {
        peers
            .await
            .map_err(|e| ServerError::Config(format!("peer listener: {e}")))??;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blindnym-server: {e}");
            ExitCode::FAILURE
        }
    }
}
