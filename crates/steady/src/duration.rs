//! Durations and sizes as people write them: `250ms`, `3.05s`, `2m`, `100MiB`.
//!
//! One parser for the CLI's flags, batch files and configuration, so that `--timeout 2m`
//! means the same everywhere, and one formatter so that every message speaks the same
//! units.

use std::time::Duration;

/// Parses `250ms`, `3.05s`, `2m`, `1h`, `1d` or plain seconds (`5`, `0.5`).
///
/// # Errors
/// A message naming what is wrong and where, for empty, negative, unknown-unit or
/// absurdly large values.
///
/// ```
/// use std::time::Duration;
/// use steady::duration::parse_duration;
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("3.05s"), Ok(Duration::from_millis(3050)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
/// assert!(parse_duration("-1s").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(
            "empty duration: expected a number with an optional unit (250ms, 3.05s, 2m)".into(),
        );
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "'{s}' does not start with a number (at character 1): expected e.g. 250ms, 3.05s, 2m"
        ));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{number}' in '{s}' is not a number"))?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "us" | "µs" => 0.000_001,
        "m" | "min" | "mins" => 60.0,
        "h" | "hr" | "hrs" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{s}' (at character {}): use ms, s, m, h or d",
                split + 1
            ))
        }
    };
    let seconds = value * seconds_per_unit;
    if !seconds.is_finite() || seconds > 10.0 * 365.0 * 86400.0 {
        return Err(format!("'{s}' is longer than ten years"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Parses a size: `1024`, `512k`, `10KB`, `100MiB`, `1G` (k/M/G are powers of 1024;
/// KB/MB/GB powers of 1000).
///
/// # Errors
/// A message naming the bad number or unit.
///
/// ```
/// use steady::duration::parse_size;
/// assert_eq!(parse_size("100MiB"), Ok(100 * 1024 * 1024));
/// assert_eq!(parse_size("10KB"), Ok(10_000));
/// assert_eq!(parse_size("512"), Ok(512));
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a size: expected e.g. 512k, 10MB, 100MiB"))?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "kb" => 1000.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "mb" => 1e6,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "gb" => 1e9,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{s}': use k, KB, MiB, MB, GiB or GB"
            ))
        }
    };
    let bytes = value * multiplier;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("'{s}' is too large"));
    }
    Ok(bytes as u64)
}

/// Formats a size for people, in powers of 1024: `512 B`, `1.5 KiB`, `1.0 GiB`.
///
/// ```
/// use steady::duration::human_size;
/// assert_eq!(human_size(512), "512 B");
/// assert_eq!(human_size(1536), "1.5 KiB");
/// assert_eq!(human_size(1 << 30), "1.0 GiB");
/// ```
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Formats a duration for people: `12ms`, `1.6s`, `2m 30s`, `6h`, `11574 days`.
///
/// ```
/// use std::time::Duration;
/// use steady::duration::human;
/// assert_eq!(human(Duration::from_millis(12)), "12ms");
/// assert_eq!(human(Duration::from_millis(1600)), "1.6s");
/// assert_eq!(human(Duration::from_secs(150)), "2m 30s");
/// assert_eq!(human(Duration::from_secs(999_999_999)), "11574 days");
/// ```
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs < 60 {
        let tenths = (d.as_millis() + 50) / 100;
        return if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        };
    }
    if secs < 3600 {
        return match secs % 60 {
            0 => format!("{}m", secs / 60),
            s => format!("{}m {s}s", secs / 60),
        };
    }
    if secs < 86400 * 2 {
        return match (secs % 3600) / 60 {
            0 => format!("{}h", secs / 3600),
            m => format!("{}h {m}m", secs / 3600),
        };
    }
    let days = secs / 86400;
    if days > 1_000_000_000 {
        return "forever".to_owned();
    }
    format!("{days} days")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 10 ms "), Ok(Duration::from_millis(10)));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(parse_duration("3x")
            .unwrap_err()
            .contains("unknown unit 'x'"));
        assert!(parse_duration("ms")
            .unwrap_err()
            .contains("does not start with a number"));
        assert!(parse_duration("1.2.3s")
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_duration("99999999999d")
            .unwrap_err()
            .contains("ten years"));
        assert!(parse_size("12 parsecs")
            .unwrap_err()
            .contains("unknown size unit"));
    }

    #[test]
    fn human_rounds_sensibly() {
        assert_eq!(human(Duration::from_secs(6 * 3600)), "6h");
        assert_eq!(human(Duration::from_secs(60)), "1m");
        assert_eq!(human(Duration::from_millis(59_990)), "60s");
        assert_eq!(human(Duration::MAX), "forever");
    }
}
