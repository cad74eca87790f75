//! `--help` and `docs/options.md` agree: every option of one is in the other,
//! with the same environment variable and the same default.

use clap::CommandFactory;
use particle_auth_mock::Config;

/// The `--flag` rows of docs/options.md: (long name, cells).
fn rows() -> Vec<(String, Vec<String>)> {
    let doc = include_str!("../../docs/options.md");
    doc.lines()
        .filter(|l| l.starts_with("| `--"))
        .map(|line| {
            // `\|` inside a cell is part of the value list, not a column.
            let cells: Vec<String> = line
                .replace("\\|", "\u{0}")
                .split('|')
                .map(|c| c.trim().replace('\u{0}', "|"))
                .filter(|c| !c.is_empty())
                .collect();
            let long = cells[0]
                .trim_start_matches("`--")
                .split([' ', '`'])
                .next()
                .unwrap()
                .to_string();
            (long, cells)
        })
        .collect()
}

/// What `--help` shows as the default: clap's `[default: …]` or one written in the help.
fn help_default(arg: &clap::Arg) -> Option<String> {
    let switch = matches!(arg.get_action(), clap::ArgAction::SetTrue);
    if let (false, Some(value)) = (switch, arg.get_default_values().first()) {
        return Some(format!("`{}`", value.to_string_lossy()));
    }
    let help = arg.get_long_help().or(arg.get_help())?.to_string();
    let at = help.find("[default: ")?;
    let rest = &help[at + "[default: ".len()..];
    Some(rest[..rest.find(']')?].to_string())
}

#[test]
fn every_option_of_help_is_documented_with_its_variable_and_default() {
    let rows = rows();
    let command = Config::command();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let (_, cells) = rows
            .iter()
            .find(|(l, _)| l == long)
            .unwrap_or_else(|| panic!("--{long} is not in docs/options.md"));
        let env = arg.get_env().unwrap().to_string_lossy();
        assert_eq!(cells[1], format!("`{env}`"), "--{long}: variable");
        let default = help_default(arg).unwrap_or_else(|| "—".to_string());
        // Code spans or not: the value is what must agree.
        assert_eq!(
            cells[2].trim_matches('`'),
            default.trim_matches('`'),
            "--{long}: default"
        );
    }
}

#[test]
fn every_documented_option_is_in_help() {
    let command = Config::command();
    for (long, _) in rows() {
        assert!(
            command.get_arguments().any(|a| a.get_long() == Some(&long)),
            "docs/options.md lists --{long}, which --help does not know"
        );
    }
}
