//! `#[tool]`: parse (attr.rs, ast.rs) → check (valid.rs) → expand
//! (expand.rs), or on error emit the fallback (fallback.rs).

mod ast;
mod attr;
mod expand;
mod fallback;
mod valid;

pub use ast::is_attr;
pub use attr::{is_valid_tool_name as is_valid_name, parse_irreversible_args};
pub use expand::spec_path_type as tool_type_path;

use proc_macro2::TokenStream;

use crate::diag::Errors;

pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match crate::diag::parse_item(
        item.clone(),
        "`#[tool]` goes on an `async fn`",
        "write `#[tool(...)]` above `async fn name(...) -> Result<T, ToolError>`",
    ) {
        Ok(func) => func,
        // Still declare the tool type, so an agent listing the tool adds no
        // error of its own.
        Err(errors) => return with_placeholder(errors, &item),
    };
    let mut errors = Errors::default();
    let def = ast::parse(args, func, &mut errors);
    valid::check(&def, &mut errors);
    if errors.is_empty() {
        expand::expand(&def)
    } else {
        fallback::expand(&def, &errors)
    }
}

/// `errors`, and the placeholder tool type of the function in `item` when
/// its name can be found, for an item that could not be parsed.
pub fn with_placeholder(errors: TokenStream, item: &TokenStream) -> TokenStream {
    match crate::diag::fn_name(item) {
        Some(name) => {
            let placeholder = fallback::placeholder(&name, &ast::unraw(&name), &quote::quote!(pub));
            quote::quote!(#errors #placeholder)
        }
        None => errors,
    }
}
