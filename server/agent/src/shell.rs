//! Shell commands as the policy sees them: the simple commands a command line runs, and
//! whether it does anything no rule can see.
//!
//! Invariants: splitting errs toward "opaque": anything whose effect depends on shell
//! features a prefix rule cannot judge (command substitution, process substitution,
//! here-documents, `$'…'` strings, comments, backslash escapes outside quotes, `&>`,
//! unbalanced quotes) marks the command opaque, and no allow rule covers an opaque
//! command; deny and ask rules still see every part.

/// The simple commands of a command line, and whether it is opaque.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SplitCommand {
    pub parts: Vec<String>,
    pub opaque: bool,
}

/// Splits `command` at `;`, `&`, `&&`, `|`, `||`, `|&` and line breaks outside quotes
/// (`2>&1`, `<&0` are redirections, not separators).
pub(crate) fn split(command: &str) -> SplitCommand {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut opaque = false;
    let (mut single, mut double) = (false, false);
    let mut chars = command.chars().peekable();
    let mut flush = |current: &mut String| {
        let part = current.trim();
        if !part.is_empty() {
            parts.push(part.to_owned());
        }
        current.clear();
    };
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        if single {
            single = c != '\'';
            current.push(c);
            continue;
        }
        if double {
            match c {
                '"' => double = false,
                '\\' => {
                    current.push(c);
                    if let Some(escaped) = chars.next() {
                        current.push(escaped);
                    }
                    continue;
                }
                '`' => opaque = true,
                // `${…}` may reopen quotes inside double quotes: no rule can follow it.
                '$' if matches!(next, Some('(' | '{')) => opaque = true,
                _ => {}
            }
            current.push(c);
            continue;
        }
        let word_start = current.is_empty() || current.ends_with(char::is_whitespace);
        match c {
            '\'' => single = true,
            '"' => double = true,
            '\\' | '`' => opaque = true,
            '#' if word_start => {
                // A comment, to the end of the line: what follows the line break runs.
                opaque = true;
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
                continue;
            }
            '$' if matches!(next, Some('(' | '\'' | '{')) => opaque = true,
            '<' | '>' if matches!(next, Some('(')) => opaque = true,
            '<' if next == Some('<') => opaque = true,
            '&' if next == Some('>') => {
                opaque = true;
                flush(&mut current);
                continue;
            }
            '&' if current.ends_with(['>', '<']) => {}
            ';' | '\n' | '&' | '|' => {
                flush(&mut current);
                while matches!(chars.peek(), Some('&' | '|')) {
                    chars.next();
                }
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    flush(&mut current);
    SplitCommand {
        parts,
        opaque: opaque || single || double,
    }
}

/// Words that run the command after them (their options are skipped too).
const PREFIXES: [&str; 16] = [
    "then", "do", "else", "elif", "if", "while", "until", "exec", "command", "builtin", "env",
    "nohup", "time", "nice", "sudo", "xargs",
];

/// The command a simple command runs, without what only wraps it, for deny and ask rules
/// (best effort: `(rm -rf ~)`, `FOO=1 env -i rm -rf ~`, `>log 'rm' -rf ~` are `rm -rf ~`
/// to them): leading `(`, `{`, `!`, keywords and wrappers with their options, variable
/// assignments and redirections; quotes around the command name; words joined by single
/// spaces.
pub(crate) fn core(part: &str) -> String {
    let words: Vec<&str> = part
        .trim_start_matches(|c: char| matches!(c, '(' | '{' | '!') || c.is_whitespace())
        .split_whitespace()
        .collect();
    let mut i = 0;
    let mut wrapped = false;
    while let Some(word) = words.get(i) {
        let operator = word.trim_start_matches(|c: char| c.is_ascii_digit());
        if operator.starts_with(['<', '>']) {
            // `> file` takes the next word; `>file` and `2>&1` do not.
            let bare = operator.trim_start_matches(['<', '>', '&']).is_empty();
            i += if bare { 2 } else { 1 };
        } else if is_assignment(word) || PREFIXES.contains(word) {
            wrapped = true;
            i += 1;
        } else if wrapped && word.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    let mut rest: Vec<String> = words[i.min(words.len())..]
        .iter()
        .map(|w| (*w).to_owned())
        .collect();
    if let Some(first) = rest.first_mut() {
        *first = first.replace(['\'', '"'], "");
    }
    rest.join(" ")
        .trim_end_matches([')', '}'])
        .trim_end()
        .to_owned()
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn parts(command: &str) -> Vec<String> {
        split(command).parts
    }

    #[test]
    fn compound_commands_split_into_their_simple_commands() {
        assert_eq!(
            parts("cargo test && rm -rf ~; echo 'a && b' | wc -l 2>&1\nls <&0 &"),
            [
                "cargo test",
                "rm -rf ~",
                "echo 'a && b'",
                "wc -l 2>&1",
                "ls <&0"
            ]
        );
        assert!(!split("cargo test -p lathe && git status").opaque);
    }

    #[test]
    fn what_no_rule_can_see_is_opaque() {
        for command in [
            "cargo test $(curl x)",
            "cargo test \"$(curl x)\"",
            "cargo test `id`",
            "diff <(ls) b",
            "cargo test <<X\nrm -rf ~\nX",
            "cargo test $'\\x41'",
            "cargo test #'\nrm -rf ~ #'",
            "cargo test &>/dev/null rm -rf ~",
            "cargo test \\>& rm -rf ~",
            "cargo test 'unbalanced",
        ] {
            assert!(split(command).opaque, "{command:?}");
        }
        assert!(!split("echo '$(not run)' \"#not a comment\" a#b").opaque);
        assert_eq!(
            parts("cargo test #'\nrm -rf ~ #'"),
            ["cargo test", "rm -rf ~"]
        );
    }

    #[test]
    fn the_core_of_a_command_drops_what_only_wraps_it() {
        assert_eq!(core("(rm -rf ~)"), "rm -rf ~");
        assert_eq!(core("{ rm -rf ~"), "rm -rf ~");
        assert_eq!(core("FOO=1 BAR=2 env -i nohup rm -rf ~"), "rm -rf ~");
        assert_eq!(core("then rm -rf ~"), "rm -rf ~");
        assert_eq!(core(">log 2> err 'rm' -rf ~"), "rm -rf ~");
        assert_eq!(core("nice -n1 command -p rm -rf ~"), "rm -rf ~");
        assert_eq!(core("cargo test --features=x"), "cargo test --features=x");
        assert_eq!(core("(\u{3000}if x"), "x", "no panic on wide spaces");
        assert_eq!(core("FOO=1\u{3000}do x"), "x");
        assert_eq!(core("( )"), "");
    }

    #[test]
    fn parameter_expansions_are_opaque() {
        assert!(split("cargo test \"${x:-\"'\"}\"; echo PWNED #'").opaque);
        assert!(split("cargo test ${HOME}").opaque);
        assert!(!split("cargo test $HOME").opaque);
    }
}
