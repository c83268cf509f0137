//! Skills: markdown prompts with front matter, discovered, overridden by name and rendered.
