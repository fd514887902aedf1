//! `selfcheck`: the command line. Parses arguments, loads settings and the board, and hands
//! over to the kiosk or to one of the staff tools.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use selfcheck::board::Board;
use selfcheck::config::layers::Layers;
use selfcheck::config::{self, Settings};
use selfcheck::tools::report;

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
    /// Board: a built-in name (sim, rpi4-pn5180, rpi4-pn5180-rppal, rpi4-serial-3m, rpi4-feig,
    /// rpi4-feig-rc522) or a board file
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
    /// One SIP2 exchange with the ILS, printing the decoded reply
    Sip2(Sip2Args),
    /// Decode, encode, scan and program RFID tags
    #[command(subcommand)]
    Tag(TagCommand),
    /// Inspect barcodes
    #[command(subcommand)]
    Barcode(BarcodeCommand),
    /// Phone tokens: make issuer keys, issue a token, check one as a kiosk would
    #[command(subcommand)]
    Token(selfcheck::tools::token::TokenCommand),
    /// Run the demo library system (a SIP2 server over its own catalogue)
    DemoIls(DemoIlsArgs),
    /// The bookstore counter: export its purchases for the library
    #[command(subcommand)]
    Counter(selfcheck::tools::counter::CounterCommand),
    /// The offline queue: show it, or replay it to the library system
    #[command(subcommand)]
    Sync(selfcheck::tools::sync::SyncCommand),
    /// Check the terminal: board, devices, reader, display, audio, clock, disk, settings, ILS
    Doctor(selfcheck::tools::doctor::DoctorArgs),
    /// Check the receipt printer and the mail server: a sample receipt, printed or mailed
    #[command(subcommand)]
    Receipt(selfcheck::tools::receipt::ReceiptCommand),
    /// The fleet over MQTT: every terminal's status, or simulated terminals
    #[command(subcommand)]
    Fleet(selfcheck::tools::fleet::FleetTool),
    /// Run the embedded MQTT broker (for one site and the demo)
    Broker(selfcheck::tools::fleet::BrokerArgs),
    /// The lobby screen: the library's day, live from the fleet's MQTT topics
    #[cfg(feature = "gui")]
    Lobby(selfcheck::lobby::LobbyArgs),
    /// Render every screen headless into PNG files (<screen>-<lang>-<W>x<H>.png)
    #[cfg(feature = "gui")]
    Screenshot(selfcheck::ui::screenshot::ScreenshotArgs),
}

#[derive(Args)]
struct DemoIlsArgs {
    /// Address to listen on
    #[arg(long, default_value = selfcheck::sip2::demo_ils::DEFAULT_ADDR)]
    listen: String,
    /// Catalogue database file, kept across restarts (default: in memory)
    #[arg(long)]
    db: Option<PathBuf>,
    /// Require this login (93) as USER:PASSWORD
    #[arg(long, value_name = "USER:PASSWORD")]
    login: Option<String>,
    /// Refuse requests without error detection (AY/AZ)
    #[arg(long)]
    error_detection: bool,
    /// Character set: utf-8, cp850, gb18030, latin-1
    #[arg(long, default_value = "utf-8")]
    charset: String,
    /// Add the items of a MARC file (ISO 2709, 952 or 852 holdings) to the catalogue first
    #[arg(long, value_name = "FILE")]
    import: Vec<PathBuf>,
    /// Import new .mrc files appearing in this folder while serving
    #[arg(long, value_name = "DIR")]
    watch: Option<PathBuf>,
    /// Answer patron requests without CQ (valid patron password), as an ILS that cannot
    /// verify PINs
    #[arg(long)]
    no_pin_check: bool,
}

#[derive(Args)]
struct Sip2Args {
    /// HOST:PORT of the SIP2 server (default: ils.server from the settings; "demo" starts one)
    #[arg(long)]
    server: Option<String>,
    /// Use TLS
    #[arg(long)]
    tls: bool,
    /// Login user (93 CN)
    #[arg(long)]
    user: Option<String>,
    /// Login password (93 CO)
    #[arg(long)]
    password: Option<String>,
    /// Location code (93 CP)
    #[arg(long)]
    location: Option<String>,
    /// Institution id (AO)
    #[arg(long)]
    institution: Option<String>,
    /// Character set: utf-8, cp850, gb18030, latin-1
    #[arg(long)]
    charset: Option<String>,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    exchange: Sip2Exchange,
}

