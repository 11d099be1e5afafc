//! Arguments of the secret tasks (`secret-set`, `secret-list`, `secret-delete`), and the
//! providers whose API keys they store.

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use crate::cli::format::Format;

/// Where the backend listens when Lumigator runs locally.
pub const DEFAULT_API_URL: &str = "http://localhost:8000";

/// The secret tasks.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SecretTask {
    /// Upload a provider API key to the running backend (value read from standard input)
    ///
    /// The value is read from standard input: typed without echo at a terminal, or piped
    /// (`printf %s "$KEY" | cargo xtask secret-set openai`; one line, its newline dropped). It must
    /// have 1 to 1024 characters. The backend stores it encrypted under `{provider}_api_key`,
    /// creating or replacing it. Values are never printed.
    #[command(name = "secret-set")]
    Set(SetArgs),
    /// List the secrets the backend holds (names and descriptions, never values)
    #[command(name = "secret-list")]
    List(ListArgs),
    /// Delete a secret from the backend
    #[command(name = "secret-delete")]
    Delete(DeleteArgs),
}

/// Where the backend is, for every secret task.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// The Lumigator backend's URL (http only)
    #[arg(long, value_name = "URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Seconds to wait for the backend's answer
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// Arguments of `secret-set`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("secret").required(true).args(["provider", "name"])))]
pub struct SetArgs {
    /// Whose API key: stored as `{provider}_api_key`
    #[arg(value_enum)]
    pub provider: Option<Provider>,
    /// Store under this name instead (letters, digits, `_` and `-`)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Description stored with the secret [default: "<Provider> API key, set with cargo xtask secret-set"]
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Arguments of `secret-list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format: a table, or JSON on stdout for scripts
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Arguments of `secret-delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The secret's name, as `secret-list` shows it (e.g. openai_api_key)
    pub name: String,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// The providers whose API keys Lumigator's experiments use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    /// DeepSeek
    #[value(name = "deepseek")]
    DeepSeek,
    /// Hugging Face
    #[value(name = "hf", alias = "huggingface")]
    HuggingFace,
    /// Mistral
    #[value(name = "mistral")]
    Mistral,
    /// OpenAI
    #[value(name = "openai")]
    OpenAi,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 4] = [Provider::DeepSeek, Provider::HuggingFace, Provider::Mistral, Provider::OpenAi];

    /// The name Lumigator looks the key up by: `{provider}_api_key`.
    pub fn secret_name(self) -> &'static str {
        match self {
            Provider::DeepSeek => "deepseek_api_key",
            Provider::HuggingFace => "hf_api_key",
            Provider::Mistral => "mistral_api_key",
            Provider::OpenAi => "openai_api_key",
        }
    }

    /// The provider's name as people write it.
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::DeepSeek => "DeepSeek",
            Provider::HuggingFace => "Hugging Face",
            Provider::Mistral => "Mistral",
            Provider::OpenAi => "OpenAI",
        }
    }

    /// The provider whose conventional secret name is `name`, if any.
    pub fn of_secret_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.secret_name() == name)
    }
}
