//! `selfcheck`: the command line. Parses arguments, loads settings and the board, and hands
//! over to the kiosk or to one of the staff tools.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use selfcheck::board::Board;
use selfcheck::config::{self, Settings, Source};

#[derive(Parser)]
#[command(
    name = "selfcheck",
    version,
    about = "Self-service kiosk and RFID terminal for public libraries",
    long_about = "Self-service kiosk and RFID terminal for public libraries.\n\n\
                  With no settings file it runs the demo: simulated pad and scanner, and a \
                  demo library system (SIP2) inside the kiosk."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct GlobalArgs {
    /// Settings file (default: $SELFCHECK_CONFIG, then /etc/selfcheck/config.toml, then the
    /// built-in demo settings)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Board: a built-in name (sim, rpi4-pn5180, rpi4-serial-3m, rpi4-feig) or a board file
    #[arg(
        long,
        global = true,
        value_name = "NAME|FILE",
        default_value = "sim",
        env = "SELFCHECK_BOARD"
    )]
    board: String,
    /// Where the database (cache, journal, statistics) lives
    #[arg(long, global = true, value_name = "DIR", env = "SELFCHECK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Log filter: error, warn, info, debug, trace, or per module (selfcheck=debug,warn)
    #[arg(long, global = true, value_name = "LEVEL", default_value = "info")]
    log_level: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk
    Run(RunArgs),
    /// Check or show the settings
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Render every screen headless into PNG files (<screen>-<lang>-<W>x<H>.png)
    #[cfg(feature = "gui")]
    Screenshot(selfcheck::ui::screenshot::ScreenshotArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Open the window full screen (the default on a board other than `sim`)
    #[arg(long)]
    fullscreen: bool,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a settings file (default: the one `run` would use) and report every problem
    Check {
        /// The file to check
        file: Option<PathBuf>,
    },
    /// Print the settings in effect, with secrets hidden
    Show,
    /// Print the staff.pin_hash line for a staff PIN read from standard input
    HashPin,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = selfcheck::logging::init(&cli.global.log_level) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        #[cfg(feature = "gui")]
        Command::Screenshot(args) => {
            let files = selfcheck::ui::screenshot::run(&args)?;
            println!("{} screenshots in {}", files.len(), args.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check { file }) => config_check(&cli.global, file),
        Command::Config(ConfigCommand::Show) => {
            let (settings, source) = load_settings(&cli.global)?;
            println!("# settings from {source}");
            print!(
                "{}",
                toml::to_string(&settings.redacted()).context("cannot print the settings")?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::HashPin) => {
            let mut pin = String::new();
            std::io::stdin()
                .read_line(&mut pin)
                .context("cannot read the PIN from standard input")?;
            let hash = config::hash_pin(pin.trim()).map_err(anyhow::Error::msg)?;
            println!("pin_hash = \"{hash}\"");
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => {
            let (settings, source) = load_settings(&cli.global)?;
            let board = Board::load(&cli.global.board)?;
            let data_dir = data_dir(cli.global.data_dir.as_deref())?;
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                settings = %source,
                board = %board.name,
                data_dir = %data_dir.display(),
                "starting"
            );
            let fullscreen = args.fullscreen || board.name != "sim";
            selfcheck::app::run(settings, board, &data_dir, fullscreen)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn config_check(global: &GlobalArgs, file: Option<PathBuf>) -> Result<ExitCode> {
    let path = file.or_else(|| {
        config::locate(
            global.config.as_deref(),
            std::env::var(config::ENV_CONFIG).ok().as_deref(),
            Path::new(config::SYSTEM_CONFIG),
        )
    });
    let Some(path) = path else {
        println!("no settings file: the built-in demo settings are in effect, and valid");
        return Ok(ExitCode::SUCCESS);
    };
    match Settings::load(&path) {
        Ok(settings) => {
            println!("{}: valid", path.display());
            if settings.has_secrets() {
                warn_if_readable_by_others(&path);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(config::ConfigError::Invalid { path, problems }) => {
            eprintln!("{}: {} problem(s)", path.display(), problems.len());
            for p in problems {
                eprintln!("  {p}");
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Credentials in a file anyone may read are a finding for the technician, not a failure.
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o044 != 0
    {
        eprintln!(
            "warning: {} holds credentials but other users can read it; \
             make it readable by the kiosk's service user only (chmod 600)",
            path.display()
        );
    }
}

fn load_settings(global: &GlobalArgs) -> Result<(Settings, Source)> {
    let path = config::locate(
        global.config.as_deref(),
        std::env::var(config::ENV_CONFIG).ok().as_deref(),
        Path::new(config::SYSTEM_CONFIG),
    );
    match path {
        Some(path) => Ok((Settings::load(&path)?, Source::File(path))),
        None => Ok((Settings::default(), Source::BuiltIn)),
    }
}

/// `--data-dir`, else the service's /var/lib/selfcheck when it is there, else the user's
/// data directory (the demo on a laptop).
fn data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let dir = match explicit {
        Some(d) => d.to_path_buf(),
        None => {
            let system = Path::new("/var/lib/selfcheck");
            if system.is_dir() {
                system.to_path_buf()
            } else if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
                PathBuf::from(xdg).join("selfcheck")
            } else if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                PathBuf::from(home).join(".local/share/selfcheck")
            } else {
                PathBuf::from("selfcheck-data")
            }
        }
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(dir)
}
