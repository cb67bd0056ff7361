//! Synthetic CollecTor archive generator (work in progress).

/// Options of `relaytrail generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Output folder (CollecTor `archive/` layout is created below it).
    #[arg(long)]
    pub out: std::path::PathBuf,
}

/// Writes a synthetic archive.
pub fn generate(_args: &GenerateArgs) -> anyhow::Result<()> {
    anyhow::bail!("the generator is not implemented yet")
}
