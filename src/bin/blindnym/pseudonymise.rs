//! `blindnym pseudonymise`: a data holder pseudonymises one column of a CSV or JSON Lines
//! file for a domain through an evaluator service (flow B, `spec/07-flow-b.md`), verifying
//! every batch's proof. It writes batch by batch and records its progress, so a run that is
//! killed resumes from its last completed batch: no row lost, none repeated.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::Error;
use crate::evaluators::Evaluators;
use crate::progress::Progress;

/// The input and output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// `blindnym pseudonymise`.
#[derive(ClapArgs, Debug)]
pub struct PseudonymiseArgs {
    /// The evaluator's base URL, e.g. http://127.0.0.1:8080. Repeat it for every evaluator of
    /// a threshold set, in index order (evaluator 1 first): any `t` of them serve each batch,
    /// and an answer under another evaluator's index is dropped.
    #[arg(long = "evaluator", value_name = "URL", required = true)]
    pub evaluators: Vec<String>,
    /// The data holder's request key (64 hex digits, mode 0600; `blindnym keygen` makes one,
    /// `blindnym-server --dev` writes `blindnym-dev/data-holder.key`). Every request is
    /// signed with it for the one evaluator it goes to.
    #[arg(long, value_name = "PATH")]
    pub key_file: PathBuf,
    /// The key-set signer's public key (the trust anchor), as hex or as a file holding the
    /// hex (`blindnym-server --dev` prints it and writes `blindnym-dev/anchor.hex`).
    #[arg(long, value_name = "HEX|PATH")]
    pub anchor: String,
    /// The realm the key set is for.
    #[arg(long)]
    pub realm: String,
    /// Where the last accepted key set is kept between runs [default: `<output>.key-set`]: a
    /// later run refuses an older set, or one that re-keys an epoch this one listed
    /// (`spec/04-keys.md` §4.5). Keep it across registers to follow one evaluator's history.
    #[arg(long, value_name = "PATH")]
    pub key_set_state: Option<PathBuf>,
    /// The domain (POPRF public info) to pseudonymise for.
    #[arg(long)]
    pub domain: String,
    /// The register to read.
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// The column (CSV header or JSON field) holding the identifier.
    #[arg(long)]
    pub column: String,
    /// Where to write the register with the column replaced by pseudonyms (text form).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// The file format [default: from the input's extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Rows per batch (one request, one proof).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65535))]
    pub batch: u32,
    /// Attempts per batch before giving up on an unreachable or failing evaluator.
    #[arg(long, default_value_t = 12)]
    pub retries: u32,
}

/// One row of the register: its fields, and the identifier to replace.
enum Row {
    Csv(csv::StringRecord),
    Json(serde_json::Map<String, serde_json::Value>),
}

/// Reads rows in order, after skipping those already done.
enum Rows {
    Csv(csv::StringRecordsIntoIter<File>, usize),
    Json(std::io::Lines<BufReader<File>>, String),
}

impl Rows {
    fn next_batch(&mut self, size: usize, line: &mut u64) -> Result<Vec<(Row, String)>, Error> {
        let mut out = Vec::with_capacity(size);
        while out.len() < size {
            *line += 1;
            match self {
                Rows::Csv(records, column) => match records.next() {
                    None => break,
                    Some(record) => {
                        let record = record?;
                        let id = record
                            .get(*column)
                            .ok_or_else(|| format!("row {line}: no such column"))?
                            .to_owned();
                        out.push((Row::Csv(record), id));
                    }
                },
                Rows::Json(lines, column) => match lines.next() {
                    None => break,
                    Some(text) => {
                        let value: serde_json::Value = serde_json::from_str(&text?)
                            .map_err(|e| format!("line {line}: {e}"))?;
                        let serde_json::Value::Object(map) = value else {
                            return Err(format!("line {line}: not a JSON object").into());
                        };
                        let id = map
                            .get(column.as_str())
                            .and_then(|v| v.as_str())
                            .ok_or_else(|| {
                                format!("line {line}: field {column:?} missing or not a string")
                            })?
                            .to_owned();
                        out.push((Row::Json(map), id));
                    }
                },
            }
        }
        for (_, id) in &out {
            if id.is_empty() {
                return Err("an identifier is empty: every row needs one".into());
            }
        }
        Ok(out)
    }
}

