//! `steady man`: one manual page with every subcommand's options.
//!
//! clap_mangen renders a page per command, and its page for `steady` points to
//! `steady-get(1)` and the like, which nothing installs. This page holds them all: the
//! top command's sections, a COMMANDS list, then a section per subcommand (its
//! synopsis, options by group and notes, clap_mangen's rendering with its headings
//! demoted to subsections).

use std::io::Write;

/// The whole page, as roff.
pub fn render(cmd: clap::Command) -> std::io::Result<Vec<u8>> {
    let mut cmd = with_long_help(cmd);
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    let mut subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    subs.sort_by_key(|s| s.get_display_order());
    // The calling commands share their options: shown once, under the first of them.
    let ids = |c: &clap::Command| -> Vec<String> {
        c.get_arguments()
            .filter(|a| !a.is_positional())
            .map(|a| a.get_id().to_string())
            .collect()
    };
    let mut shown: Vec<(String, Vec<String>)> = Vec::new();
    writeln!(out, ".SH COMMANDS")?;
    for sub in &subs {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        writeln!(
            out,
            ".TP\n\\fBsteady {}\\fR\n{} (see \\fBSTEADY {}\\fR below)",
            sub.get_name(),
            escape(&about),
            sub.get_name().to_uppercase()
        )?;
    }
    for sub in subs {
        writeln!(out, ".SH \"STEADY {}\"", sub.get_name().to_uppercase())?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, "{}", escape(&about.to_string()))?;
        }
        let named = sub
            .clone()
            .display_name(format!("steady {}", sub.get_name()))
            .bin_name(format!("steady {}", sub.get_name()));
        let page = clap_mangen::Man::new(named);
        let mut part = Vec::new();
        page.render_synopsis_section(&mut part)?;
        let options = ids(sub);
        match shown.iter().find(|(_, o)| *o == options) {
            Some((first, _)) => writeln!(
                part,
                ".SH OPTIONS\nThe options of \\fBsteady {first}\\fR (see \\fBSTEADY {}\\fR above).",
                first.to_uppercase()
            )?,
            None => {
                if sub.get_arguments().any(|a| !a.is_hide_set()) {
                    page.render_options_section(&mut part)?;
                }
                shown.push((sub.get_name().to_owned(), options));
            }
        }
        if sub.get_after_long_help().is_some() || sub.get_after_help().is_some() {
            page.render_extra_section(&mut part)?;
        }
        for line in String::from_utf8_lossy(&part).lines() {
            match line.strip_prefix(".SH ") {
                Some("EXTRA") => writeln!(out, ".SS NOTES")?,
                Some(heading) => writeln!(out, ".SS {heading}")?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// Every option with its text as long help. clap_mangen prints an option's long help,
/// or else its help unless that is hidden from `-h`; the calling commands hide most of
/// their options from `-h` (so that it fits a screen), and those with a one-line help
/// only would have no description in the manual.
fn with_long_help(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|arg| {
        let help = arg.get_help().cloned();
        match help {
            Some(help) if arg.get_long_help().is_none() => arg.long_help(help),
            _ => arg,
        }
    })
    .mut_subcommands(with_long_help)
}

/// Text safe in roff: backslashes doubled, no line read as a request.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
