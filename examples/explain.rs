//! Explains a Huawei Cloud error code, or a whole error body, like
//! `rustc --explain`: what the code means, how the crate classifies it,
//! whether the middleware retries it, and what to do about it.
//!
//! ```text
//! cargo run --example explain -- PAP5.0006                # one code
//! cargo run --example explain -- APIG.0308                # the gateway's older spelling works too
//! cargo run --example explain -- --status 502 APIGW.0201  # a code whose class depends on the status
//! cargo run --example explain -- --list                   # every catalogued code, one a line
//! cargo run --example explain < body.json                 # an error body (or `-` for standard input)
//! curl -s "$URL" | cargo run --example explain -- --status 409 -
//! ```
//!
//! # Reading a body
//!
//! With no code argument, or with `-`, standard input is read whole and
//! decoded with [`ApiError::from_parts`], as the middleware would decode the
//! answer. A body does not carry its HTTP status, so the status is:
//!
//! 1. `--status N` when given;
//! 2. else the documented status of the code the body carries (409 for
//!    PAP5.0006), which is what the service sends with it;
//! 3. else 400, the most common error status, and the output says it was
//!    assumed. Codes of other services, bodies without a code (an HTML page)
//!    and APIGW.0201 are classified by their status, so give `--status` for
//!    them.
//!
//! # Exit status
//!
//! 0 when something was explained; 1 for a code the catalogue does not know;
//! 2 for a usage error.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use huaweicloud_errors::{
    ApiError, Classification, ErrorClass, ErrorCode, default_classification, status_classification,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

const USAGE: &str = "\
usage: explain [--status N] CODE     explain a catalogued error code
       explain [--status N] [-]      decode and explain an error body read from standard input
       explain --list                every catalogued code with its status and class";

/// The statuses the gateway sends APIGW.0201 with (its documentation's table).
const APIGW_0201_STATUSES: [u16; 6] = [400, 413, 414, 494, 502, 504];

/// What the command line asks for.
enum Command {
    Code(String, Option<StatusCode>),
    Body(Option<StatusCode>),
    List,
    Help,
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(problem) => {
            eprintln!("explain: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::List => {
            list();
            ExitCode::SUCCESS
        }
        Command::Code(wire, status) => explain_code(&wire, status),
        Command::Body(status) => {
            if std::io::stdin().is_terminal() {
                eprintln!("explain: paste an error body and end it with Ctrl-D, or see --help");
            }
            let mut body = Vec::new();
            if let Err(err) = std::io::stdin().read_to_end(&mut body) {
                eprintln!("explain: cannot read standard input: {err}");
                return ExitCode::from(2);
            }
            explain_body(&body, status);
            ExitCode::SUCCESS
        }
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut args = args.peekable();
    let mut status = None;
    let mut target: Option<String> = None;
    let mut list = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--list" => list = true,
            "--status" => {
                let value = args
                    .next()
                    .ok_or("--status needs a value, e.g. --status 409")?;
                status = Some(parse_status(&value)?);
            }
            _ if arg.starts_with("--status=") => {
                status = Some(parse_status(&arg["--status=".len()..])?);
            }
            _ if arg.starts_with('-') && arg != "-" => {
                return Err(format!("unknown option {arg:?}"));
            }
            _ if target.is_some() => return Err("one code or body at a time".into()),
            _ => target = Some(arg),
        }
    }
    match (list, target) {
        (true, None) if status.is_none() => Ok(Command::List),
        (true, _) => Err("--list takes no other argument".into()),
        (false, None) => Ok(Command::Body(status)),
        (false, Some(t)) if t == "-" => Ok(Command::Body(status)),
        (false, Some(code)) => Ok(Command::Code(code, status)),
    }
}

fn parse_status(value: &str) -> Result<StatusCode, String> {
    value
        .parse::<u16>()
        .ok()
        .filter(|s| (400..=599).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| format!("--status {value:?}: an error status is a number from 400 to 599"))
}

