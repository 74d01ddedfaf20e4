//! `steady chaos`: the fault-injecting server of `steady-chaos`, in the foreground.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use steady_chaos::{ChaosConfig, Stats};

use crate::cli::ChaosArgs;
use crate::exit::{self, UsageError};

pub async fn run(args: ChaosArgs) -> anyhow::Result<ExitCode> {
    let (mut config, listen_from_file) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError::new(format!("--config: cannot read {}: {e}", path.display()))
            })?;
            ChaosConfig::from_toml(&text)
                .map_err(|e| UsageError::new(format!("--config {}: {e}", path.display())))?
        }
        None => (ChaosConfig::new(), None),
    };
    for spec in &args.faults {
        config = config
            .fault(spec)
            .map_err(|e| UsageError::new(format!("--fault: {e}")))?;
    }
    if let Some(seed) = args.seed {
        config = config.seed(seed);
    }
    if let Some(upstream) = &args.upstream {
        steady::Url::parse(upstream)
            .map_err(|e| UsageError::new(format!("--upstream '{upstream}' is not a URL: {e}")))?;
        config = config.upstream(upstream.clone());
    }
    let listen = if args.listen == "127.0.0.1:8080" {
        listen_from_file.unwrap_or_else(|| args.listen.clone())
    } else {
        args.listen.clone()
    };
    let addr: std::net::SocketAddr = listen.parse().map_err(|_| {
        UsageError::new(format!(
            "--listen '{listen}' is not an address like 127.0.0.1:8080"
        ))
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;

    // The banner is best effort: a closed stdout must not stop the server.
    let mut banner = format!("steady chaos listening on http://{bound}\n");
    match &config.upstream {
        Some(upstream) => banner.push_str(&format!("  proxying to {upstream}\n")),
        None => banner.push_str("  serving the built-in JSON API (GET / lists it)\n"),
    }
    for fault in &config.faults {
        banner.push_str(&format!("  fault: {fault}\n"));
    }
    if let Some(seed) = config.seed {
        banner.push_str(&format!("  seed: {seed}\n"));
    }
    banner.push_str(&format!(
        "  stats: http://{bound}/__chaos/stats    (Ctrl-C stops)\n"
    ));
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }

    let stats = Arc::new(Stats::default());
    steady_chaos::chaos::serve(listener, config, Arc::clone(&stats), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    eprintln!("steady chaos: stopped after {} requests", stats.requests());
    Ok(exit::exit(exit::SUCCESS))
}
