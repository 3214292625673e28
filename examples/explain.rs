//! Explains a Huawei Cloud error code, or a whole error body, like
//! `rustc --explain`: what the code means, how the crate classifies it,
//! whether the middleware retries it (its [`RetryScope`], the rule the
//! middleware itself decides with), and what to do about it.
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
//! With no code argument, or with `-`, standard input is read and decoded
//! exactly as the middleware decodes an answer: its first
//! [`DEFAULT_BODY_LIMIT`] bytes (64 KiB, the middleware's default
//! `body_limit`) with [`ApiError::from_parts`]; the rest is not read, and the
//! output says it was cut. What the body says is printed through the
//! error's `Display`, which escapes control characters, line separators and
//! bidirectional overrides, so a body cannot forge or disguise a line. A body
//! does not carry its HTTP status, so the status is:
//!
//! 1. `--status N` when given;
//! 2. else the documented status of the code the body carries (409 for
//!    PAP5.0006), which is what the service sends with it;
//! 3. else 400, the most common error status, and the output says it was
//!    assumed. Codes of other services, bodies without a code (an HTML page)
//!    and APIGW.0201 are classified by their status, so give `--status` for
//!    them.
//!
//! # Arguments
//!
//! Arguments must be UTF-8. `--` ends the options: what follows is a code
//! (or `-`) even if it starts with `-`.
//!
//! # Exit status
//!
//! - 0 when something was explained, also when standard output was closed
//!   early (`explain --list | head`): the rest is dropped quietly;
//! - 1 for a code the catalogue does not know;
//! - 2 for a usage error (an unknown option, a bad `--status`, an argument
//!   that is not UTF-8, two codes), with a message and the usage;
//! - 3 when standard input cannot be read or standard output cannot be
//!   written (other than closed early).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Read, Write};
use std::process::ExitCode;

use huaweicloud_errors::{
    ApiError, Classification, DEFAULT_BODY_LIMIT, ErrorCode, RetryScope, default_classification,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

const USAGE: &str = "\
usage: explain [--status N] [--] CODE   explain a catalogued error code
       explain [--status N] [-]        decode and explain an error body read from standard input
       explain --list                  every catalogued code: its status, class and whether it is retried";

/// The statuses the gateway sends APIGW.0201 with (its documentation's table).
const APIGW_0201_STATUSES: [u16; 6] = [400, 413, 414, 494, 502, 504];

/// Exit statuses (see the module docs).
const UNKNOWN_CODE: u8 = 1;
const USAGE_ERROR: u8 = 2;
const IO_ERROR: u8 = 3;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Code(String, Option<StatusCode>),
    Body(Option<StatusCode>),
    List,
    Help,
}

fn main() -> ExitCode {
    let mut out = String::new();
    let status = run(std::env::args_os().skip(1), &mut out);
    match write_stdout(out.as_bytes()) {
        Ok(()) => ExitCode::from(status),
        // Closed early (`explain --list | head`): the reader has what it wanted.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(status),
        Err(err) => {
            complain(&format!("cannot write standard output: {err}"));
            ExitCode::from(IO_ERROR)
        }
    }
}

/// Does what `args` ask, writing what is to be printed to `out`; returns the
/// exit status.
fn run(args: impl IntoIterator<Item = OsString>, out: &mut String) -> u8 {
    let command = match parse_args(args) {
        Ok(command) => command,
        Err(problem) => {
            complain(&format!("{problem}\n\n{USAGE}"));
            return USAGE_ERROR;
        }
    };
    match command {
        Command::Help => {
            line(out, USAGE);
            0
        }
        Command::List => {
            list(out);
            0
        }
        Command::Code(wire, status) => explain_code(&wire, status, out),
        Command::Body(status) => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                complain("paste an error body and end it with Ctrl-D, or see --help");
            }
            match read_capped(stdin.lock(), DEFAULT_BODY_LIMIT) {
                Ok((body, cut)) => {
                    explain_body(&body, cut, status, out);
                    0
                }
                Err(err) => {
                    complain(&format!("cannot read standard input: {err}"));
                    IO_ERROR
                }
            }
        }
    }
}

/// Writes to standard error; a closed standard error is not worth a panic.
fn complain(message: &str) {
    let _ = writeln!(io::stderr(), "explain: {message}");
}

fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// The first `limit` bytes of `input`, and whether there was more (which is
/// left unread, as the middleware leaves it).
fn read_capped(input: impl Read, limit: usize) -> io::Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    input
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut body)?;
    let cut = body.len() > limit;
    body.truncate(limit);
    Ok((body, cut))
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args.into_iter().map(|arg| {
        arg.into_string()
            .map_err(|raw| format!("argument {raw:?} is not UTF-8"))
    });
    let mut status = None;
    let mut target: Option<String> = None;
    let mut list = false;
    let mut options_ended = false;
    while let Some(arg) = args.next() {
        let arg = arg?;
        if !options_ended {
            match arg.as_str() {
                "--" => {
                    options_ended = true;
                    continue;
                }
                "-h" | "--help" => return Ok(Command::Help),
                "--list" => {
                    list = true;
                    continue;
                }
                "--status" => {
                    let value = args
                        .next()
                        .ok_or("--status needs a value, e.g. --status 409")??;
                    status = Some(parse_status(&value)?);
                    continue;
                }
                _ if arg.starts_with("--status=") => {
                    status = Some(parse_status(&arg["--status=".len()..])?);
                    continue;
                }
                _ if arg.starts_with('-') && arg != "-" => {
                    return Err(format!("unknown option {arg:?}"));
                }
                _ => {}
            }
        }
        if target.is_some() {
            return Err("one code or body at a time".into());
        }
        target = Some(arg);
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
fn explain_code(wire: &str, status: Option<StatusCode>, out: &mut String) -> u8 {
    let code = ErrorCode::from_wire(wire);
    if !code.is_known() {
        complain(&format!(
            "unknown code {:?}: not in the catalogue; codes of other services are classified \
             by their HTTP status",
            code.as_str()
        ));
        return UNKNOWN_CODE;
    }
    line(out, &format!("{code} (ErrorCode::{code:?})"));
    match (status, code.status()) {
        (Some(given), Some(documented)) if given != documented => field(
            out,
            "status",
            &format!("{given} (given; documented: {documented})"),
        ),
        (Some(given), _) => field(out, "status", &given.to_string()),
        (None, Some(documented)) => field(out, "status", &documented.to_string()),
        (None, None) => field(
            out,
            "status",
            "not fixed: the gateway sends it with several",
        ),
    }
    match status.or(code.status()) {
        Some(status) => {
            let c = default_classification(status, Some(&code));
            field(out, "class", &class_line(c));
            field(out, "retried", &retried(c, status));
        }
        None => {
            let by_status: Vec<String> = APIGW_0201_STATUSES
                .iter()
                .filter_map(|&s| StatusCode::from_u16(s).ok())
                .map(|s| {
                    let c = default_classification(s, Some(&code));
                    format!(
                        "{} {}, retried {}",
                        s.as_u16(),
                        c.class(),
                        retried_short(c, s)
                    )
                })
                .collect();
            field(
                out,
                "class",
                &format!(
                    "by the status sent with it ({}); give --status to see one",
                    by_status.join("; ")
                ),
            );
        }
    }
    if let Some(template) = code.message_template() {
        field(out, "message", template);
        if template.contains("s%") {
            field(
                out,
                "",
                "(`s%` is the vendor page's own typo for `%s`; template_values reads it as one)",
            );
        }
    }
    field(out, "description", code.description().unwrap_or_default());
    field(out, "remedy", code.remedy().unwrap_or_default());
    0
}

/// A whole body (its first `DEFAULT_BODY_LIMIT` bytes; `cut` when there was
/// more): decoded as the middleware decodes it, then explained.
fn explain_body(body: &[u8], cut: bool, status: Option<StatusCode>, out: &mut String) {
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
    field(out, "status", &format!("{} ({status_note})", err.status()));
    // The error as its `Display` (and so a log line) shows it: what the body
    // says (code, message, request id) comes out escaped.
    field(out, "error", &err.to_string());
    if cut {
        field(
            out,
            "body",
            &format!(
                "longer than {DEFAULT_BODY_LIMIT} bytes: only those were read and decoded, \
                 as the middleware does"
            ),
        );
    }
    match err.code() {
        Some(code) if code.is_known() => {
            field(out, "code", &format!("{code} (ErrorCode::{code:?})"));
        }
        Some(_) => field(
            out,
            "code",
            "not in the catalogue: classified by the status",
        ),
        None => field(out, "code", "none (classified by the status)"),
    }
    if err.request_id().is_none() {
        field(out, "request id", "none");
    }
    field(
        out,
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
        field(out, "template", template);
        let values = err.template_values();
        let values = if values.is_empty() {
            "none".to_owned()
        } else {
            // `Debug` escapes what `Display` escapes, and quotes.
            values
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        field(out, "values", &values);
    }
    for (n, detail) in err.details().iter().enumerate() {
        let code = detail
            .code()
            .map_or("-".into(), |c| format!("{:?}", c.as_str()));
        field(
            out,
            &format!("detail {}", n + 1),
            &format!("{code}: {:?}", detail.message()),
        );
    }
    field(out, "class", &class_line(err.classification()));
    field(out, "retried", &retried(err.classification(), err.status()));
    if let Some(code) = err.code().filter(|c| c.is_known()) {
        field(out, "description", code.description().unwrap_or_default());
        field(out, "remedy", code.remedy().unwrap_or_default());
    }
}

/// Every catalogued code, one a line: its status, class and retry scope.
fn list(out: &mut String) {
    for code in ErrorCode::CATALOGUE {
        let (status, class) = match code.status() {
            Some(status) => {
                let c = default_classification(status, Some(code));
                let retried = retried_short(c, status);
                (
                    status.as_str().to_owned(),
                    format!("{}; retried {retried}", class_line(c)),
                )
            }
            None => ("-".to_owned(), "by the status sent with it".to_owned()),
        };
        line(out, &format!("{:<20} {status:<4} {class}", code.as_str()));
    }
}

fn class_line(c: Classification) -> String {
    format!("{} (reason: {})", c.class(), c.reason())
}

/// What the middleware does with an answer of this class and status, in
/// short: read from [`RetryScope::of`], the rule the middleware decides with.
fn retried_short(c: Classification, status: StatusCode) -> String {
    match RetryScope::of(c, status) {
        RetryScope::AnyMethod => "for every method".into(),
        RetryScope::IdempotentOnly => "for idempotent calls only".into(),
        RetryScope::Never => "never".into(),
        other => format!("{other:?}"),
    }
}

/// [`retried_short`] and why.
fn retried(c: Classification, status: StatusCode) -> String {
    let why = match RetryScope::of(c, status) {
        RetryScope::AnyMethod => "the service rejected the request without acting on it",
        RetryScope::IdempotentOnly => {
            "GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or a call declared Idempotent; \
             the request may have had an effect"
        }
        RetryScope::Never => "the request or the credentials must change first",
        _ => "see RetryScope",
    };
    format!("{}: {why}", retried_short(c, status))
}

fn line(out: &mut String, text: &str) {
    let _ = writeln!(out, "{text}");
}

fn field(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "  {name:<16} {value}");
}

/// The argument parser: bad input gives an error, never a panic. Run with
/// `cargo test --example explain`; `tests/all/explain.rs` runs the binary.
/// Unix only: non-UTF-8 arguments are made from bytes.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStringExt;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn double_dash_ends_the_options() {
        assert_eq!(
            parse(&["--", "--list"]),
            Ok(Command::Code("--list".into(), None))
        );
        assert_eq!(parse(&["--status", "409", "--", "-"]), {
            Ok(Command::Body(StatusCode::from_u16(409).ok()))
        });
        assert_eq!(parse(&["--"]), Ok(Command::Body(None)));
        assert!(parse(&["--", "A", "B"]).is_err());
    }

    #[test]
    fn a_non_utf8_argument_is_an_error() {
        let args = [
            OsString::from("--status"),
            OsString::from_vec(vec![0xff, b'4']),
        ];
        let err = parse_args(args).unwrap_err();
        assert!(err.contains("not UTF-8"), "{err}");
    }

    /// Tokens the parser knows, mixed with anything at all.
    fn arg() -> impl Strategy<Value = OsString> {
        prop_oneof![
            prop::sample::select(vec![
                "--",
                "-",
                "-h",
                "--help",
                "--list",
                "--status",
                "--status=",
                "--status=409",
                "409",
                "99999",
                "PAP5.0006",
                "-x",
                "",
            ])
            .prop_map(OsString::from),
            any::<String>().prop_map(OsString::from),
            prop::collection::vec(any::<u8>(), 0..8).prop_map(OsString::from_vec),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_its_rules(args in prop::collection::vec(arg(), 0..6)) {
            let result = parse_args(args.clone());
            let utf8: Option<Vec<String>> =
                args.iter().map(|a| a.to_str().map(str::to_owned)).collect();
            match (&result, utf8) {
                // Help answers as soon as it is seen, before later arguments.
                (Ok(Command::Help), _) => {}
                (Ok(_), None) => prop_assert!(false, "a non-UTF-8 argument was accepted"),
                (Ok(Command::Code(code, _)), Some(args)) => {
                    prop_assert!(args.contains(code));
                    let after_dashes = args.iter().position(|a| a == "--")
                        .is_some_and(|at| args[at + 1..].contains(code));
                    prop_assert!(!code.starts_with('-') || after_dashes, "{code:?} taken as a code");
                }
                _ => {}
            }
        }

        #[test]
        fn a_command_written_out_parses_back(
            status in prop::option::of(400u16..=599),
            code in prop_oneof![any::<String>(), "-[a-z-]{0,8}", Just("-".to_owned())],
        ) {
            let mut args: Vec<String> = Vec::new();
            if let Some(s) = status {
                args.extend(["--status".to_owned(), s.to_string()]);
            }
            args.extend(["--".to_owned(), code.clone()]);
            let status = status.map(|s| StatusCode::from_u16(s).unwrap());
            let expected = if code == "-" {
                Command::Body(status)
            } else {
                Command::Code(code, status)
            };
            prop_assert_eq!(parse_args(args.into_iter().map(OsString::from)), Ok(expected));
        }
    }
}
