//! `#[irreversible]` written above `#[tool]`: it runs first, checks that a
//! `#[tool]` follows, and hands itself to `#[tool]` (which reads it from the
//! function's attributes, as when it is written below `#[tool]`).

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::diag::Errors;
use crate::tool::{is_attr, parse_irreversible_args};

pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let func: syn::ItemFn = match crate::diag::parse_item(
        item.clone(),
        "`#[irreversible]` goes on a `#[tool]` function",
        "write it above or below `#[tool(...)]` on an `async fn`",
    ) {
        Ok(func) => func,
        // `#[tool]` below will not run: declare its tool type here.
        Err(errors) => return crate::tool::with_placeholder(errors, &item),
    };
    // Validate the arguments now so a typo is reported even without `#[tool]`.
    parse_irreversible_args(args.clone(), Span::call_site(), &mut errors);
    if !func.attrs.iter().any(|a| is_attr(a, "tool")) {
        errors.at(
            Span::call_site(),
            "`#[irreversible]` without `#[tool]`: only tools are paused for approval",
            "add `#[tool(write = \"...\", scope = \"user\")]` (or the effect the function has) to the function, \
             or remove `#[irreversible]`",
        );
    }
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        return quote!(#errors #func);
    }
    let syn::ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    quote! {
        #(#attrs)*
        #[irreversible(#args)]
        #vis #sig #block
    }
}
