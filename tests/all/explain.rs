//! The `explain` example, run as a user runs it: the binary built by cargo,
//! given arguments and standard input, its output and exit status checked.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use huaweicloud_errors::{DEFAULT_BODY_LIMIT, ErrorCode, RetryScope, default_classification};
use reqwest::StatusCode;

/// The example's binary, built once per test run by the cargo that runs the
/// tests, with the same features, so that nothing else is rebuilt. Cargo
/// names the file it built in its JSON messages: that works with any
/// `CARGO_TARGET_DIR` and on a clean clone.
fn explain_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let mut features = Vec::new();
        if cfg!(feature = "serde") {
            features.push("serde");
        }
        if cfg!(feature = "tracing") {
            features.push("tracing");
        }
        let output = Command::new(env!("CARGO"))
            .args(["build", "--example", "explain", "--message-format=json"])
            .args(["--no-default-features", "--features", &features.join(",")])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "cargo build --example explain failed"
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "explain")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the explain binary it built")
    })
}

/// Runs `explain` with `args` and `stdin` as its standard input.
fn explain(args: &[&str], stdin: &[u8]) -> Output {
    explain_os(args.iter().map(OsString::from).collect(), stdin)
}

/// Starts `explain` with `args`, its three streams piped.
fn spawn(args: Vec<OsString>) -> Child {
    Command::new(explain_binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn explain_os(args: Vec<OsString>, stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // A writer of its own, so that a full pipe cannot block the reads below.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("explain prints UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The value of the `name` field in explain's output.
fn field<'a>(output: &'a str, name: &str) -> Option<&'a str> {
    output.lines().find_map(|line| {
        let rest = line.strip_prefix("  ")?.strip_prefix(name)?;
        rest.starts_with(' ').then(|| rest.trim())
    })
}

#[test]
fn a_non_utf8_argument_is_a_usage_error_not_a_panic() {
    for args in [
        vec![OsString::from_vec(vec![b'P', 0xff])],
        vec![OsString::from("--status"), OsString::from_vec(vec![0xc3])],
    ] {
        let output = explain_os(args, b"");
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("is not UTF-8"),
            "{}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("usage:"), "{}", stderr(&output));
    }
}

#[test]
fn every_usage_error_exits_2_with_a_message_and_the_usage() {
    let cases: &[&[&str]] = &[
        &["--bogus"],
        &["--status"],
        &["--status", "abc", "PAP5.0006"],
        &["--status", "200", "PAP5.0006"],
        &["--status=600"],
        &["PAP5.0006", "PAP5.0001"],
        &["--list", "PAP5.0006"],
        &["--list", "--status", "409"],
        &["--", "A", "B"],
    ];
    for &args in cases {
        let output = explain(args, b"");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        let err = stderr(&output);
        assert!(err.starts_with("explain: "), "{args:?}: {err}");
        assert!(err.contains("usage:"), "{args:?}: {err}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn double_dash_ends_the_options() {
    let output = explain(&["--", "PAP5.0006"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("PAP5.0006 (ErrorCode::ConcurrentModification)"));

    // After `--`, an argument that looks like an option is a code.
    let output = explain(&["--", "--list"], b"");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("unknown code \"--list\""));

    // And `-` is still standard input.
    let body = br#"{"error_code":"PAP5.0006","error_msg":"concurrent modification"}"#;
    let output = explain(&["--status", "409", "--", "-"], body);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        field(&stdout(&output), "code")
            .unwrap()
            .starts_with("PAP5.0006")
    );
}

#[test]
fn a_closed_stdout_ends_quietly_with_status_0() {
    // The read end is closed before explain starts, so every write fails
    // with EPIPE, as under `explain --list | head -0`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(explain_binary())
        .arg("--list")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
}

/// A body of `len` bytes whose `error_code` comes at its end.
fn body_with_code_at_the_end(len: usize) -> Vec<u8> {
    let tail = r#"","error_code":"PAP5.0006","error_msg":"concurrent modification"}"#;
    let head = r#"{"padding":""#;
    let mut body = head.as_bytes().to_vec();
    body.resize(len - tail.len(), b'x');
    body.extend_from_slice(tail.as_bytes());
    body
}

#[test]
fn a_body_is_read_up_to_the_middlewares_limit_and_decoded_as_it_would() {
    // Within the limit the code is found...
    let output = explain(&[], &body_with_code_at_the_end(DEFAULT_BODY_LIMIT));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        field(&out, "code").unwrap().starts_with("PAP5.0006"),
        "{out}"
    );
    assert_eq!(field(&out, "body"), None, "{out}");

    // ...after it, the middleware sees no code, and neither does explain.
    let output = explain(&[], &body_with_code_at_the_end(80 * 1024));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert_eq!(
        field(&out, "code"),
        Some("none (classified by the status)"),
        "{out}"
    );
    assert!(!out.contains("PAP5.0006"), "{out}");
    assert!(
        field(&out, "retried").unwrap().starts_with("never"),
        "{out}"
    );
    assert!(
        field(&out, "body")
            .unwrap()
            .starts_with("longer than 65536 bytes"),
        "{out}"
    );
}

#[test]
fn standard_input_is_not_read_past_the_limit() {
    // An endless body (bounded here at 64 MiB): explain reads its first
    // 64 KiB and one byte, exits, and the writer's next write fails.
    let mut child = spawn(Vec::new());
    let mut input = child.stdin.take().unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut written = 0usize;
    while written < 64 << 20 {
        match input.write(&chunk) {
            Ok(n) => written += n,
            Err(err) => {
                assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
                break;
            }
        }
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        written < 4 << 20,
        "explain read {written} bytes of standard input, past its {DEFAULT_BODY_LIMIT}-byte limit"
    );
}

#[test]
fn what_a_body_says_is_printed_escaped() {
    // Raw in the JSON text (U+202E, U+2028, U+2029 may be) and as JSON
    // escapes (a control character must be).
    let body = concat!(
        r#"{"error_code":"PAP5.0006","error_msg":"ok"#,
        "\u{202E}evil\u{2028}forged line",
        r#"\u001b[2J","request_id":"r\u2029 1","details":[{"error_code":"X"#,
        "\u{202E}",
        r#"","error_msg":"d\u2028e"}]}"#,
    );
    let output = explain(&["--status", "409"], body.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    for raw in ['\u{202E}', '\u{2028}', '\u{2029}', '\u{1b}'] {
        assert!(!out.contains(raw), "{raw:?} printed raw:\n{out}");
    }
    // The message is shown as the error's `Display` shows it.
    assert!(
        field(&out, "error")
            .unwrap()
            .contains(r"ok\u{202e}evil\u{2028}forged line"),
        "{out}"
    );
    assert!(field(&out, "detail 1").is_some(), "{out}");
}

/// What explain must say for a scope: the start of its `retried` field.
fn says(scope: RetryScope) -> &'static str {
    match scope {
        RetryScope::AnyMethod => "for every method",
        RetryScope::IdempotentOnly => "for idempotent calls only",
        RetryScope::Never => "never",
        other => panic!("a new scope, {other:?}: teach explain and this test about it"),
    }
}

#[test]
fn a_rejection_code_on_a_5xx_is_retried_for_idempotent_calls_only() {
    let retried = |args: &[&str], stdin: &[u8]| {
        let output = explain(args, stdin);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let out = stdout(&output);
        field(&out, "retried").unwrap().to_owned()
    };
    let idempotent_only = "for idempotent calls only";
    assert!(retried(&["--status", "500", "PAP5.0006"], b"").starts_with(idempotent_only));
    // The same code with its own status proves the write was rejected.
    assert!(retried(&["PAP5.0006"], b"").starts_with("for every method"));
    // And a body is ruled the same way: decoded at the given status.
    let body = br#"{"error_code":"PAP5.0006","error_msg":"concurrent modification"}"#;
    assert!(retried(&["--status", "503"], body).starts_with(idempotent_only));
}

#[test]
fn explain_says_what_the_middleware_does_for_every_code_and_status() {
    // Every catalogued code at its documented status, in one run of --list.
    let output = explain(&["--list"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let listed = stdout(&output);
    let mut lines = listed.lines();
    for code in ErrorCode::CATALOGUE {
        let line = lines.next().unwrap();
        assert!(line.starts_with(code.as_str()), "{line}");
        if let Some(status) = code.status() {
            let scope = RetryScope::of(default_classification(status, Some(code)), status);
            assert!(line.contains(&format!("retried {}", says(scope))), "{line}");
        }
    }
    // Every code again at statuses it is not documented with (the scope
    // depends on the status), each through `--status`.
    // One thread a status, to keep the 365 runs short.
    std::thread::scope(|threads| {
        for status in [400, 409, 429, 500, 503] {
            threads.spawn(move || {
                let status = StatusCode::from_u16(status).unwrap();
                for code in ErrorCode::CATALOGUE {
                    let output = explain(&["--status", status.as_str(), code.as_str()], b"");
                    let out = stdout(&output);
                    let scope = RetryScope::of(default_classification(status, Some(code)), status);
                    let retried = field(&out, "retried").unwrap_or_else(|| panic!("{out}"));
                    assert!(
                        retried.starts_with(says(scope)),
                        "{code} at {status}: {out}"
                    );
                }
            });
        }
    });
}