#[derive(Subcommand)]
enum Sip2Exchange {
    /// SC status (99 -> 98)
    Status,
    /// Patron information (63 -> 64)
    Patron {
        patron: String,
        #[arg(long)]
        pin: Option<String>,
    },
    /// Check out (11 -> 12)
    Checkout { patron: String, item: String },
    /// Check in (09 -> 10)
    Checkin { item: String },
    /// Renew (29 -> 30)
    Renew { patron: String, item: String },
    /// Item information (17 -> 18)
    Item { item: String },
    /// End patron session (35 -> 36)
    End { patron: String },
}

#[derive(Args)]
struct ItemArgs {
    /// Item id (barcode number)
    #[arg(long)]
    id: String,
    /// Owner library ISIL, e.g. IT-RM0001 (default: rfid.owner_isil from the settings)
    #[arg(long)]
    owner: Option<String>,
    /// Part of a set, PART/TOTAL (e.g. 1/3)
    #[arg(long)]
    parts: Option<String>,
    /// Data model: 28560-3 (Danish), 28560-2 (ISO 15962) or auto (28560-3); default:
    /// rfid.data_model from the settings
    #[arg(long)]
    model: Option<String>,
}

#[derive(Subcommand)]
enum TagCommand {
    /// Decode a tag memory dump given in hex
    Decode {
        hex: String,
        /// The tag's DSFID (0x06 marks ISO 28560-2), if known
        #[arg(long, value_parser = parse_byte)]
        dsfid: Option<u8>,
        #[arg(long)]
        json: bool,
    },
    /// Print the memory image for an item
    Encode {
        #[command(flatten)]
        item: ItemArgs,
        /// Bytes of user memory on the tag
        #[arg(long, default_value_t = selfcheck::tools::tag::DEFAULT_CAPACITY)]
        capacity: usize,
        #[arg(long)]
        json: bool,
    },
    /// List and decode the tags on the board's reader
    Scan {
        /// Simulated board: tags to put on the pad first (TOML or JSON)
        #[arg(long)]
        sim_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Program the tag on the reader with an item's data and arm its security
    Write {
        #[command(flatten)]
        item: ItemArgs,
        /// The tag to program (16 hex digits), when more than one is on the pad
        #[arg(long)]
        uid: Option<String>,
        /// AFI to write instead of rfid.afi_secured (0-255 or 0x00-0xFF)
        #[arg(long, value_parser = parse_byte)]
        afi: Option<u8>,
        /// Lock the data blocks for good (they can never be rewritten)
        #[arg(long)]
        lock: bool,
        /// Simulated board: tags to put on the pad first (TOML or JSON)
        #[arg(long)]
        sim_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BarcodeCommand {
    /// What a code is and whether it is valid
    Check {
        code: String,
        #[arg(long)]
        json: bool,
    },
}

fn parse_byte(text: &str) -> Result<u8, String> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u8::from_str_radix(h, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| format!("\"{text}\" is not a byte (0-255 or 0x00-0xFF)"))
}

#[derive(Args)]
struct RunArgs {
    /// Open the window full screen (the default on a board other than `sim`)
    #[arg(long)]
    fullscreen: bool,
    /// No window: drive the kiosk with JSON lines (see `--events`), report in JSON lines
    #[arg(long)]
    headless: bool,
    /// Headless commands, one JSON object per line; `-` for standard input
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    events: String,
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
    let _ = selfcheck::app::STARTED.set(std::time::Instant::now());
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
        #[cfg(feature = "gui")]
        Command::Lobby(args) => {
            let data_dir = data_dir(cli.global.data_dir.as_deref())?;
            let (settings, source) = load_settings(&cli.global)?;
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                settings = %source,
                data_dir = %data_dir.display(),
                "starting the lobby screen"
            );
            // Before the window and before any thread, as for the kiosk.
            selfcheck::display::apply_env(&settings.display)?;
            let _screen_on = selfcheck::display::keep_screen_on(&settings.display);
            selfcheck::lobby::run::run(&settings, &data_dir, &args)?;
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
        Command::Sip2(args) => sip2(&cli.global, args),
        Command::Tag(command) => tag(&cli.global, command),
        Command::Barcode(BarcodeCommand::Check { code, json }) => {
            let barcode = selfcheck::tools::barcode::check(&code)?;
            if json {
                println!("{}", report::json(&barcode));
            } else {
                println!("{}", selfcheck::scan::describe(&barcode));
            }
            Ok(if barcode.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Token(command) => Ok(selfcheck::tools::token::run(command, || {
            load_settings(&cli.global).map(|(settings, _)| settings)
        })?),
        Command::DemoIls(args) => demo_ils(args),
        Command::Doctor(args) => Ok(selfcheck::tools::doctor::main(
            &args,
            &selfcheck::tools::doctor::Env {
                settings: config::locate(
                    cli.global.config.as_deref(),
                    std::env::var(config::ENV_CONFIG).ok().as_deref(),
                    Path::new(config::SYSTEM_CONFIG),
                ),
                board: cli.global.board.clone(),
                data_dir: data_dir(cli.global.data_dir.as_deref()).map_err(|e| format!("{e:#}")),
            },
        )),
        Command::Receipt(cmd) => Ok(selfcheck::tools::receipt::run(
            cmd,
            &load_settings(&cli.global)?.0,
            &Board::load(&cli.global.board)?,
        )?),
        Command::Fleet(tool) => Ok(selfcheck::tools::fleet::run(
            &load_settings(&cli.global)?.0,
            &tool,
        )
        .map(|()| ExitCode::SUCCESS)?),
        Command::Broker(args) => Ok(selfcheck::tools::fleet::broker(
            &load_settings(&cli.global)?.0,
            &args,
        )
        .map(|()| ExitCode::SUCCESS)?),
        Command::Sync(cmd) => {
            let (settings, _) = load_settings(&cli.global)?;
            let dir = data_dir(cli.global.data_dir.as_deref())?;
            selfcheck::tools::sync::run(&settings, &dir, cmd)
        }
        Command::Counter(cmd) => {
            let (settings, _) = load_settings(&cli.global)?;
            let dir = data_dir(cli.global.data_dir.as_deref())?;
            selfcheck::tools::counter::run(cmd, &settings, &dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) if args.headless => run_headless(&cli.global, &args),
        Command::Run(args) => {
            let data_dir = data_dir(cli.global.data_dir.as_deref())?;
            let (mut settings, source) = load_settings(&cli.global)?;
            demo_telemetry(&mut settings, &cli.global, &source);
            let board = Board::load(&cli.global.board)?;
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                settings = %source,
                board = %board.name,
                data_dir = %data_dir.display(),
                "starting"
            );
            // Before the window and before any thread: Slint reads these when it starts.
            selfcheck::display::apply_env(&settings.display)?;
            let _screen_on = selfcheck::display::keep_screen_on(&settings.display);
            let fullscreen = args.fullscreen || board.name != "sim";
            let ended = selfcheck::app::run(settings, source, board, &data_dir, fullscreen)?;
            Ok(exit_code(ended))
        }
    }
}

/// The exit status of a kiosk run: a restart (asked by staff mode or the fleet) is
/// [`selfcheck::runtime::RESTART_EXIT_CODE`] for the service manager.
fn exit_code(ended: selfcheck::app::Ended) -> ExitCode {
    match ended {
        selfcheck::app::Ended::Closed => ExitCode::SUCCESS,
        selfcheck::app::Ended::Restart => {
            tracing::info!("restart asked: exiting for the service manager to start again");
            ExitCode::from(selfcheck::runtime::RESTART_EXIT_CODE)
        }
    }
}

/// The demo (no settings file) publishes to the embedded broker, so the lobby and `fleet
/// status` have live data with nothing else installed. A `telemetry.enabled` the terminal's
/// own file sets is kept.
fn demo_telemetry(settings: &mut Settings, global: &GlobalArgs, layers: &Layers) {
    let settings_file = config::locate(
        global.config.as_deref(),
        std::env::var(config::ENV_CONFIG).ok().as_deref(),
        Path::new(config::SYSTEM_CONFIG),
    );
    if settings_file.is_some() {
        return;
    }
    let set_locally = std::fs::read_to_string(&layers.local)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|t| {
            t.get("telemetry")
                .and_then(toml::Value::as_table)
                .is_some_and(|t| t.contains_key("enabled"))
        });
    if !set_locally {
        settings.telemetry.enabled = true;
    }
}

fn print<T: serde::Serialize>(value: &T, json: bool) {
    if json {
        println!("{}", report::json(value));
    } else {
        print!("{}", report::human(value));
    }
}

fn sip2(global: &GlobalArgs, args: Sip2Args) -> Result<ExitCode> {
    use selfcheck::tools::sip2::{Exchange, LinkOptions, run};
    let (settings, _) = load_settings(global)?;
    let options = LinkOptions {
        server: args.server,
        tls: args.tls,
        user: args.user,
        password: args.password,
        location: args.location,
        institution: args.institution,
        charset: args.charset,
    };
    let exchange = match args.exchange {
        Sip2Exchange::Status => Exchange::Status,
        Sip2Exchange::Patron { patron, pin } => Exchange::Patron { patron, pin },
        Sip2Exchange::Checkout { patron, item } => Exchange::Checkout { patron, item },
        Sip2Exchange::Checkin { item } => Exchange::Checkin { item },
        Sip2Exchange::Renew { patron, item } => Exchange::Renew { patron, item },
        Sip2Exchange::Item { item } => Exchange::Item { item },
        Sip2Exchange::End { patron } => Exchange::End { patron },
    };
    let outcome = run(&settings, &options, &exchange)?;
    if args.json {
        println!("{}", report::json(&outcome));
    } else {
        println!("server: {}", outcome.server);
        println!("-- request");
        print!("{}", report::human(&outcome.request));
        println!("-- response");
        print!("{}", report::human(&outcome.response));
    }
    Ok(ExitCode::SUCCESS)
}

fn tag(global: &GlobalArgs, command: TagCommand) -> Result<ExitCode> {
    use selfcheck::rfid::sim::SimPad;
    use selfcheck::tools::tag::{self as tool, ItemSpec};

    let item_spec = |item: ItemArgs| -> Result<ItemSpec> {
        let (settings, _) = load_settings(global)?;
        let model = match item.model {
            Some(m) => tool::parse_model(&m)?,
            None => selfcheck::rfid::program::model_to_write(settings.rfid.data_model),
        };
        let owner = item.owner.or(settings.rfid.owner_isil).context(
            "--owner is needed: no rfid.owner_isil in the settings says which library owns the item",
        )?;
        Ok(ItemSpec {
            parts: item.parts.as_deref().map(tool::parse_parts).transpose()?,
            model,
            id: item.id,
            owner,
        })
    };
    let open_reader =
        |sim_file: Option<PathBuf>| -> Result<Box<dyn selfcheck::rfid::reader::TagReader + Send>> {
            let board = Board::load(&global.board)?;
            let pad = SimPad::new();
            if let Some(file) = sim_file {
                pad.load_file(&file)?;
            }
            Ok(selfcheck::hw::open_tag_reader(&board, &pad)?)
        };
    match command {
        TagCommand::Decode { hex, dsfid, json } => print(&tool::decode(&hex, dsfid)?, json),
        TagCommand::Encode {
            item,
            capacity,
            json,
        } => print(&tool::encode(&item_spec(item)?, capacity)?, json),
        TagCommand::Scan { sim_file, json } => {
            let mut reader = open_reader(sim_file)?;
            let tags = tool::scan(reader.as_mut())?;
            if !json && tags.is_empty() {
                println!("no tags on the reader");
            }
            print(&tags, json);
        }
        TagCommand::Write {
            item,
            uid,
            afi,
            lock,
            sim_file,
            json,
        } => {
            let (settings, _) = load_settings(global)?;
            let uid = uid
                .map(|u| {
                    selfcheck::rfid::tag::parse_uid(&u)
                        .with_context(|| format!("--uid \"{u}\" is not 16 hex digits"))
                })
                .transpose()?;
            let mut reader = open_reader(sim_file)?;
            let options = tool::WriteOptions {
                security: settings.rfid.security(),
                security_attempts: settings.rfid.security_retries,
                afi,
                lock,
            };
            let written = tool::write(reader.as_mut(), uid, &item_spec(item)?, &options)?;
            let ok = written.is_verified();
            print(&written, json);
            if !ok {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn demo_ils(args: DemoIlsArgs) -> Result<ExitCode> {
    use selfcheck::sip2::demo_ils::ServerConfig;
    let login = args
        .login
        .map(|l| {
            l.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .context("--login takes USER:PASSWORD")
        })
        .transpose()?;
    let config = ServerConfig {
        login,
        error_detection: args.error_detection,
        charset: args.charset.parse().map_err(anyhow::Error::msg)?,
        verifies_pins: !args.no_pin_check,
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        use selfcheck::tools::demo_ils as tool;
        let (ils, handle) = tool::start(args.db.as_deref(), &args.listen, config).await?;
        let mut imported = Vec::new();
        for file in &args.import {
            let report = ils
                .import_file(file)
                .with_context(|| format!("cannot import {}", file.display()))?;
            imported.push(tool::import_summary(file, &report));
        }
        // The address stays the first line: scripts and tests read the port from it.
        let mut banner = tool::banner(handle.local_addr());
        for line in imported {
            banner.push_str(&line);
            banner.push('\n');
        }
        print!("{banner}");
        if let Some(dir) = args.watch {
            tokio::spawn(tool::watch(ils.clone(), dir));
        }
        use std::io::Write;
        std::io::stdout().flush().ok();
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
        handle.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `selfcheck run --headless`: JSON lines in and out, no window.
fn run_headless(global: &GlobalArgs, args: &RunArgs) -> Result<ExitCode> {
    let (settings, layers) = load_settings(global)?;
    let data_dir = data_dir(global.data_dir.as_deref())?;
    let input: Box<dyn std::io::BufRead + Send> = if args.events == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.events)
            .with_context(|| format!("cannot open the events file {}", args.events))?;
        Box::new(std::io::BufReader::new(file))
    };
    let ended = selfcheck::runtime::headless::run_kiosk(
        settings,
        layers,
        &data_dir,
        input,
        Box::new(std::io::stdout()),
    )?;
    Ok(exit_code(ended))
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

fn load_settings(global: &GlobalArgs) -> Result<(Settings, Layers)> {
    let layers = settings_layers(global);
    Ok((layers.load()?, layers))
}

/// Where the settings come from: the settings file (`--config`, `$SELFCHECK_CONFIG` or the
/// system's), with the terminal's own changes (`config.toml` in the data directory, which
/// staff mode and the fleet write) over it. A settings file named on the command line on a
/// machine whose data directory is only the user's default is read alone, so a tool run by
/// hand is not changed by a demo's saved settings.
fn settings_layers(global: &GlobalArgs) -> Layers {
    let base = config::locate(
        global.config.as_deref(),
        std::env::var(config::ENV_CONFIG).ok().as_deref(),
        Path::new(config::SYSTEM_CONFIG),
    );
    let dir = data_dir_path(global.data_dir.as_deref());
    let data_dir_chosen = global.data_dir.is_some() || dir == Path::new(SYSTEM_DATA_DIR);
    match base {
        Some(base) if !data_dir_chosen => Layers::single(&base),
        base => Layers::new(base, &dir),
    }
}

const SYSTEM_DATA_DIR: &str = "/var/lib/selfcheck";

/// `--data-dir`, else the service's /var/lib/selfcheck when it is there, else the user's
/// data directory (the demo on a laptop).
fn data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let dir = data_dir_path(explicit);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(dir)
}

/// The data directory [`data_dir`] uses, without creating it.
fn data_dir_path(explicit: Option<&Path>) -> PathBuf {
    match explicit {
        Some(d) => d.to_path_buf(),
        None => {
            let system = Path::new(SYSTEM_DATA_DIR);
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
    }
}
