//! Credentials from the environment and from files, checked before anything is sent.
//!
//! A token on the command line lands in shell history and in `ps` output, so steady
//! takes none there. A missing or empty variable, an unreadable file, or a value with
//! CR, LF or NUL (which would end the header and inject others) is a usage error that
//! names the variable or file and never prints the value.

use std::path::Path;

use steady::Secret;

use crate::exit::UsageError;

/// A secret from environment variable `var`, for `flag`.
pub fn from_env(var: &str, flag: &str) -> Result<Secret, UsageError> {
    let value = std::env::var_os(var)
        .ok_or_else(|| UsageError::new(format!("{flag}: environment variable {var} is not set")))?;
    let value = value.into_string().map_err(|_| {
        UsageError::new(format!(
            "{flag}: environment variable {var} is not valid UTF-8"
        ))
    })?;
    checked(value, &format!("{flag}: environment variable {var}"))
}

/// A secret from the file at `path` (one trailing newline ignored), for `flag`.
pub fn from_file(path: &Path, flag: &str) -> Result<Secret, UsageError> {
    let value = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("{flag}: cannot read {}: {e}", path.display())))?;
    let value = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value)
        .to_owned();
    checked(value, &format!("{flag}: file {}", path.display()))
}

fn checked(value: String, what: &str) -> Result<Secret, UsageError> {
    let secret = Secret::new(value);
    if secret.is_empty() {
        return Err(UsageError::new(format!("{what} is empty")));
    }
    if !secret.is_header_safe() {
        return Err(UsageError::new(format!(
            "{what} contains a CR, LF or NUL character; refused before sending (the value is not shown)"
        )));
    }
    Ok(secret)
}

/// `-a USER[:PASSWORD]`: the password from the argument (with a warning on stderr)
/// or, without one, asked for on the terminal with nothing echoed.
pub fn user_auth(spec: &str) -> Result<(String, Secret), UsageError> {
    let (user, password) = match spec.split_once(':') {
        Some((user, password)) => {
            crate::output::warning(&format!(
                "a password on the command line (-a {user}:...) is visible to other users (ps) and stays in shell history; use -a {user} to be asked for it, or --basic-env VAR"
            ));
            (user, Secret::new(password.to_owned()))
        }
        None => {
            let password = ask_password(&format!("steady: password for {spec}: ")).map_err(|e| {
                    let why = match e.raw_os_error() {
                        // ENXIO: no controlling terminal (cron, a pipe, setsid).
                        Some(6) => "this process has no terminal".to_owned(),
                        _ => e.to_string(),
                    };
                    UsageError::new(format!(
                        "-a/-u {spec}: no password given and none could be asked for on a terminal ({why}); give it with --basic-env VAR (user:password)"
                    ))
                })?;
            (spec, Secret::new(password))
        }
    };
    if user.is_empty() {
        return Err(UsageError::new("-a: the user name before ':' is empty"));
    }
    if !password.is_header_safe() || user.contains(['\r', '\n', '\0']) {
        return Err(UsageError::new(
            "-a: the user or password contains a CR, LF or NUL character; refused before sending (the value is not shown)",
        ));
    }
    Ok((user.to_owned(), password))
}

/// Splits `NAME=VAR` of `--header-env`.
pub fn header_env(spec: &str) -> Result<(String, String), UsageError> {
    match spec.split_once('=') {
        Some((name, var)) if !name.trim().is_empty() && !var.trim().is_empty() => {
            let name = name.trim();
            if steady::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(UsageError::new(format!(
                    "--header-env {spec}: '{name}' is not a valid header name"
                )));
            }
            Ok((name.to_owned(), var.trim().to_owned()))
        }
        _ => Err(UsageError::new(format!(
            "--header-env {spec}: expected NAME=VAR, e.g. X-Api-Key=API_KEY"
        ))),
    }
}

/// Splits the `user:password` of `--basic-env`.
pub fn basic(secret: &Secret, var: &str) -> Result<(String, Secret), UsageError> {
    match secret.expose().split_once(':') {
        Some((user, password)) if !user.is_empty() => {
            Ok((user.to_owned(), Secret::new(password)))
        }
        _ => Err(UsageError::new(format!(
            "--basic-env: environment variable {var} must hold user:password (the value is not shown)"
        ))),
    }
}

/// Asks for a password on the terminal with nothing echoed. Echo goes off before the
/// prompt shows (rpassword turns it off only after printing its prompt, so a password
/// typed at the prompt's first sight could be echoed), and comes back after.
#[cfg(unix)]
fn ask_password(prompt: &str) -> std::io::Result<String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    use std::io::Write;

    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let saved = tcgetattr(&tty)?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&tty, OptionalActions::Now, &quiet)?;
    let asked = tty
        .write_all(prompt.as_bytes())
        .and_then(|()| tty.flush())
        .and_then(|()| rpassword::read_password());
    let restored = tcsetattr(&tty, OptionalActions::Now, &saved);
    let password = asked?;
    restored?;
    Ok(password)
}

#[cfg(not(unix))]
fn ask_password(prompt: &str) -> std::io::Result<String> {
    rpassword::prompt_password(prompt)
}
