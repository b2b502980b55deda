//! `#[agent]`: parse (attr.rs) → load and check the prompt, check the rules
//! that can be checked here (valid.rs) → expand (expand.rs), including the
//! `const` assertions for the rules that need the tools' specs.

mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use syn::LitStr;

use crate::diag::Errors;

/// The agent's prompt, loaded and hashed at compile time.
pub struct Prompt {
    pub text: String,
    /// The file, resolved against the crate's manifest directory.
    pub file: Option<(LitStr, String)>,
    pub version: String,
}

pub struct AgentDef {
    pub attr: attr::AgentAttr,
    pub item: syn::ItemStruct,
    pub prompt: Option<Prompt>,
}

pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let item: syn::ItemStruct = match crate::diag::parse_item(
        item,
        "`#[agent]` goes on a struct",
        "write `#[agent(...)]` above `pub struct SupportAgent;`",
    ) {
        Ok(item) => item,
        Err(errors) => return errors,
    };
    let mut errors = Errors::default();
    let attr = attr::parse(args, &mut errors);
    let prompt = valid::load_prompt(&attr, &mut errors);
    let def = AgentDef { attr, item, prompt };
    valid::check(&def, &mut errors);
    if errors.is_empty() {
        expand::expand(&def)
    } else {
        expand::fallback(&def, &errors)
    }
}