/// One code: everything the catalogue says about it.
fn explain_code(wire: &str, status: Option<StatusCode>) -> ExitCode {
    let code = ErrorCode::from_wire(wire);
    if !code.is_known() {
        eprintln!(
            "unknown code {:?}: not in the catalogue; codes of other services are classified \
             by their HTTP status",
            code.as_str()
        );
        return ExitCode::from(1);
    }
    println!("{code} (ErrorCode::{code:?})");
    match (status, code.status()) {
        (Some(given), Some(documented)) if given != documented => {
            field(
                "status",
                &format!("{given} (given; documented: {documented})"),
            );
        }
        (Some(given), _) => field("status", &given.to_string()),
        (None, Some(documented)) => field("status", &documented.to_string()),
        (None, None) => field("status", "not fixed: the gateway sends it with several"),
    }
    match status.or(code.status()) {
        Some(status) => {
            let c = default_classification(status, Some(&code));
            field("class", &class_line(c));
            field("retried", retried(c));
        }
        None => {
            let by_status: Vec<String> = APIGW_0201_STATUSES
                .iter()
                .map(|&s| {
                    let c = status_classification(StatusCode::from_u16(s).unwrap());
                    format!("{s} {}", c.class())
                })
                .collect();
            field(
                "class",
                &format!(
                    "by the status sent with it ({}); give --status to see one",
                    by_status.join(", ")
                ),
            );
        }
    }
    if let Some(template) = code.message_template() {
        field("message", template);
        if template.contains("s%") {
            field(
                "",
                "(`s%` is the vendor page's own typo for `%s`; template_values reads it as one)",
            );
        }
    }
    field("description", code.description().unwrap_or_default());
    field("remedy", code.remedy().unwrap_or_default());
    ExitCode::SUCCESS
}

/// A whole body: decoded as the middleware decodes it, then explained.
fn explain_body(body: &[u8], status: Option<StatusCode>) {
    let no_headers = HeaderMap::new();
    let assumed = StatusCode::BAD_REQUEST;
    let first = ApiError::from_parts(status.unwrap_or(assumed), &no_headers, body);
    let (err, status_note) = match (status, first.code().and_then(ErrorCode::status)) {
        (Some(_), _) => (first, "given"),
        (None, Some(documented)) => (
            ApiError::from_parts(documented, &no_headers, body),
            "documented for the code; give --status to change it",
        ),
        (None, None) => (first, "assumed; give --status to set it"),
    };
    field("status", &format!("{} ({status_note})", err.status()));
    match err.code() {
        Some(code) if code.is_known() => {
            field("code", &format!("{code} (ErrorCode::{code:?})"));
        }
        Some(code) => field(
            "code",
            &format!(
                "{} (not in the catalogue: classified by the status)",
                escaped(code.as_str())
            ),
        ),
        None => field("code", "none (classified by the status)"),
    }
    field("message", &escaped(err.message()));
    field(
        "request id",
        &err.request_id().map_or("none".into(), escaped),
    );
    field(
        "encoded message",
        &match err.encoded_authorization_message() {
            Some(encoded) => format!(
                "{} bytes; STS decodes it: POST /v5/decode-authorization-message",
                encoded.len()
            ),
            None => "none".into(),
        },
    );
    if let Some(template) = err.code().and_then(ErrorCode::message_template) {
        field("template", template);
        let values = err.template_values();
        let values = if values.is_empty() {
            "none".to_owned()
        } else {
            values
                .iter()
                .map(|v| format!("{:?}", v))
                .collect::<Vec<_>>()
                .join(", ")
        };
        field("values", &values);
    }
    for (n, detail) in err.details().iter().enumerate() {
        let code = detail.code().map_or("-".into(), |c| escaped(c.as_str()));
        field(
            &format!("detail {}", n + 1),
            &format!("{code}: {}", escaped(detail.message())),
        );
    }
    field("class", &class_line(err.classification()));
    field("retried", retried(err.classification()));
    if let Some(code) = err.code().filter(|c| c.is_known()) {
        field("description", code.description().unwrap_or_default());
        field("remedy", code.remedy().unwrap_or_default());
    }
}

/// Every catalogued code, one a line.
fn list() {
    for code in ErrorCode::CATALOGUE {
        let (status, class) = match code.status() {
            Some(status) => (
                status.as_str().to_owned(),
                class_line(default_classification(status, Some(code))),
            ),
            None => ("-".to_owned(), "by the status sent with it".to_owned()),
        };
        println!("{:<20} {status:<4} {class}", code.as_str());
    }
}

fn class_line(c: Classification) -> String {
    format!("{} (reason: {})", c.class(), c.reason())
}

/// What the middleware does with an answer of this class.
fn retried(c: Classification) -> &'static str {
    match c.class() {
        ErrorClass::Retryable if c.reason().proves_rejection() => {
            "for every method: the service rejected the request without acting on it"
        }
        ErrorClass::Retryable => "for idempotent calls only: the request may have had an effect",
        _ => "never: the request or the credentials must change first",
    }
}

fn field(name: &str, value: &str) {
    println!("  {name:<16} {value}");
}

/// `text` with control characters escaped, so that a body cannot move the cursor.
fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
