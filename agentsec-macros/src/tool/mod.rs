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
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let mut errors = Errors::default();
            errors.at(
                proc_macro2::Span::call_site(),
                "`#[tool]` goes on an `async fn`",
                "write `#[tool(...)]` above `async fn name(...) -> Result<T, ToolError>`",
            );
            let errors = errors.to_compile_errors();
            return quote::quote!(#errors #item);
        }
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
