//! The agent rules checked by the macro itself. The rules that need the
//! tools' specs are `const` assertions emitted by expand.rs.

use sha2::{Digest, Sha256};

use super::attr::AgentAttr;
use super::{AgentDef, Prompt};
use crate::credentials::find_credentials;
use crate::diag::Errors;

pub const MAX_ITERATIONS: u32 = agentsec_core::rules::MAX_ITERATIONS;

pub fn load_prompt(attr: &AgentAttr, errors: &mut Errors) -> Option<Prompt> {
    match (&attr.prompt, &attr.prompt_file) {
        (Some(inline), Some(file)) => {
            errors.at(
                file.span(),
                "the agent has both `prompt` and `prompt_file`",
                "keep one: `prompt_file` for prompts reviewed as files, `prompt` for short inline ones",
            );
            let _ = inline;
            None
        }
        (None, None) if attr.had_unknown_key => None,
        (None, None) => {
            errors.at(
                proc_macro2::Span::call_site(),
                "the agent has no system prompt",
                "add `prompt_file = \"prompts/agent.md\"` (relative to the crate's Cargo.toml) or `prompt = \"...\"`",
            );
            None
        }
        (Some(inline), None) => {
            let text = inline.value();
            check_prompt_credentials(&text, inline, errors);
            Some(Prompt {
                version: version(&text),
                text,
                file: None,
            })
        }
        (None, Some(file)) => {
            let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
            let path = std::path::Path::new(&dir).join(file.value());
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    check_prompt_credentials(&text, file, errors);
                    Some(Prompt {
                        version: version(&text),
                        text,
                        file: Some((file.clone(), path.to_string_lossy().into_owned())),
                    })
                }
                Err(e) => {
                    let why = if e.kind() == std::io::ErrorKind::NotFound {
                        "does not exist".to_owned()
                    } else {
                        format!("cannot be read ({e})")
                    };
                    errors.at(
                        file.span(),
                        format!("the prompt file `{}` {why}", file.value()),
                        "the path is relative to the directory of the crate's Cargo.toml (`CARGO_MANIFEST_DIR`); \
                         create the file or fix the path",
                    );
                    None
                }
            }
        }
    }
}

fn check_prompt_credentials(text: &str, literal: &syn::LitStr, errors: &mut Errors) {
    if let Some(found) = find_credentials(text).first() {
        let line = text[..found.start].matches('\n').count() + 1;
        errors.at(
            literal.span(),
            format!(
                "the prompt contains {} (line {line}); everything in a prompt is sent to the model provider",
                found.kind.describe()
            ),
            "remove it from the prompt; tools that need it take it with `#[secret(\"name\")] key: SecretString`",
        );
    }
}

/// The first 12 hex digits of the prompt's SHA-256.
fn version(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

pub fn check(def: &AgentDef, errors: &mut Errors) {
    let attr = &def.attr;
    if !def.item.generics.params.is_empty() {
        errors.spanned(
            &def.item.generics,
            "an agent cannot be generic",
            "declare one struct per agent",
        );
    }
    match attr.max_iterations {
        None if !attr.max_iterations_written && !attr.had_unknown_key => errors.at(
            proc_macro2::Span::call_site(),
            "the agent has no `max_iterations`",
            format!(
                "add `max_iterations = 5`: a bound on model turns keeps a manipulated run from looping; \
                 it must be from 1 to {MAX_ITERATIONS}"
            ),
        ),
        Some((n, span)) if n == 0 || n > MAX_ITERATIONS => errors.at(
            span,
            format!("`max_iterations = {n}` is outside 1..={MAX_ITERATIONS}"),
            format!("use a value from 1 to {MAX_ITERATIONS}; 5 suits most tasks"),
        ),
        _ => {}
    }
    if !attr.budget_written && !attr.had_unknown_key {
        errors.at(
            proc_macro2::Span::call_site(),
            "the agent has no `budget`",
            "add `budget(tokens = 20_000)` (and/or `tool_calls = N`, `usd = F`): a runaway run is a security problem",
        );
    }
    match &attr.tools_span {
        None if attr.had_unknown_key => {}
        None => errors.at(
            proc_macro2::Span::call_site(),
            "the agent lists no `tools(...)`",
            "add `tools(tool_a, tool_b)`; write `tools()` for an agent that only answers",
        ),
        Some(_) => {
            for (i, tool) in attr.tools.iter().enumerate() {
                if attr.tools[..i]
                    .iter()
                    .any(|earlier| same_path(earlier, tool))
                {
                    errors.spanned(
                        tool,
                        format!("`{}` is listed twice", path_text(tool)),
                        "list each tool once",
                    );
                }
            }
        }
    }
    if let Some(name) = &attr.name
        && !crate::tool::is_valid_name(&name.value())
    {
        errors.at(
            name.span(),
            format!("`{}` is not a valid agent name", name.value()),
            "use letters, digits, `_` and `-` (it names the agent in traces, keys and the audit log)",
        );
    }
}

pub fn same_path(a: &syn::Path, b: &syn::Path) -> bool {
    path_text(a) == path_text(b)
}

pub fn path_text(path: &syn::Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
}