/// Runs `blindnym pseudonymise`.
///
/// # Errors
/// A message naming the row, the evaluator's refusal or the file at fault.
pub fn run(args: &PseudonymiseArgs) -> Result<(), Error> {
    let format = match args.format {
        Some(format) => format,
        None if args
            .input
            .extension()
            .is_some_and(|e| e == "jsonl" || e == "ndjson") =>
        {
            Format::Jsonl
        }
        None => Format::Csv,
    };
    let signing = crate::evaluators::Signing {
        key: crate::keygen::read_key(&args.key_file)?,
        realm: args.realm.clone(),
    };
    let (mut evaluators, holder) = Evaluators::connect(args, signing)?;

    // Resume from the saved progress, or start a new output.
    let progress = Progress::load(&args.output)?;
    if progress.is_none() && args.output.exists() {
        return Err(format!(
            "{} exists and has no progress file: remove it or write elsewhere",
            args.output.display()
        )
        .into());
    }
    let mut progress = progress.unwrap_or(Progress {
        batch: args.batch,
        rows: 0,
        bytes: 0,
    });
    if progress.batch != args.batch {
        return Err(format!(
            "resuming a run made with --batch {}: use it again",
            progress.batch
        )
        .into());
    }
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&args.output)?;
    file.set_len(progress.bytes)?;
    file.seek(SeekFrom::End(0))?;
    let mut line = 0u64;
    let input = File::open(&args.input)?;
    let mut rows = match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(input);
            let headers = reader.headers()?.clone();
            let column = headers
                .iter()
                .position(|h| h == args.column)
                .ok_or_else(|| format!("no column {:?} in the header", args.column))?;
            if progress.rows == 0 && progress.bytes == 0 {
                let mut writer = csv::Writer::from_writer(&mut file);
                writer.write_record(&headers)?;
                writer.flush()?;
            }
            line += 1;
            Rows::Csv(reader.into_records(), column)
        }
        Format::Jsonl => Rows::Json(BufReader::new(input).lines(), args.column.clone()),
    };
    // Skip what the saved progress says is done.
    let mut skipped = 0;
    while skipped < progress.rows {
        let chunk = usize::try_from((progress.rows - skipped).min(65_536))?;
        let got = rows.next_batch(chunk, &mut line)?.len();
        if got == 0 {
            return Err("the input is shorter than the saved progress".into());
        }
        skipped += u64::try_from(got)?;
    }
    file.sync_data()?;
    progress.bytes = file.metadata()?.len();

    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template(
        "{spinner} {pos} rows ({per_sec}) {msg}",
    )?);
    bar.set_position(progress.rows);
    let batch = usize::try_from(args.batch)?;
    loop {
        let chunk = rows.next_batch(batch, &mut line)?;
        if chunk.is_empty() {
            break;
        }
        let ids: Vec<&str> = chunk.iter().map(|(_, id)| id.as_str()).collect();
        // Every proof is verified before a pseudonym is written.
        let pseudonyms = evaluators.pseudonymise(&holder, &ids)?;
        let mut out = BufWriter::new(&mut file);
        for ((row, _), pseudonym) in chunk.into_iter().zip(&pseudonyms) {
            match row {
                Row::Csv(record) => {
                    let Rows::Csv(_, column) = &rows else {
                        return Err("format changed".into());
                    };
                    let fields: Vec<String> = record
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            if i == *column {
                                pseudonym.to_text()
                            } else {
                                f.to_owned()
                            }
                        })
                        .collect();
                    let mut writer = csv::WriterBuilder::new()
                        .has_headers(false)
                        .from_writer(&mut out);
                    writer.write_record(&fields)?;
                    writer.flush()?;
                }
                Row::Json(mut map) => {
                    map.insert(
                        args.column.clone(),
                        serde_json::Value::String(pseudonym.to_text()),
                    );
                    serde_json::to_writer(&mut out, &map)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        out.flush()?;
        drop(out);
        file.sync_data()?;
        progress.rows += u64::try_from(pseudonyms.len())?;
        progress.bytes = file.metadata()?.len();
        progress.save(&args.output)?;
        bar.set_position(progress.rows);
    }
    bar.finish_and_clear();
    std::fs::remove_file(Progress::path(&args.output))?;
    eprintln!(
        "pseudonymised {} rows into {}",
        progress.rows,
        args.output.display()
    );
    Ok(())
}
